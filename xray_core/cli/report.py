"""``python -m xray_core report FILE --out report.pdf``: one film's PDF report (decision support, not a diagnosis).

The report holds the film, the heatmap with the lung outline, the calibrated probabilities, every refusal or
warning, similar training films, the model's version and weights hash and the date. No patient data: the file's
name appears only when given with ``--file-name``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xray_core.cli.common import load_or_report, read_bytes
from xray_core.config import default_checkpoint, default_data_dir
from xray_core.inference.wording import DISCLAIMER_SHORT


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="PDF report of one image",
        description="Write a PDF report of FILE: film, heatmap with the lung outline, probabilities, refusal or "
        f"warnings, similar cases, model version and hash, date. {DISCLAIMER_SHORT}",
    )
    parser.add_argument("file", metavar="FILE", help="image (PNG, JPEG, TIFF or DICOM)")
    parser.add_argument("--out", required=True, help="PDF file to write")
    parser.add_argument("--file-name", default="", help="name to print on the report (default: none)")
    parser.add_argument("--k", type=int, default=6, help="similar cases to include (default: 6)")
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    parser.add_argument("--data", default=None, help=f"dataset for similar cases (default: {default_data_dir()})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from xray_core.io.image import XrayInputError
    from xray_core.io.reader import read_image
    from xray_core.report.content import build_report
    from xray_core.report.pdf import render_pdf

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    try:
        image = read_image(read_bytes(args.file), name=Path(args.file).name)
    except XrayInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    content = build_report(loaded, image, file_name=args.file_name, k=args.k, data_dir=args.data)
    if content.similar_note:
        print(content.similar_note, file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render_pdf(content))
    state = "refused" if content.prediction.refused else content.prediction.label
    print(f"wrote {out} ({state})", file=sys.stderr)
    return 0
