"""``python -m xray_core segment`` (lung masks as PNGs, or ``--evaluate``) and ``train-segmenter``.

``segment FILE... --out DIR`` writes ``DIR/<stem>.png`` per film: 8-bit, 0 background / 255 lung, at the film's
own size. ``segment --evaluate --json OUT --card OUT`` measures the segmenter on lungs val/test and external
and renders ``lung_metrics.json`` and ``LUNG_CARD.md`` from one dict.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from xray_core.cli.common import add_dataclass_flags, read_bytes
from xray_core.config import default_data_dir
from xray_core.training.config import SegmenterConfig

EXTERNAL_GOAL = 0.95  # mean Dice on external films: the segmenter must hold outside its corpus


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``segment`` and ``train-segmenter``; returns the ``segment`` parser."""
    parser = subparsers.add_parser(
        "segment",
        help="lung masks (PNG, 0/255, the film's own size), or --evaluate the segmenter",
        description="Segment the lungs of each FILE with the shipped U-Net and write DIR/<stem>.png; with "
        "--evaluate, measure Dice and boundary errors on lungs val/test and external instead.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.add_argument("--out", default=None, metavar="DIR", help="folder for the mask PNGs")
    parser.add_argument(
        "--segmenter", default=None, help="lung segmenter checkpoint (default: $XRAY_SEGMENTER or weights/lung_unet.pt)"
    )
    parser.add_argument("--evaluate", action="store_true", help="measure against the corpus masks instead")
    parser.add_argument("--data", default=None, help="corpus root (default: $XRAY_DATA_DIR or ../shared/cxr)")
    parser.add_argument("--limit", type=int, default=0, help="--evaluate: films per section (0 = all)")
    parser.add_argument("--json", default=None, metavar="OUT", help="--evaluate: write the report here")
    parser.add_argument("--card", default=None, metavar="OUT", help="--evaluate: write the markdown card here")
    parser.set_defaults(run=run_segment)
    trainer = subparsers.add_parser(
        "train-segmenter",
        help="train the lung U-Net on <data>/lungs",
        description="Train the lung segmentation U-Net; keeps the epoch with the best "
        "lungs-val Dice; external is measured at the end, never selected on.",
    )
    add_dataclass_flags(trainer, SegmenterConfig)
    trainer.set_defaults(run=run_train)
    return parser


def run_train(args: argparse.Namespace) -> int:
    from xray_core.training.segmenter import run

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SegmenterConfig)}
    try:
        path = run(SegmenterConfig(**values))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"release checkpoint: {path}")
    return 0


def run_segment(args: argparse.Namespace) -> int:
    """Exit 0 when every mask was written, 1 when some file failed, 2 for segmenter or option errors."""
    from xray_core.inference.lungs.segment import load_segmenter
    from xray_core.models.unet import SegmenterError

    if not args.evaluate and (not args.files or not args.out):
        print("error: give FILE... and --out DIR (or --evaluate)", file=sys.stderr)
        return 2
    try:
        segmenter = load_segmenter(args.segmenter)
    except SegmenterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return _evaluate(args, segmenter) if args.evaluate else _write_masks(args, segmenter)


def _write_masks(args: argparse.Namespace, segmenter) -> int:
    import numpy as np
    from PIL import Image

    from xray_core.inference.lungs.segment import segment
    from xray_core.io.image import XrayInputError
    from xray_core.io.reader import read_image

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed, used = 0, set()
    for file in args.files:
        try:
            mask = segment(segmenter, read_image(read_bytes(file), name=Path(file).name))
        except XrayInputError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
            continue
        name = unique_stem(Path(file).stem, used)
        Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(out / f"{name}.png")
        print(f"{file}: {out / f'{name}.png'} (lungs {100 * mask.mean():.0f} % of the film)")
    return 1 if failed else 0


def unique_stem(stem: str, used: set[str]) -> str:
    """The stem, or ``stem-2``, ``stem-3``... when two inputs share it (never overwrite an earlier mask)."""
    name, count = stem, 1
    while name in used:
        count += 1
        name = f"{stem}-{count}"
    used.add(name)
    return name


def _evaluate(args: argparse.Namespace, segmenter) -> int:
    from xray_core.inference.lungs.segment import evaluate_segmenter, mask_pairs

    data = Path(args.data or default_data_dir())
    try:
        lungs = mask_pairs(data, "lungs")
        sections = {
            "lungs_val": lungs[lungs["split"] == "val"],
            "lungs_test": lungs[lungs["split"] == "test"],
            "external": mask_pairs(data, "external"),
        }
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.limit:
        sections = {name: pairs.head(args.limit) for name, pairs in sections.items()}
    report: dict[str, Any] = {
        "command": "python -m xray_core " + shlex.join(getattr(args, "argv", []) or ["segment", "--evaluate"]),
        "segmenter": segmenter.identity(),
        "threshold": segmenter.threshold,
        "postprocess": segmenter.meta.postprocess,
        "data": Path(data).name,  # never the machine's absolute path
        "training": {
            **{k: segmenter.meta.training.get(k) for k in ("epochs_run", "best_epoch", "wall_time_seconds", "history")},
            "pairs": segmenter.meta.data_summary.get("lungs", {}),
        },
        "train_config": segmenter.meta.train_config,
        "sections": {name: evaluate_segmenter(segmenter, pairs) for name, pairs in sections.items()},
    }
    external = report["sections"]["external"]["summary"]["dice_mean"]
    report["goal"] = {"external_dice_mean": EXTERNAL_GOAL, "met": external is not None and external >= EXTERNAL_GOAL}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    card = lung_card(report)
    if args.card:
        Path(args.card).write_text(card)
    print(card, end="")
    return 0


def lung_card(report: dict[str, Any]) -> str:
    """The segmenter's card (markdown) from the ``--evaluate`` report."""
    segmenter, training = report["segmenter"], report["training"]
    external = report["sections"]["external"]["summary"]["dice_mean"]
    verdict = "meets" if report["goal"]["met"] else "does NOT meet"
    lines = [
        "# Lung segmenter card",
        "",
        f"`{segmenter['checkpoint']}` version {segmenter['version']}, SHA-256 `{segmenter['sha256'][:16]}…`. "
        f"A U-Net ({report['train_config'].get('channels')} channels) on {segmenter['image_size']} px squashed "
        f"films; probability ≥ {report['threshold']} at the film's own size, then the two largest components "
        "with holes filled.",
        "",
        "**Intended use:** drawing lung outlines over films and measuring where heatmaps fall (share of heatmap "
        "energy inside the lungs). Decision support only; not a diagnostic device, and its masks are not for "
        "measuring anything clinical (lung volume, effusion size).",
        "",
        "## Evaluation",
        "",
        f"Produced by `{report['command']}`. Distances in pixels of each film's own size (224 px for "
        "pediatric films; adult films up to 384 px). ASSD: average symmetric surface distance; HD95: "
        "95th-percentile Hausdorff distance.",
        "",
        *_table(report["sections"]),
        "",
        f"**External mean Dice {_f(external)} {verdict} the goal of {report['goal']['external_dice_mean']}.**",
        "",
        "## Training",
        "",
        f"`{_train_command(report['train_config'])}` trained on lungs/ train only "
        f"({report['training'].get('pairs', {}).get('train', '?')} pairs). The epoch kept (epoch "
        f"{training.get('best_epoch')} of {training.get('epochs_run')}) had the best lungs-val Dice at the "
        "input size; external films were never used for training or selection. Wall time "
        f"{training.get('wall_time_seconds')} s on one CPU thread.",
        "",
        *_limitations(),
    ]
    return "\n".join(lines) + "\n"


def _table(sections: dict[str, Any]) -> list[str]:
    lines = [
        "| set | films | Dice mean | Dice median | Dice 5th pct | ASSD mean | HD95 mean | HD95 median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, section in sections.items():
        groups = section["summary"].get("by_age_group", {})
        rows = [(name, section["summary"])] + (
            [(f"{name} · {g}", v) for g, v in groups.items()] if len(groups) > 1 else []
        )
        for label, s in rows:
            lines.append(
                f"| {label} | {s['n']} | {_f(s['dice_mean'])} | {_f(s['dice_median'])} | "
                f"{_f(s['dice_p05'])} | {_f(s['assd_mean'], 2)} | {_f(s['hd95_mean'], 2)} | "
                f"{_f(s['hd95_median'], 2)} |"
            )
    return lines


def _limitations() -> list[str]:
    return [
        "## Limitations",
        "",
        "- External films are pediatric (Kermany test split); the adult lungs/ films are COVID-19 cases from "
        "one source (ieee8023 copies), so adult performance outside that source is unmeasured.",
        "- Reference masks leave out regions annotators marked 'ignore' (devices, burnt-in markings); the "
        "post-processing fills holes, which counts against the model there.",
        "- One external film has no mask (its annotation covers one lung) and is left out.",
        "- 71 adult lungs/ train films are copies of main-corpus val/test films (see the corpus README).",
    ]


def _train_command(config: dict[str, Any]) -> str:
    """The ``train-segmenter`` command that reproduces ``config`` (flags that differ from the defaults)."""
    defaults = SegmenterConfig().to_dict()
    flags = []
    for name, value in config.items():
        if name in defaults and value != defaults[name]:
            flag = "--" + name.replace("_", "-")
            flags.append(flag if value is True else f"--no-{flag[2:]}" if value is False else f"{flag} {value}")
    return shlex.join(["python", "-m", "xray_core", "train-segmenter"]) + "".join(f" {f}" for f in flags)


def _f(value: float | None, digits: int = 3) -> str:
    return "undefined" if value is None else f"{value:.{digits}f}"


__all__ = ["add_parser", "lung_card", "run_segment", "run_train", "unique_stem"]
