"""``python -m xray_core localisation``: compare CAM methods and layers on where their maps fall in the lungs.

Its own module because it measures map *variants* on a labelled corpus with reference masks (a report for the
model card), while ``explain`` explains the user's films. :func:`xray_core.cli.explain.main` accepts it too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xray_core.cli.common import emit_report
from xray_core.config import default_checkpoint, default_data_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``localisation`` command."""
    from xray_core.explain.variants import VARIANTS

    parser = subparsers.add_parser(
        "localisation",
        help="compare CAM methods and layers on where their maps fall relative to the lungs",
        description="On external pneumonia films (bacterial/viral) with reference lung masks: share of map "
        "energy inside the lungs, pointing game, and ROAD confidence drop against RandomCAM, with "
        "bootstrap CIs, for each CAM method and target layer.",
    )
    parser.add_argument("--checkpoint", default=None, help=f"(default: {default_checkpoint()})")
    parser.add_argument("--data", default=None, help="corpus root (default: $XRAY_DATA_DIR or ../shared/cxr)")
    parser.add_argument("--n", type=int, default=60, help="films sampled (default: 60)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated map variants")
    parser.add_argument(
        "--target",
        default="label",
        choices=("label", "predicted"),
        help="explain the labelled class or the predicted one (default: label)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report here")
    parser.add_argument("--markdown", default=None, metavar="OUT", help="write the table here")
    parser.set_defaults(run=run_localisation)
    return parser


def run_localisation(args: argparse.Namespace) -> int:
    """Sample external pneumonia films with masks, compare the variants, print and optionally write the report."""
    from xray_core.explain.localisation import localisation_report
    from xray_core.explain.localisation_table import localisation_markdown
    from xray_core.inference.lungs.segment import mask_pairs
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint

    try:
        loaded = load_checkpoint(args.checkpoint or default_checkpoint())
        pairs = mask_pairs(args.data or default_data_dir(), "external")
        pairs = pairs[pairs["label"].isin(["bacterial", "viral"])]
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        report = localisation_report(loaded, pairs, variants, n=args.n, seed=args.seed, target=args.target)
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    options = [
        ("--checkpoint", args.checkpoint),
        ("--data", args.data),
        ("--n", args.n),
        ("--seed", args.seed),
        ("--target", args.target),
        ("--variants", args.variants),
    ]
    report.update(
        data=Path(args.data or default_data_dir()).name,  # never the machine's absolute path
        command="python -m xray_core localisation "
        + " ".join(f"{flag} {value}" for flag, value in options if value is not None),
    )
    emit_report(report, localisation_markdown(report), args.json, args.markdown)
    return 0
