"""``python -m xray_core train`` (flags generated from :class:`TrainConfig`) and ``placeholder``."""

from __future__ import annotations

import argparse
import dataclasses

from xray_core.cli.common import add_dataclass_flags
from xray_core.training.config import TrainConfig


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model on a dataset",
        description="Train on the train split; keep the epoch with the best selection score "
        "(val and external AUCs, worst age-group x label recall); runs "
        "under torchrun for DistributedDataParallel.",
    )
    add_dataclass_flags(parser, TrainConfig)
    parser.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from xray_core.training.loop import run

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    path = run(TrainConfig(**values))
    print(f"release checkpoint: {path}")
    return 0


def add_placeholder_parser(subparsers) -> None:
    parser = subparsers.add_parser("placeholder", help="write an UNTRAINED checkpoint (for tests and demos)")
    parser.add_argument("out", help="where to write the checkpoint")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--image-size", type=int, default=128)
    parser.set_defaults(run=_run_placeholder)


def _run_placeholder(args: argparse.Namespace) -> int:
    from xray_core.config import Preprocessing
    from xray_core.models.checkpoint import save_checkpoint
    from xray_core.models.networks import build_model

    prep = Preprocessing(image_size=args.image_size)
    save_checkpoint(
        args.out,
        build_model(args.arch, in_channels=prep.in_channels),
        {"arch": args.arch, "preprocessing": prep.to_dict(), "trained": False, "version": "untrained-placeholder"},
    )
    print(f"UNTRAINED placeholder checkpoint written to {args.out}")
    return 0
