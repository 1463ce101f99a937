"""``python -m xray_core <command>``: one parser, one module per command.

Each command module has ``add_parser(subparsers)`` and sets ``run``; ``main(argv)`` is the one entry point, for
``python -m xray_core`` and for tests alike.
Heavy imports (torch, the model) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from xray_core.cli import (
    evaluate,
    explain,
    export_onnx,
    fit_age_probe,
    fit_uncertain,
    localisation,
    operating_point,
    pacs,
    predict,
    reliability,
    report,
    segment,
    sign_weights,
    similar,
    stats,
    train,
    users,
)
from xray_core.inference.wording import DISCLAIMER_SHORT

COMMANDS = (
    predict.add_parser,
    export_onnx.add_parser,
    explain.add_parser,
    localisation.add_parser,
    segment.add_parser,
    similar.add_parser,
    train.add_parser,
    train.add_placeholder_parser,
    operating_point.add_parser,
    fit_uncertain.add_parser,
    fit_age_probe.add_parser,
    evaluate.add_parser,
    stats.add_parser,
    reliability.add_parser,
    report.add_parser,
    sign_weights.add_parser,
    users.add_parser,
    pacs.add_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xray_core",
        description=f"Chest X-ray decision support: normal, bacterial pneumonia, viral pneumonia, COVID-19. "
        f"{DISCLAIMER_SHORT}",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # commands that quote themselves (evaluate) read it
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
