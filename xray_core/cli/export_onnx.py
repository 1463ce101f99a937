"""``python -m xray_core export-onnx``: the checkpoint as an ONNX file for fast, torch-free ``predict``.

The export is verified against torch on real films before it is written (probabilities within 1e-5, same
decisions) and keyed to the checkpoint file's SHA-256, so ``predict --engine auto`` uses it only while the
checkpoint is unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xray_core.config import default_checkpoint, default_data_dir

VERIFY_FILMS = 16  # default number of corpus films both engines score before the file is written


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
    parser.set_defaults(run=_run)


def verification_files(folder: str | Path | None, count: int) -> list[Path]:
    """The first ``count`` supported files (sorted by name) under ``folder``, default the corpus's images and
    external images (an equal share from each when both exist)."""
    from xray_core.io.source import is_supported_name

    if folder is not None:
        roots = [Path(folder)]
    else:
        roots = [p for p in (default_data_dir() / "images", default_data_dir() / "external" / "images") if p.is_dir()]
    files: list[Path] = []
    for index, root in enumerate(roots):
        share = count - len(files) if index == len(roots) - 1 else count // len(roots)
        found = sorted(p for p in root.rglob("*") if p.is_file() and is_supported_name(p.name))
        files.extend(found[:share])
    return files


def _run(args: argparse.Namespace) -> int:
    from xray_core.inference.onnx.engine import OnnxUnavailable
    from xray_core.inference.onnx.export import export_onnx
    from xray_core.io.reader import XrayInputError, read_image
    from xray_core.models.checkpoint import CheckpointError

    films = []
    for path in verification_files(args.films, args.count):
        try:
            films.append(read_image(path))
        except XrayInputError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
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
