"""Self-describing release checkpoints.

A checkpoint is one ``torch.save`` file holding a dict of plain JSON-able
metadata and the weights, so it loads with ``torch.load(weights_only=True)``:

    {"format": "xray-core-checkpoint", "format_version": 1,
     "meta": {...}, "state_dict": {...}, "sha256": "<hex of the weights>"}

``meta`` carries the architecture, class names, preprocessing, training
config, data summary, metrics, temperature, OOD statistics and library
versions. The SHA-256 is recomputed at load: a corrupted or altered file is
refused with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from xray_core.config import CLASS_NAMES, Preprocessing
from xray_core.models.networks import build_model

FORMAT_NAME = "xray-core-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, tampered with or not ours."""


@dataclass
class LoadedModel:
    """A model ready for inference plus everything its checkpoint says about it."""

    model: nn.Module
    meta: dict[str, Any]
    sha256: str
    path: str = ""
    class_names: tuple[str, ...] = field(default=CLASS_NAMES)

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing.from_dict(self.meta["preprocessing"])

    @property
    def arch(self) -> str:
        return self.meta["arch"]

    @property
    def temperature(self) -> float:
        return float(self.meta.get("calibration", {}).get("temperature", 1.0))

    @property
    def trained(self) -> bool:
        return bool(self.meta.get("trained", False))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes in sorted key order."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {"torch": torch.__version__, "torchvision": torchvision.__version__, "python": platform.python_version()}


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict[str, Any]) -> str:
    """Write a release checkpoint (no optimizer state) and return the weights' SHA-256.

    ``meta`` must contain ``arch`` and ``preprocessing`` (a dict); ``class_names``
    defaults to :data:`CLASS_NAMES`. It must be JSON-serialisable.
    """
    meta = {"class_names": list(CLASS_NAMES), **meta, "libraries": library_versions()}
    for required in ("arch", "preprocessing"):
        if required not in meta:
            raise ValueError(f"checkpoint meta needs {required!r}")
    meta = json.loads(json.dumps(meta))  # proves it's plain data and drops tuples/numpy scalars
    state = {k: v.detach().cpu().clone() for k, v in _unwrap(model).state_dict().items()}
    sha = weights_sha256(state)
    payload = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "meta": meta, "state_dict": state, "sha256": sha}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # atomic: a crash never leaves a half-written checkpoint
    return sha


def read_payload(path: str | Path) -> dict[str, Any]:
    """Load and validate the raw checkpoint dict (verifies format and hash) without building the model."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}. Train one with 'python -m xray_core train' or "
                              "set XRAY_CHECKPOINT to an existing file.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and unpickler errors all mean 'not a valid checkpoint'
        raise CheckpointError(f"{path.name}: not a readable checkpoint ({type(error).__name__}: "
                              f"{str(error)[:200]})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path.name}: not an xray_core checkpoint (no '{FORMAT_NAME}' header); "
                              "to start from foreign weights use 'train --init PATH'")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path.name}: format version {payload['format_version']} is newer than this "
                              f"code understands ({FORMAT_VERSION}); update xray_core")
    actual = weights_sha256(payload["state_dict"])
    if actual != payload.get("sha256"):
        raise CheckpointError(f"{path.name}: weights do not match their recorded SHA-256 "
                              f"(expected {str(payload.get('sha256'))[:12]}…, got {actual[:12]}…); the file is "
                              "corrupted or was altered")
    return payload


def load_checkpoint(path: str | Path) -> LoadedModel:
    """Build the network described by the checkpoint, load and verify its weights, set eval mode."""
    payload = read_payload(path)
    meta = payload["meta"]
    prep = Preprocessing.from_dict(meta["preprocessing"])
    class_names = tuple(meta.get("class_names", CLASS_NAMES))
    model = build_model(meta["arch"], num_classes=len(class_names), in_channels=prep.in_channels)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"{Path(path).name}: weights do not fit architecture {meta['arch']}: "
                              f"{str(error)[:200]}") from error
    model.eval()
    return LoadedModel(model=model, meta=meta, sha256=payload["sha256"], path=str(path), class_names=class_names)


def update_meta(path: str | Path, **updates: Any) -> None:
    """Rewrite a checkpoint with extra metadata (calibration, OOD statistics, metrics); weights unchanged."""
    payload = read_payload(path)
    meta = {**payload["meta"], **json.loads(json.dumps(updates))}
    payload["meta"] = meta
    tmp = Path(str(path) + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model
