"""``python -m xray_core export-onnx``: the checkpoint as an ONNX file for fast, torch-free ``predict``.

The export is verified against torch on real films before it is written (probabilities within 1e-5, same
decisions) and keyed to the checkpoint file's SHA-256, so ``predict --engine auto`` uses it only while the
checkpoint is unchanged. ``predict`` and the dashboard make the same export on first use
(:mod:`xray_core.inference.onnx.auto`); this command makes it ahead of time, on other films or into another folder.
"""

from __future__ import annotations

import argparse
import json
import sys

from xray_core.config import default_checkpoint
from xray_core.inference.onnx.auto import VERIFY_FILMS, read_films, verification_files


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="export the checkpoint to ONNX (verified against torch) for fast predict",
        description="Export the classifier to ONNX Runtime (features and logits), and for a lung-cropped "
        "checkpoint the lung segmenter too; check them against torch on real films and write them where "
        "'predict --engine auto' finds them. Grad-CAM keeps using torch.",
    )
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    parser.add_argument("--out-dir", default=None, help="folder for the export (default: $XRAY_ONNX_DIR or cache)")
    parser.add_argument(
        "--films", default=None, metavar="DIR", help="verification films (default: the corpus's images/ folder)"
    )
    parser.add_argument("--count", type=int, default=VERIFY_FILMS, help="how many films to verify on")
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="only when the default folder has no verified export for the checkpoint, as predict would (make run)",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also (or only, when the fp32 export exists) the int8 export, calibrated on the corpus's training films "
        "(predict --engine onnx-int8)",
    )
    parser.add_argument("--calibration", default=None, metavar="DATA", help="corpus whose train split calibrates int8")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from xray_core.inference.onnx.export import export_onnx
    from xray_core.inference.onnx.records import OnnxUnavailable
    from xray_core.models.checkpoint import CheckpointError

    if args.int8:
        return _int8(args)
    if args.if_missing:
        from xray_core.inference.onnx.auto import load_or_export

        try:
            print(load_or_export(args.checkpoint or default_checkpoint()).onnx_path)
        except OnnxUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    films = read_films(verification_files(args.films, args.count), lambda line: print(line, file=sys.stderr))
    if not films:
        print("error: no readable verification films; pass --films DIR", file=sys.stderr)
        return 2
    try:
        report = export_onnx(args.checkpoint or default_checkpoint(), films, args.out_dir)
    except (CheckpointError, OnnxUnavailable, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


def _int8(args: argparse.Namespace) -> int:
    """The fp32 export when missing (as predict makes it), then the int8 one from it."""
    from xray_core.inference.onnx.engine import load_onnx
    from xray_core.inference.onnx.export import export_onnx
    from xray_core.inference.onnx.quantize import calibration_films, export_int8
    from xray_core.inference.onnx.records import OnnxUnavailable

    checkpoint = args.checkpoint or default_checkpoint()
    films = read_films(verification_files(args.films, args.count), lambda line: print(line, file=sys.stderr))
    if not films:
        print("error: no readable verification films; pass --films DIR", file=sys.stderr)
        return 2
    try:
        try:
            load_onnx(checkpoint, args.out_dir)
        except OnnxUnavailable:
            export_onnx(checkpoint, films, args.out_dir)
        report = export_int8(checkpoint, calibration_films(args.calibration), films, args.out_dir)
    except (OnnxUnavailable, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0
