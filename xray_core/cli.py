"""``python -m xray_core <command>``: predict, explain, train, evaluate, stats, placeholder.

Each command has a parser built by an ``add_parser`` function and a
``main(argv)`` entry so tests call it directly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from .config import TrainConfig, default_checkpoint


def _add_predict(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="class probabilities for one or more images",
                                   description="Predict normal / bacterial / viral / COVID-19 for each FILE "
                                               "(PNG, JPEG, TIFF or DICOM). Decision support, not a diagnosis.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    parser.add_argument("--json", action="store_true", help="print one JSON array instead of a table")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.set_defaults(run=_run_predict)


def load_or_report(checkpoint: str | None):
    """The checkpoint (default: the shipped one) as a LoadedModel, or None after printing why it can't load."""
    from .checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(checkpoint or default_checkpoint())
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _run_predict(args: argparse.Namespace) -> int:
    from .audit import audit_prediction
    from .io import XrayInputError, read_image
    from .predict import predict_image

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    rows, failed = [], 0
    for file in args.files:
        try:
            data = _read_bytes(file)
            prediction = predict_image(loaded, read_image(data, name=Path(file).name))
            audit_prediction(data, prediction, loaded)  # no-op unless XRAY_AUDIT_LOG is set
            rows.append({"file": file, **prediction.to_dict()})
        except XrayInputError as error:
            failed += 1
            rows.append({"file": file, "error": str(error)})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows, loaded.class_names)
    return 1 if failed else 0


def _read_bytes(file: str) -> bytes:
    from .io import XrayInputError

    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise XrayInputError(f"{file}: cannot read the file ({error.strerror or error}); expected a readable "
                             "PNG, JPEG, TIFF or DICOM file") from error


def _print_table(rows: list[dict], class_names: Sequence[str]) -> None:
    print("file\tlabel\t" + "\t".join(class_names) + "\tflags")
    for row in rows:
        if "error" in row:
            print(f"{row['file']}\tERROR\t{row['error']}")
            continue
        probabilities = "\t".join(f"{row['probabilities'][name]:.3f}" for name in class_names)
        flags = ",".join(f for f in ("refused", "low_confidence") if row.get(f))
        print(f"{row['file']}\t{row['label']}\t{probabilities}\t{flags}")


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per dataclass field, typed from its default (bools become ``--x/--no-x``)."""
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default,
                                help=f"(default: {field.default!r})")


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model on a dataset",
                                   description="Train on the train split, select on val by macro AUC; runs "
                                               "under torchrun for DistributedDataParallel.")
    add_dataclass_flags(parser, TrainConfig)
    parser.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from .train import run

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    path = run(TrainConfig(**values))
    print(f"release checkpoint: {path}")
    return 0


def _add_placeholder(subparsers) -> None:
    parser = subparsers.add_parser("placeholder", help="write an UNTRAINED checkpoint (for tests and demos)")
    parser.add_argument("out", help="where to write the checkpoint")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--image-size", type=int, default=128)
    parser.set_defaults(run=_run_placeholder)


def _run_placeholder(args: argparse.Namespace) -> int:
    from .checkpoint import save_checkpoint
    from .config import Preprocessing
    from .model import build_model

    prep = Preprocessing(image_size=args.image_size)
    save_checkpoint(args.out, build_model(args.arch, in_channels=prep.in_channels),
                    {"arch": args.arch, "preprocessing": prep.to_dict(), "trained": False,
                     "version": "untrained-placeholder"})
    print(f"UNTRAINED placeholder checkpoint written to {args.out}")
    return 0


def _optional_commands() -> list[Callable]:
    """Commands living in their own modules (explain, evaluate, stats), added when present."""
    adders = []
    for module_name in ("cli_evaluate", "cli_explain", "cli_stats", "cli_ood", "cli_reliability"):
        try:
            module = __import__(f"xray_core.{module_name}", fromlist=["add_parser"])
        except ImportError as error:
            if f"xray_core.{module_name}" not in str(error):
                raise
            continue
        adders.append(module.add_parser)
    return adders


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m xray_core",
                                     description="Chest X-ray decision support: normal, bacterial pneumonia, "
                                                 "viral pneumonia, COVID-19. Not a diagnosis.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for adder in (_add_predict, _add_train, _add_placeholder, *_optional_commands()):
        adder(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # commands that quote themselves (evaluate) read it
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
