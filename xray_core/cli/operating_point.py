"""``python -m xray_core operating-point``: refit the normal-logit offset and temperature on val + both external sets.

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
        help="choose the normal-logit offset and temperature on val + both external sets",
        description=__doc__.split("\n\n", 1)[0],
    )
    parser.add_argument("--checkpoint", default=None, help=f"starting checkpoint (default: {default_checkpoint()})")
    parser.add_argument("--out", required=True, help="where to write the new checkpoint")
    parser.add_argument(
        "--data",
        default=None,
        help=f"dataset root holding external/ and external_adult/ (default: {default_data_dir()})",
    )
    parser.add_argument(
        "--by-age",
        action="store_true",
        help="one normal offset per age group, blended by the checkpoint's age probe (run fit-age-probe first)",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from xray_core.data.dataset import tuning_tables
    from xray_core.inference.features import features_and_logits
    from xray_core.models.age_offsets import detach_age_offsets
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from xray_core.training import operating_point
    from xray_core.training.operating_point import LogitSet

    data = Path(args.data or default_data_dir())
    try:
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    probe = loaded.meta.age_probe
    if args.by_age and probe is None:
        print(
            "error: --by-age needs the checkpoint's age probe; run 'python -m xray_core fit-age-probe' first",
            file=sys.stderr,
        )
        return 2
    detach_age_offsets(loaded.model)  # offsets are chosen afresh, on the plain head's logits
    sets = {}
    for name, part in tuning_tables(data).items():
        features, logits = features_and_logits(loaded, part)
        pediatric = probe.pediatric_probability(features) if args.by_age and probe is not None else None
        labels = part["label"].map(LABELS.index).to_numpy()
        sets[name] = LogitSet(logits, labels, part["age_group"].fillna("").astype(str).tolist(), pediatric)
    previous = loaded.meta.operating_point.folded_offset if loaded.meta.operating_point else 0.0
    if args.by_age and probe is not None:
        sets, record = operating_point.apply_by_age(loaded.model, sets, probe)
        record["normal_logit_offset"] = 0.0  # nothing more folded into the bias: the head carries the offsets
    else:
        sets, record = operating_point.apply(loaded.model, sets)
    record["normal_logit_offset_total"] = previous + record["normal_logit_offset"]
    temperature, calibration = operating_point.calibrate(sets)
    meta = loaded.meta.replace(temperature=temperature, calibration=calibration, operating_point=record)
    sha = save_checkpoint(args.out, loaded.model, meta)
    print(
        json.dumps(
            {
                "normal_logit_offset": record["normal_logit_offset"],
                "age_offsets": record.get("age_offsets"),
                "worst_before": record["worst_before"],
                "worst_after": record["worst_after"],
                "temperature": temperature,
                "sha256": sha,
            },
            indent=2,
        )
    )
    return 0
