"""Self-describing release checkpoints.

A checkpoint is one ``torch.save`` file holding a dict of plain JSON-able
metadata and the weights, so it loads with ``torch.load(weights_only=True)``:

    {"format": "xray-core-checkpoint", "format_version": 2,
     "meta": {...}, "state_dict": {...}, "sha256": "<hex of the weights and the meta>"}

``meta`` is a :class:`~xray_core.models.meta.CheckpointMeta` as a dict: architecture, class names,
preprocessing, temperature, OOD and image-level refusal statistics, metrics, training config, data summary,
library versions. Since format 2 the SHA-256 covers the metadata too: everything a prediction depends on
(temperature and refusal thresholds included) is verified at load, and a changed file is refused.
Format-1 files (hash over the weights only) still load. The file format, and the ``weights/SHA256SUMS`` pin of the
shipped files, are :mod:`xray_core.models.signed`'s, shared with the lung segmenter.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from xray_core.config import Preprocessing
from xray_core.models.age_offsets import attach_age_offsets
from xray_core.models.meta import CheckpointMeta
from xray_core.models.networks import build_model
from xray_core.models.signed import read_signed, write_signed

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


def library_versions() -> dict[str, str]:
    return {"torch": torch.__version__, "torchvision": torchvision.__version__, "python": platform.python_version()}


def save_checkpoint(path: str | Path, model: nn.Module, meta: CheckpointMeta | dict[str, Any]) -> str:
    """Write a release checkpoint (no optimizer state) and return its SHA-256 (weights and metadata).

    ``meta``: a :class:`CheckpointMeta` or a dict it can be built from (needs ``arch`` and ``preprocessing``).
    """
    typed = meta if isinstance(meta, CheckpointMeta) else CheckpointMeta.from_dict(meta)
    values = json.loads(json.dumps(typed.replace(libraries=library_versions()).to_dict()))  # plain data only
    state = {k: v.detach().cpu().clone() for k, v in _unwrap(model).state_dict().items()}
    return _write(Path(path), state, values)


def _write(path: Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    return write_signed(path, {"format": FORMAT_NAME, "format_version": FORMAT_VERSION}, state, meta)


def read_payload(path: str | Path, pinned: bool = True) -> dict[str, Any]:
    """Load and validate the raw checkpoint dict (verifies format and hash) without building the model.

    A file in ``weights/`` must also match its line in ``weights/SHA256SUMS`` (``pinned`` False: not checked).
    """
    return read_signed(
        path,
        {"format": FORMAT_NAME, "format_version": FORMAT_VERSION},
        CheckpointError,
        missing=f"checkpoint not found: {path}. Train one with 'python -m xray_core train' or "
        "set XRAY_CHECKPOINT to an existing file.",
        foreign=f"not an xray_core checkpoint (no '{FORMAT_NAME}' header); "
        "to start from foreign weights use 'train --init PATH'",
        meta_hashed_from=2,
        pinned=pinned,
    )


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
    offsets = meta.operating_point.age_offsets if meta.operating_point else None
    if offsets is not None:
        if meta.age_probe is None:
            raise CheckpointError(f"{Path(path).name}: per-age-group offsets without the age probe they need")
        attach_age_offsets(model, meta.age_probe, offsets, meta.class_names.index("normal"))
    model.eval()
    return LoadedModel(model=model, meta=meta, sha256=payload["sha256"], path=str(path))


def update_meta(path: str | Path, **updates: Any) -> str:
    """Rewrite a checkpoint with changed metadata fields (weights unchanged) and re-sign it; returns the new hash.

    A record may be given typed (:class:`~xray_core.models.records.OperatingPoint`, ...) or as its plain dict.

    Upgrades a format-1 file to format 2 on the way (its hash then covers the metadata too).
    """
    payload = read_payload(path)
    plain = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in updates.items()}
    meta = CheckpointMeta.from_dict(payload["meta"]).replace(**json.loads(json.dumps(plain)))
    return _write(Path(path), payload["state_dict"], json.loads(json.dumps(meta.to_dict())))


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


__all__ = [
    "CheckpointError",
    "LoadedModel",
    "library_versions",
    "load_checkpoint",
    "read_payload",
    "save_checkpoint",
    "update_meta",
]
