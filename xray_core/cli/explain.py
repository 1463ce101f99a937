"""``python -m xray_core explain FILE`` (heatmap for one image) and ``faithfulness`` (per-method report)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from xray_core.config import default_checkpoint, default_data_dir

_COMMANDS = ("explain", "faithfulness")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``explain`` and ``faithfulness`` commands; returns the ``explain`` parser."""
    from xray_core.explain.cam import CAM_METHODS, DEFAULT_METHOD
    from xray_core.explain.overlay import COLORMAPS

    parser = subparsers.add_parser(
        "explain", help="class-activation heatmap for one image",
        description="Where the model looked: a Grad-CAM-family map for the predicted (or a chosen) class, its "
                    "strength and the prediction from the same pass. Decision support, not a diagnosis.")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument("--method", default=DEFAULT_METHOD, help=f"one of {', '.join(CAM_METHODS)} "
                        f"(scorecam and ablationcam are slow) (default: {DEFAULT_METHOD})")
    parser.add_argument("--target", default="auto", help="'auto' (the predicted class) or a class name")
    parser.add_argument("--out", default=None, metavar="PNG", help="write the overlay with outlines here")
    parser.add_argument("--alpha", type=float, default=0.4, help="heatmap opacity in [0, 1] (default: 0.4)")
    parser.add_argument("--colormap", default="jet", choices=sorted(COLORMAPS))
    parser.add_argument("--outline-percentile", type=float, default=90.0,
                        help="outline the map above this percentile; negative: no outline (default: 90)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run_explain)
    _add_faithfulness(subparsers)
    return parser


def _add_faithfulness(subparsers) -> None:
    from xray_core.explain.cam import FAST_METHODS
    from xray_core.explain.faithfulness import REMOVE_PERCENTILE

    parser = subparsers.add_parser(
        "faithfulness", help="how much each CAM method's hot region drives the prediction, vs RandomCAM",
        description="ROAD confidence drop (hottest pixels imputed away) and keep-only confidence change per CAM "
                    "method, against a RandomCAM baseline, on a sample of a split.")
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument("--data", default=None,
                        help="dataset root or manifest (default: $XRAY_DATA_DIR or ../shared/cxr)")
    parser.add_argument("--split", default="test", help="train | val | test | '' for all rows (default: test)")
    parser.add_argument("--n", type=int, default=100, help="images sampled from the split (default: 100)")
    parser.add_argument("--methods", default=",".join(FAST_METHODS), help="comma-separated CAM methods")
    parser.add_argument("--percentile", type=float, default=REMOVE_PERCENTILE,
                        help=f"ROAD removes pixels above this map percentile (default: {REMOVE_PERCENTILE})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report here")
    parser.add_argument("--markdown", default=None, metavar="OUT", help="write the model-card section here")
    parser.set_defaults(run=run_faithfulness)


def run_explain(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 when the image cannot be read, 2 for checkpoint or option errors."""
    from xray_core.explain.cam import explain, method_key
    from xray_core.io.reader import XrayInputError, read_image
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint

    try:
        method_key(args.method)  # option errors before the (slow) checkpoint load
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
        image = read_image(args.file)
        result = explain(loaded, image, method=args.method, target=args.target)
    except XrayInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = {"file": args.file, **result.summary(), "overlay": None}
    if args.out:
        summary["overlay"] = _write_overlay(args, image.pixels, result.cam)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0


def _write_overlay(args: argparse.Namespace, pixels, cam) -> str:
    from PIL import Image

    from xray_core.explain.overlay import outline, overlay

    picture = overlay(pixels, cam, alpha=args.alpha, colormap=args.colormap)
    if args.outline_percentile >= 0:
        picture = outline(picture, cam, percentile=args.outline_percentile)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(args.out)
    return str(args.out)


def _print_summary(summary: dict) -> None:
    prediction = summary["prediction"]
    flags = [flag for flag in ("refused", "low_confidence") if prediction.get(flag)]
    print(f"file: {summary['file']}")
    print(f"prediction: {prediction['label']} ({prediction['probabilities'][prediction['label']]:.3f})"
          + (f" [{', '.join(flags)}]" if flags else ""))
    print(f"explanation: {summary['method']} for {summary['target']}: {summary['strength']} "
          f"(evidence {summary['evidence']:+.2f} log-odds; raw max {summary['raw_max']:.4g}, "
          f"mean {summary['raw_mean']:.4g})")
    for note in [*prediction.get("notes", []), *summary["notes"]]:
        print(f"note: {note}")
    if summary["overlay"]:
        print(f"overlay: {summary['overlay']}")


def run_faithfulness(args: argparse.Namespace) -> int:
    """Sample the split, score every method and RandomCAM, print and optionally write the report."""
    from xray_core.data.dataset import load_dataset
    from xray_core.explain.faithfulness import faithfulness_markdown, method_faithfulness_report
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint

    try:
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
        table = load_dataset(args.data or default_data_dir())
        if args.split:
            table = table[table["split"] == args.split]
        if table.empty:
            raise ValueError(f"no images in split {args.split!r}; expected train, val, test or ''")
        methods = [m for m in args.methods.split(",") if m.strip()]
        report = method_faithfulness_report(loaded, table, methods, n=args.n, seed=args.seed,
                                            percentile=args.percentile)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report.update(split=args.split, data=str(args.data or default_data_dir()))
    markdown = faithfulness_markdown(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown)
    print(markdown, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``main(["explain", FILE, ...])`` or ``main(["faithfulness", ...])``; a bare FILE means explain."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _COMMANDS:
        argv = ["explain", *argv]
    parser = argparse.ArgumentParser(prog="python -m xray_core")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.argv = argv[1:]
    return int(args.run(args) or 0)
