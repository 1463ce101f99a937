"""``python -m xray_core predict FILE...``: calibrated probabilities, refusal and flags per file."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from xray_core.cli.common import load_or_report, read_bytes
from xray_core.config import default_checkpoint


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="class probabilities for one or more images",
        description="Predict normal / bacterial / viral / COVID-19 for each FILE "
        "(PNG, JPEG, TIFF or DICOM). Decision support, not a diagnosis.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    parser.add_argument("--json", action="store_true", help="print one JSON array instead of a table")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from xray_core.inference.audit import audit_prediction
    from xray_core.inference.batch import predict_sources
    from xray_core.io.reader import XrayInputError

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    rows, failed, contents = [], 0, {}

    def items():
        for file in args.files:
            try:
                contents[file] = read_bytes(file)  # the audit log hashes these bytes
            except XrayInputError:
                yield file, file  # read_image reports why this path cannot be read, as that file's row
                continue
            yield file, contents[file]

    for scored in predict_sources(loaded, items(), args.batch_size):  # the one read-and-predict loop
        if scored.prediction is None:
            failed += 1
            rows.append({"file": scored.name, "error": scored.error})
            continue
        # One audit line per prediction; a no-op unless XRAY_AUDIT_LOG is set.
        audit_prediction(contents.pop(scored.name, b""), scored.prediction, loaded)
        rows.append({"file": scored.name, **scored.prediction.to_dict()})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows, loaded.class_names)
    return 1 if failed else 0


def _print_table(rows: list[dict], class_names: Sequence[str]) -> None:
    print("file\tlabel\t" + "\t".join(class_names) + "\tflags")
    for row in rows:
        if "error" in row:
            print(f"{row['file']}\tERROR\t{row['error']}")
            continue
        probabilities = "\t".join(f"{row['probabilities'][name]:.3f}" for name in class_names)
        flags = ",".join(f for f in ("refused", "low_confidence") if row.get(f))
        print(f"{row['file']}\t{row['label']}\t{probabilities}\t{flags}")
