"""``python -m xray_core sign-weights``: pin the shipped weight files in ``weights/SHA256SUMS``.

Run it after a release replaces a file in ``weights/`` and commit the list with the file. Each file must first
pass its own embedded-hash check (a damaged file is never pinned); the list is rewritten whole, so a removed file
loses its line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    from xray_core.models.pinned import SUMS_NAME, WEIGHTS_DIR

    parser = subparsers.add_parser(
        "sign-weights",
        help=f"pin the shipped weights' SHA-256 in weights/{SUMS_NAME}",
        description=f"Verify every .pt file in the weights folder (its embedded SHA-256) and write their file "
        f"hashes to {SUMS_NAME} (sha256sum format). Files loaded from that folder must match it.",
    )
    parser.add_argument("--dir", default=str(WEIGHTS_DIR), help=f"weights folder (default: {WEIGHTS_DIR})")
    parser.set_defaults(run=_run)


def verify(path: Path) -> None:
    """Raise ``ValueError`` unless ``path`` is a classifier or segmenter file whose embedded hash verifies."""
    from xray_core.models import checkpoint, unet
    from xray_core.models.signed import read_header

    kind = read_header(path.read_bytes()).get("format")
    if kind == checkpoint.FORMAT_NAME:
        checkpoint.read_payload(path, pinned=False)
    elif kind == unet.FORMAT_NAME:
        unet.read_segmenter(path, pinned=False)
    else:
        raise ValueError(f"{path.name}: not an xray_core checkpoint or lung segmenter; move it out of {path.parent}")


def _run(args: argparse.Namespace) -> int:
    from xray_core.models.pinned import SUMS_NAME, shipped_files, write_sums

    folder = Path(args.dir)
    files = shipped_files(folder) if folder.is_dir() else []
    if not files:
        print(f"error: no .pt files in {folder}", file=sys.stderr)
        return 2
    try:
        for path in files:
            verify(path)
    except ValueError as error:
        print(f"error: {error}; {SUMS_NAME} not changed", file=sys.stderr)
        return 2
    print(json.dumps({"sums": str(folder / SUMS_NAME), "files": write_sums(folder)}, indent=2))
    return 0
