"""Self-describing release checkpoints.

A checkpoint is one ``torch.save`` file holding a dict of plain JSON-able
metadata and the weights, so it loads with ``torch.load(weights_only=True)``:

    {"format": "xray-core-checkpoint", "format_version": 2,
     "meta": {...}, "state_dict": {...}, "sha256": "<hex of the weights and the meta>"}

``meta`` is a :class:`~xray_core.models.meta.CheckpointMeta` as a dict: architecture, class names,
preprocessing, temperature, OOD and image-level refusal statistics, metrics, training config, data summary,
library versions. Since format 2 the SHA-256 covers the metadata too: everything a prediction depends on
(temperature and refusal thresholds included) is verified at load, and a changed file is refused.
Format-1 files (hash over the weights only) still load.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from xray_core.config import Preprocessing
from xray_core.files import atomic_path
from xray_core.models.age_offsets import age_offsets_of, attach_age_offsets
from xray_core.models.meta import CheckpointMeta
from xray_core.models.networks import build_model

FORMAT_NAME = "xray-core-checkpoint"
FORMAT_VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, tampered with or not ours."""


@dataclass
class LoadedModel:
    """A model ready for inference plus its typed metadata."""

    model: nn.Module
    meta: CheckpointMeta
    sha256: str
    path: str = ""

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.meta.class_names

    @property
    def preprocessing(self) -> Preprocessing:
        return self.meta.preprocessing

    @property
    def arch(self) -> str:
        return self.meta.arch

    @property
    def temperature(self) -> float:
        return self.meta.temperature

    @property
    def trained(self) -> bool:
        return self.meta.trained

    @property
    def version(self) -> str:
        return self.meta.version

    def identity(self) -> dict[str, Any]:
        """The one description of which model answered: shown, logged, written into every report."""
        return self.meta.identity(self.sha256, self.path)


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


def payload_sha256(state_dict: dict[str, torch.Tensor], meta: dict[str, Any] | None) -> str:
    """SHA-256 of the weights and (format 2) the canonical JSON of the metadata; ``meta`` None: weights only."""
    if meta is None:
        return weights_sha256(state_dict)
    digest = hashlib.sha256(weights_sha256(state_dict).encode())
    digest.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def save_checkpoint(path: str | Path, model: nn.Module, meta: CheckpointMeta | dict[str, Any]) -> str:
    """Write a release checkpoint (no optimizer state) and return its SHA-256 (weights and metadata).

    ``meta``: a :class:`CheckpointMeta` or a dict it can be built from (needs ``arch`` and ``preprocessing``).
    """
    typed = meta if isinstance(meta, CheckpointMeta) else CheckpointMeta.from_dict(meta)
    values = json.loads(json.dumps(typed.replace(libraries=library_versions()).to_dict()))  # plain data only
    state = {k: v.detach().cpu().clone() for k, v in _unwrap(model).state_dict().items()}
    return _write(Path(path), state, values)


def _write(path: Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    sha = payload_sha256(state, meta)
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "meta": meta,
        "state_dict": state,
        "sha256": sha,
    }
    with atomic_path(path) as tmp:  # a crash never leaves a half-written checkpoint
        torch.save(payload, tmp)
    return sha


def read_payload(path: str | Path) -> dict[str, Any]:
    """Load and validate the raw checkpoint dict (verifies format and hash) without building the model."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint not found: {path}. Train one with 'python -m xray_core train' or "
            "set XRAY_CHECKPOINT to an existing file."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and unpickler errors all mean 'not a valid checkpoint'
        raise CheckpointError(
            f"{path.name}: not a readable checkpoint ({type(error).__name__}: {str(error)[:200]})"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path.name}: not an xray_core checkpoint (no '{FORMAT_NAME}' header); "
            "to start from foreign weights use 'train --init PATH'"
        )
    version = payload.get("format_version", 0)
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path.name}: format version {version} is newer than this "
            f"code understands ({FORMAT_VERSION}); update xray_core"
        )
    actual = payload_sha256(payload["state_dict"], payload["meta"] if version >= 2 else None)
    if actual != payload.get("sha256"):
        raise CheckpointError(
            f"{path.name}: weights or metadata do not match their recorded SHA-256 "
            f"(expected {str(payload.get('sha256'))[:12]}…, got {actual[:12]}…); the file is "
            "corrupted or was altered"
        )
    return payload


def load_checkpoint(path: str | Path) -> LoadedModel:
    """Build the network described by the checkpoint, load and verify its weights, set eval mode."""
    payload = read_payload(path)
    try:
        meta = CheckpointMeta.from_dict(payload["meta"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{Path(path).name}: unreadable metadata ({error})") from error
    model = build_model(meta.arch, num_classes=len(meta.class_names), in_channels=meta.preprocessing.in_channels)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(
            f"{Path(path).name}: weights do not fit architecture {meta.arch}: {str(error)[:200]}"
        ) from error
    offsets = age_offsets_of(meta.operating_point)
    if offsets is not None:
        if not meta.age_probe:
            raise CheckpointError(f"{Path(path).name}: per-age-group offsets without the age probe they need")
        attach_age_offsets(model, meta.age_probe, offsets, meta.class_names.index("normal"))
    model.eval()
    return LoadedModel(model=model, meta=meta, sha256=payload["sha256"], path=str(path))


def update_meta(path: str | Path, **updates: Any) -> str:
    """Rewrite a checkpoint with changed metadata fields (weights unchanged) and re-sign it; returns the new hash.

    Upgrades a format-1 file to format 2 on the way (its hash then covers the metadata too).
    """
    payload = read_payload(path)
    meta = CheckpointMeta.from_dict(payload["meta"]).replace(**json.loads(json.dumps(updates)))
    return _write(Path(path), payload["state_dict"], json.loads(json.dumps(meta.to_dict())))


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model
