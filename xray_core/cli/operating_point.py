"""``python -m xray_core operating-point``: refit a checkpoint's normal-logit offset and temperature on val + external.

Training does this at the end of every run; this command applies the same step to an existing checkpoint
(e.g. one trained before the step existed) and writes a new, re-signed checkpoint. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xray_core.config import LABELS, default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "operating-point",
        help="choose the normal-logit offset and temperature on val + external films",
        description=__doc__.split("\n\n", 1)[0],
    )
    parser.add_argument("--checkpoint", default=None, help=f"starting checkpoint (default: {default_checkpoint()})")
    parser.add_argument("--out", required=True, help="where to write the new checkpoint")
    parser.add_argument("--data", default=None, help=f"dataset root with external/ (default: {default_data_dir()})")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from xray_core.data.dataset import load_dataset
    from xray_core.evaluation.shortcuts import features_and_logits
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from xray_core.training import operating_point
    from xray_core.training.operating_point import LogitSet

    data = Path(args.data or default_data_dir())
    try:
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = load_dataset(data)
    tables = {"val": table[table["split"] == "val"]}
    if (data / "external").exists():
        tables["external"] = load_dataset(data / "external")
    sets = {
        name: LogitSet(
            features_and_logits(loaded, part)[1],
            part["label"].map(LABELS.index).to_numpy(),
            part["age_group"].fillna("").astype(str).tolist(),
        )
        for name, part in tables.items()
    }
    sets, record = operating_point.apply(loaded.model, sets)
    previous = (loaded.meta.operating_point or {}).get("normal_logit_offset", 0.0)
    record["normal_logit_offset_total"] = previous + record["normal_logit_offset"]
    temperature, calibration = operating_point.calibrate(sets)
    meta = loaded.meta.replace(temperature=temperature, calibration=calibration, operating_point=record)
    sha = save_checkpoint(args.out, loaded.model, meta)
    print(
        json.dumps(
            {
                "normal_logit_offset": record["normal_logit_offset"],
                "worst_before": record["worst_before"],
                "worst_after": record["worst_after"],
                "temperature": temperature,
                "sha256": sha,
            },
            indent=2,
        )
    )
    return 0
