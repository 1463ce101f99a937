"""``python -m xray_core explain FILE...`` (heatmaps) and ``faithfulness`` (a per-method report).

``explain --maps DIR`` writes each map as an 8-bit grayscale PNG at the film's own size (255 = hottest), named by
the film's stem; ``--json`` adds per film ``lungs``: the share of the map inside the lungs (``lung_fraction``),
whether the hottest point is inside, the ``outside_lungs`` warning, or null figures and the reason code where Diagnose
withholds them too (:mod:`xray_core.explain.lung_findings`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xray_core.cli.common import emit_report
from xray_core.cli.segment import unique_stem
from xray_core.config import default_checkpoint, default_data_dir
from xray_core.inference.wording import DISCLAIMER_SHORT


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``explain`` and ``faithfulness`` commands; returns the ``explain`` parser."""
    from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
    from xray_core.explain.overlay import COLORMAPS

    parser = subparsers.add_parser(
        "explain",
        help="class-activation heatmaps for one or more images",
        description="Where the model looked: a Grad-CAM-family map for the predicted (or a chosen) class, its "
        f"strength and the prediction from the same pass. {DISCLAIMER_SHORT}",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument(
        "--method",
        default=DEFAULT_METHOD,
        help=f"one of {', '.join(CAM_METHODS)} (scorecam and ablationcam are slow) (default: {DEFAULT_METHOD})",
    )
    parser.add_argument("--target", default="auto", help="'auto' (the predicted class) or a class name")
    parser.add_argument("--out", default=None, metavar="PNG", help="one FILE: write the overlay with outlines here")
    parser.add_argument(
        "--maps",
        default=None,
        metavar="DIR",
        help="write each map as DIR/<stem>.png, 8-bit grayscale at the film's size, 255 = hottest",
    )
    parser.add_argument(
        "--segmenter",
        default=None,
        help="lung segmenter for --json's lung figures (default: $XRAY_SEGMENTER or weights/lung_unet.pt)",
    )
    parser.add_argument("--alpha", type=float, default=0.4, help="heatmap opacity in [0, 1] (default: 0.4)")
    parser.add_argument("--colormap", default="jet", choices=sorted(COLORMAPS))
    parser.add_argument(
        "--outline-percentile",
        type=float,
        default=90.0,
        help="outline the map above this percentile; negative: no outline (default: 90)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="OUT",
        help="JSON with the map's lung findings per film: bare --json prints it instead of "
        "text (an object for one FILE, else a list); --json OUT writes the list to OUT",
    )
    parser.set_defaults(run=run_explain)
    _add_faithfulness(subparsers)
    return parser


def _add_faithfulness(subparsers) -> None:
    from xray_core.explain.methods import FAST_METHODS, REMOVE_PERCENTILE

    parser = subparsers.add_parser(
        "faithfulness",
        help="how much each CAM method's hot region drives the prediction, vs RandomCAM",
        description="ROAD confidence drop (hottest pixels imputed away) and keep-only confidence change per CAM "
        "method, against a RandomCAM baseline, on a sample of a split.",
    )
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument(
        "--data", default=None, help="dataset root or manifest (default: $XRAY_DATA_DIR or ../shared/cxr)"
    )
    parser.add_argument("--split", default="test", help="train | val | test | '' for all rows (default: test)")
    parser.add_argument("--n", type=int, default=100, help="images sampled from the split (default: 100)")
    parser.add_argument("--methods", default=",".join(FAST_METHODS), help="comma-separated CAM methods")
    parser.add_argument(
        "--percentile",
        type=float,
        default=REMOVE_PERCENTILE,
        help=f"ROAD removes pixels above this map percentile (default: {REMOVE_PERCENTILE})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report here")
    parser.add_argument("--markdown", default=None, metavar="OUT", help="write the model-card section here")
    parser.set_defaults(run=run_faithfulness)


def run_explain(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 when some image cannot be read, 2 for checkpoint or option errors."""
    from xray_core.explain.methods import method_key, target_index
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint

    try:
        method_key(args.method)  # option errors before the (slow) checkpoint load
        if args.out and len(args.files) > 1:
            raise ValueError("--out writes one overlay; for several files use --maps DIR")
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
        target_index(loaded.class_names, args.target)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    used: set[str] = set()
    names = [unique_stem(Path(file).stem, used) for file in args.files]  # a.png twice: a.png, a-2.png
    records = [_explain_one(args, loaded, file, name) for file, name in zip(args.files, names)]
    if args.json == "-":
        print(json.dumps(records[0] if len(records) == 1 else records, indent=2))
    elif args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(records, indent=2))
    return 1 if any("error" in record for record in records) else 0


def _explain_one(args: argparse.Namespace, loaded, file: str, name: str) -> dict:
    """Explain one file, write its overlay/map, print text unless JSON goes to stdout; a record for --json."""
    from xray_core.cli.common import read_bytes
    from xray_core.explain.cam import explain
    from xray_core.io.image import XrayInputError
    from xray_core.io.reader import read_image

    try:
        image = read_image(read_bytes(file), name=Path(file).name)
        result = explain(loaded, image, method=args.method, target=args.target)
    except XrayInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return {"file": file, "error": str(error)}
    summary = {"file": file, **result.summary(), "overlay": None, "map": None}
    if args.out:
        summary["overlay"] = _write_overlay(args, image.pixels, result.cam)
    if args.maps:
        summary["map"] = _write_map(Path(args.maps) / f"{name}.png", result.cam)
    if args.json:
        summary["lungs"] = _lung_findings(args.segmenter, image, result)
    if args.json != "-":
        _print_summary(summary)
    return summary


def _write_map(path: Path, cam) -> str:
    """The map as 8-bit grayscale (0 = coldest, 255 = hottest) at the film's own size."""
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(255 * np.clip(cam, 0, 1)).astype(np.uint8)).save(path)
    return str(path)


def _lung_findings(segmenter: str | None, image, result) -> dict:
    """The same lung findings as Diagnose's result JSON (figures withheld for the same reasons)."""
    from xray_core.explain.lung_findings import film_lungs, lung_findings

    found = film_lungs(image, result.prediction.refused, segmenter)
    return lung_findings(found, result.cam, result.flat).to_dict()


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
    print(
        f"prediction: {prediction['label']} ({prediction['probabilities'][prediction['label']]:.3f})"
        + (f" [{', '.join(flags)}]" if flags else "")
    )
    print(
        f"explanation: {summary['method']} for {summary['target']}: {summary['strength']} "
        f"(evidence {summary['evidence']:+.2f} log-odds; raw max {summary['raw_max']:.4g}, "
        f"mean {summary['raw_mean']:.4g})"
    )
    for decision in [*prediction.get("decisions", []), *(summary.get("lungs") or {}).get("decisions", [])]:
        print(f"decision: {decision['message']}")  # worded by inference.wording, as on Diagnose
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
        report = method_faithfulness_report(
            loaded, table, methods, n=args.n, seed=args.seed, percentile=args.percentile
        )
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report.update(split=args.split, data=Path(args.data or default_data_dir()).name)
    emit_report(report, faithfulness_markdown(report), args.json, args.markdown)
    return 0
