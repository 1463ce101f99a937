"""Helpers every command shares: loading the checkpoint with a clear message, reading input files."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from xray_core.config import default_checkpoint


def load_or_report(checkpoint: str | None):
    """The checkpoint (default: the shipped one) as a LoadedModel, or None after printing why it can't load."""
    from xray_core.models.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(checkpoint or default_checkpoint())
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def read_bytes(file: str) -> bytes:
    from xray_core.io.image import XrayInputError

    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise XrayInputError(
            f"{file}: cannot read the file ({error.strerror or error}); expected a readable "
            "PNG, JPEG, TIFF or DICOM file"
        ) from error


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per dataclass field, typed from its default (bools become ``--x/--no-x``)."""
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(
                flag, type=type(field.default), default=field.default, help=f"(default: {field.default!r})"
            )


def emit_report(report: dict, markdown: str, json_path: str | None, markdown_path: str | None) -> None:
    """A report command's outputs: the JSON and Markdown files when asked for, the Markdown on stdout always."""
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
    if markdown_path:
        Path(markdown_path).write_text(markdown)
    print(markdown, end="")
