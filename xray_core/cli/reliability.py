"""``python -m xray_core reliability`` (the report) and ``input-stats`` (fit the radiograph image statistics)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from xray_core.config import default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``reliability`` and ``input-stats`` commands; returns the ``reliability`` parser."""
    parser = subparsers.add_parser(
        "reliability",
        help="out-of-distribution and hostile-input report",
        description="Throw natural photos (bundled with scikit-image, scikit-learn and matplotlib, made grayscale), "
        "other non-radiographs, generated noise/constant/gradient images, >= 200 corrupt or odd files "
        "and test-split radiographs at read_image, predict and Grad-CAM, then forged ONNX exports, a tampered "
        "similar-case index and broken or oversized ZIP uploads at the checks that must reject them; print per "
        "family the inputs, clear input errors, valid results, refusals, crashes and failed checks. Goals: all "
        "photos refused, at most 2 %% of test radiographs refused, 0 crashes, 0 failed checks. Exit code 1 on "
        "any crash or failed check (or failed goal with --strict), 2 when the checkpoint cannot be loaded.",
    )
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help=f"corpus with a test split (default: {default_data_dir()}); 'none' skips radiographs",
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=0,
        metavar="N",
        help="test radiographs to try: a seeded random sample of N (default: 0 = all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and generated inputs (default: 0)")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write the full report as JSON here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails, not only on crashes")
    parser.set_defaults(run=run_reliability)
    _add_input_stats(subparsers)
    return parser


def run_reliability(args: argparse.Namespace) -> int:
    from xray_core.cli.common import load_or_report
    from xray_core.evaluation.reliability.report import run_report
    from xray_core.evaluation.reliability.table import format_report

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    data = None if str(args.data or "").lower() == "none" else Path(args.data or default_data_dir())
    if data is not None and not (data / "manifest.csv").is_file() and not data.is_dir():
        print(f"error: no corpus at {data}; pass --data DIR or --data none", file=sys.stderr)
        return 2
    report = run_report(
        loaded,
        data,
        n_test=args.n_test,
        seed=args.seed,
        progress=lambda family: print(f"… {family}", file=sys.stderr, flush=True),
    )
    print(format_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    failed = not all(goal["passed"] for goal in report["goals"])
    return 1 if report["crashes"] or report.get("failed_checks") or (args.strict and failed) else 0


def _add_input_stats(subparsers) -> None:
    from xray_core.inference.input_checks import DEFAULT_PERCENTILE

    parser = subparsers.add_parser(
        "input-stats",
        help="fit the image-statistics check on train/val radiographs into a checkpoint",
        description="Fit the radiograph image statistics of xray_core.inference.input_checks: mean and precision "
        "on a sample of train-split radiographs, refusal threshold at a percentile of the val split, "
        "and store them in the checkpoint (re-signing it). The test split is never read.",
    )
    parser.add_argument("--data", default=None, metavar="DIR", help=f"(default: {default_data_dir()})")
    parser.add_argument("--n-train", type=int, default=5000, help="train radiographs sampled (default: 5000)")
    parser.add_argument(
        "--percentile",
        type=float,
        default=DEFAULT_PERCENTILE,
        help=f"of val scores used as threshold (default: {DEFAULT_PERCENTILE})",
    )
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint to update (default: {default_checkpoint()})")
    parser.set_defaults(run=run_input_stats)


def run_input_stats(args: argparse.Namespace) -> int:
    from xray_core.data.dataset import load_dataset
    from xray_core.inference.input_checks import fit
    from xray_core.io.reader import read_image
    from xray_core.models.checkpoint import update_meta

    table = load_dataset(args.data or default_data_dir())
    train = table[table["split"] == "train"]
    train = train.sample(n=min(args.n_train, len(train)), random_state=0)
    val = table[table["split"] == "val"]
    if train.empty or val.empty:
        print("error: the dataset needs train and val splits", file=sys.stderr)
        return 2
    stats = fit(
        (read_image(p).pixels for p in train["path"]),
        (read_image(p).pixels for p in val["path"]),
        percentile=args.percentile,
    )
    fitted_on = {"train": int(len(train)), "val": int(len(val)), "data": Path(args.data or default_data_dir()).name}
    stats = dataclasses.replace(stats, detail={**stats.detail, "fitted_on": fitted_on})
    checkpoint = args.checkpoint or default_checkpoint()
    sha = update_meta(checkpoint, input_stats=stats)
    print(
        f"threshold {stats.threshold:.2f} (val {args.percentile}th percentile; val median "
        f"{stats.val_score_median:.2f}) stored in {checkpoint} (new SHA-256 {sha[:12]}…)"
    )
    return 0
