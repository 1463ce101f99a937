"""``python -m xray_core fit-uncertain``: fit the 'uncertain - refer' threshold on the top probability, in place.

The lowest threshold at which the films kept reach the target accuracy on the validation split and on the
external films (never the test split) goes into the checkpoint's ``operating_point['uncertain']``; the file is
re-signed. It holds for the checkpoint's current temperature: run it after ``operating-point``, which rewrites
``operating_point`` and so drops a stale threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from xray_core.config import LABELS, default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fit-uncertain",
        help="choose the 'uncertain - refer' top-probability threshold on val + external films (in place)",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint to update (default: {default_checkpoint()})")
    parser.add_argument("--data", default=None, help=f"dataset root with external/ (default: {default_data_dir()})")
    parser.add_argument("--target", type=float, default=0.95, help="accuracy on the films kept (default: 0.95)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from xray_core.cli.common import load_or_report
    from xray_core.data.dataset import tuning_tables
    from xray_core.evaluation import risk_coverage
    from xray_core.evaluation.shortcuts import features_and_logits
    from xray_core.inference.calibration import apply_temperature
    from xray_core.models.checkpoint import update_meta

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    sets = {}
    for name, part in tuning_tables(Path(args.data or default_data_dir())).items():
        logits = features_and_logits(loaded, part)[1]
        labels = part["label"].map(LABELS.index).to_numpy()
        sets[name] = risk_coverage.scored(labels, apply_temperature(logits, loaded.temperature))
    record = risk_coverage.choose_threshold(sets, target=args.target)
    if record["threshold"] is None:
        print(f"error: no threshold keeps accuracy {args.target} on {record['fitted_on']}", file=sys.stderr)
        return 1
    record["temperature"] = loaded.temperature  # the threshold is on probabilities at this temperature
    operating = {**(loaded.meta.operating_point or {}), "uncertain": record}
    sha = update_meta(loaded.path, operating_point=operating)
    print(json.dumps({**record, "sha256": sha}, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xray_core")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["fit-uncertain", *(sys.argv[1:] if argv is None else argv)]))
