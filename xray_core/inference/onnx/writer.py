"""Writing an ONNX export: the graph with its metadata, then verified before it is moved into place.

Both exports (the classifier, :mod:`~xray_core.inference.onnx.export`, and the lung segmenter,
:mod:`~xray_core.inference.onnx.segmenter_export`) go through here, so an engine never meets a half-written or
unverified file.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from xray_core.files import atomic_path
from xray_core.inference.onnx.segmenter import METADATA_KEY  # the metadata_props entry the engines read

OPSET = 17
Checked = TypeVar("Checked")


def write_graph(
    module: nn.Module,
    example: torch.Tensor,
    path: Path,
    inputs: Sequence[str],
    outputs: Sequence[str],
    info: dict[str, Any],
) -> None:
    """Trace ``module`` on ``example`` into ``path`` (batch axis dynamic) and store ``info`` as JSON metadata."""
    import onnx

    with warnings.catch_warnings():  # the TorchScript exporter is deprecated; the dynamo one needs onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (example,),
            str(path),
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes={name: {0: "batch"} for name in (*inputs, *outputs)},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(info, sort_keys=True)
    onnx.save(model, str(path))


def write_verified(path: Path, write: Callable[[Path], None], check: Callable[[bytes], Checked]) -> tuple[Checked, str]:
    """``write`` a temporary file beside ``path``, ``check`` its bytes (raising when they disagree), then move it
    into place atomically; nothing is left behind when either step fails. Returns what ``check`` returned and the
    SHA-256 of the bytes it checked (read once: the hash the engine will require is of exactly what was checked)."""
    with atomic_path(path) as tmp:
        write(tmp)
        graph = tmp.read_bytes()
        checked = check(graph)
    return checked, hashlib.sha256(graph).hexdigest()


__all__ = ["OPSET", "write_graph", "write_verified"]
