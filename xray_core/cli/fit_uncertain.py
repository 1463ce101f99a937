"""``python -m xray_core fit-uncertain``: fit the 'uncertain - refer' threshold on the top probability, in place.

The lowest threshold at which the films kept reach the target accuracy on the validation split and on both
external sets (never the test split) goes into the checkpoint's ``operating_point.uncertain``; the file is
re-signed. With ``--by-age`` there is one threshold per age group the checkpoint's age probe estimates, so that
adult films, on which the model is weaker, are referred more often instead of called wrongly.
It holds for the checkpoint's current temperature: run it after ``operating-point``, which rewrites
``operating_point`` and so drops a stale threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from xray_core.config import LABELS, default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fit-uncertain",
        help="choose the 'uncertain - refer' top-probability threshold on val + both external sets (in place)",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint to update (default: {default_checkpoint()})")
    parser.add_argument(
        "--data",
        default=None,
        help=f"dataset root holding external/ and external_adult/ (default: {default_data_dir()})",
    )
    parser.add_argument("--target", type=float, default=0.95, help="accuracy on the films kept (default: 0.95)")
    parser.add_argument(
        "--by-age",
        action="store_true",
        help="one threshold per age group as the checkpoint's age probe estimates it, each keeping the target "
        "accuracy in every set (run fit-age-probe first)",
    )
    parser.set_defaults(run=run)
    return parser


def _scored_sets(loaded, data: Path, by_age: bool) -> tuple[dict, dict]:
    """Each tuning set's films not refused as unlike radiographs, scored at the checkpoint's temperature, and (with
    ``by_age``) the age group the checkpoint's probe gives each of them."""
    import numpy as np

    from xray_core.data.dataset import tuning_tables
    from xray_core.evaluation import risk_coverage
    from xray_core.inference import ood
    from xray_core.inference.age import estimate_age
    from xray_core.inference.calibration import apply_temperature
    from xray_core.inference.features import features_and_logits

    sets, ages = {}, {}
    for name, part in tuning_tables(data).items():
        features, logits = features_and_logits(loaded, part)
        scores, limit = ood.score(loaded.meta.ood, features), ood.threshold(loaded.meta.ood)
        keep = np.ones(len(part), bool) if scores is None or limit is None else scores <= limit
        labels = part["label"].map(LABELS.index).to_numpy()[keep]
        sets[name] = risk_coverage.scored(labels, apply_temperature(logits[keep], loaded.temperature))
        if by_age:
            ages[name] = np.asarray([e.group for e in estimate_age(loaded.meta.age_probe, features[keep])])
    return sets, ages


def run(args: argparse.Namespace) -> int:
    from xray_core.cli.common import load_or_report
    from xray_core.evaluation import risk_coverage
    from xray_core.models.checkpoint import update_meta
    from xray_core.models.records import OperatingPoint, UncertainThreshold

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    if args.by_age and loaded.meta.age_probe is None:
        print("error: --by-age needs the checkpoint's age probe; run 'python -m xray_core fit-age-probe' first",
              file=sys.stderr)  # fmt: skip
        return 2
    sets, ages = _scored_sets(loaded, Path(args.data or default_data_dir()), args.by_age)
    if args.by_age:
        record = risk_coverage.choose_thresholds_by_age(sets, ages, target=args.target)
        for group in (g for g, ok in record["reached"].items() if not ok):
            print(f"warning: no threshold keeps accuracy {args.target} on {group} films: all are referred",
                  file=sys.stderr)  # fmt: skip
    else:
        record = risk_coverage.choose_threshold(sets, target=args.target)
    if record["threshold"] is None:
        print(f"error: no threshold keeps accuracy {args.target} on {record['fitted_on']}", file=sys.stderr)
        return 1
    record["temperature"] = loaded.temperature  # the threshold is on probabilities at this temperature
    point = dataclasses.replace(
        loaded.meta.operating_point or OperatingPoint(), uncertain=UncertainThreshold.from_dict(record)
    )
    sha = update_meta(loaded.path, operating_point=point)
    print(json.dumps({**record, "sha256": sha}, indent=2))
    return 0
