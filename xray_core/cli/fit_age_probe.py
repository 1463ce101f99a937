"""``python -m xray_core fit-age-probe``: fit the pediatric/adult probe the age-support warning reads, in place.

A logistic probe on the penultimate features, fitted on train-split films' ``age_group`` (the shortcut audit's
draw: ``--n-train`` films, seed 0) and scored on val (AUC), is stored in the checkpoint's ``age_probe``; the file
is re-signed. Rerun it whenever the weights change.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from xray_core.config import default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fit-age-probe",
        help="fit the pediatric/adult probe on train films' features, score it on val (in place)",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint to update (default: {default_checkpoint()})")
    parser.add_argument("--data", default=None, help=f"dataset root (default: {default_data_dir()})")
    parser.add_argument("--n-train", type=int, default=3000, help="train films drawn for fitting (default: 3000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of that draw (default: 0)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from xray_core.cli.common import load_or_report
    from xray_core.data.dataset import load_dataset
    from xray_core.evaluation.age_probe import fit_on_dataset
    from xray_core.models.checkpoint import update_meta

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    table = load_dataset(Path(args.data or default_data_dir()))
    try:
        record = fit_on_dataset(loaded, table, n_train=args.n_train, seed=args.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    updates: dict[str, Any] = {"age_probe": record}
    point = loaded.meta.operating_point
    if point is not None and point.age_offsets is not None:
        # The offsets were chosen for the old probe's P(pediatric): stale now, and so is the threshold fitted on them.
        updates["operating_point"] = dataclasses.replace(point, age_offsets=None, uncertain=None)
        print(
            "note: the per-age-group offsets and the 'uncertain' threshold were dropped (fitted with the old probe); "
            "rerun 'operating-point --by-age' and 'fit-uncertain'",
            file=sys.stderr,
        )
    sha = update_meta(loaded.path, **updates)
    shown = {k: v for k, v in record.items() if k not in ("mean", "scale", "weights")}
    print(json.dumps({**shown, "n_features": len(record["weights"]), "sha256": sha}, indent=2))
    return 0
