"""``python -m xray_core evaluate``: metrics.json and MODEL_CARD.md for a checkpoint on a split."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from xray_core.config import default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a checkpoint on the test split and both external sets; render its model card",
        description="Per-class and clinical figures with patient-bootstrap 95 % CIs on each set side by side, "
        "recall per age group x label, calibration, the shortcut audit (linear probe for age group and "
        "source; adult NIH films) and the project's targets.",
    )
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument(
        "--data", default=None, help="dataset root or manifest (default: $XRAY_DATA_DIR or ../shared/cxr)"
    )
    parser.add_argument(
        "--splits",
        default="test,external,external_adult",
        help="comma-separated: train, val, test, and the external sets 'external' (<data>/external, pediatric) "
        "and 'external_adult' (<data>/external_adult); default: test,external,external_adult (a missing external "
        "set is skipped)",
    )
    parser.add_argument("--no-probe", action="store_true", help="skip the linear probe on features (train/val)")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report (metrics.json) here")
    parser.add_argument("--card", default=None, metavar="OUT", help="write the markdown model card here")
    parser.add_argument("--bootstrap", type=int, default=500, help="patient-bootstrap resamples (default: 500)")
    parser.add_argument("--train-command", default="", help="the training command to quote in the card")
    parser.add_argument(
        "--faithfulness",
        default=None,
        metavar="JSON",
        help="a 'python -m xray_core faithfulness --json' report to include in the card",
    )
    parser.add_argument(
        "--localisation",
        default=None,
        metavar="JSON",
        help="a 'python -m xray_core localisation --json' report to include in the card",
    )
    parser.add_argument(
        "--notes",
        default=None,
        metavar="MD",
        help="a markdown file appended to the card (e.g. what was tried and not shipped)",
    )
    parser.add_argument(
        "--rerender",
        default=None,
        metavar="JSON",
        help="skip scoring: take the figures from this earlier report of the same checkpoint and only re-attach the "
        "localisation, faithfulness and notes sections (for when those change after an evaluation)",
    )
    parser.set_defaults(run=run)
    return parser


def _tables(data: Path, names: list[str]):
    from xray_core.data.dataset import EXTERNAL_SETS, external_tables, load_dataset

    table = load_dataset(data)
    externals = external_tables(data)
    tables = {}
    for name in names:
        if name in EXTERNAL_SETS:
            if name in externals:
                tables[name] = externals[name]
        else:
            tables[name] = table[table["split"] == name] if name else table
    return table, tables


def run(args: argparse.Namespace) -> int:
    from xray_core.evaluation.evaluate import evaluate
    from xray_core.evaluation.model_card import render
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint

    data = Path(args.data or default_data_dir())
    try:
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
        if args.rerender:
            report = _earlier_report(Path(args.rerender), loaded.sha256)
        else:
            table, tables = _tables(data, [s.strip() for s in args.splits.split(",")])
            report = evaluate(loaded, tables, reps=args.bootstrap, probe_table=None if args.no_probe else table)
            report["command"] = "python -m xray_core evaluate " + " ".join(
                shlex.quote(a) for a in args.argv if a != "evaluate"
            )
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = report["command"]  # a re-rendered card still quotes the command that scored it
    _attach_sections(report, args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.card:
        train_command = args.train_command or loaded.meta.extra.get("train_command", "")
        Path(args.card).write_text(render(report, loaded.meta, command=command, train_command=train_command))
    print(
        json.dumps(
            {t["split"] + ": " + t["measure"]: [t["value"], t["target"], t.get("verdict")] for t in report["targets"]},
            indent=2,
        )
    )
    return 0


def _earlier_report(path: Path, sha256: str) -> dict:
    """An earlier ``--json`` report, refused when it scored another checkpoint or lacks its command."""
    try:
        report = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable report ({error})") from error
    scored = (report.get("model") or {}).get("sha256")
    if scored != sha256 or "command" not in report:
        raise ValueError(f"{path} scored checkpoint {str(scored)[:12]}, not this one ({sha256[:12]}); evaluate again")
    return report


def _attach_sections(report: dict, args: argparse.Namespace) -> None:
    """Faithfulness and notes sections, kept in the report too so metrics.json and the card agree."""
    sections = []
    if args.faithfulness:
        from xray_core.explain.faithfulness import faithfulness_markdown

        faithfulness = json.loads(Path(args.faithfulness).read_text())
        report["faithfulness"] = faithfulness
        sections.append(["## Grad-CAM faithfulness", "", faithfulness_markdown(faithfulness), ""])
    if args.localisation:
        from xray_core.explain.localisation_table import localisation_markdown

        localisation = json.loads(Path(args.localisation).read_text())
        report["localisation"] = localisation
        sections.append(
            ["## Heatmaps on the lungs (external pneumonia films)", "", localisation_markdown(localisation), ""]
        )
    if args.notes:
        sections.append([Path(args.notes).read_text().rstrip(), ""])
    report["extra_sections"] = sections
