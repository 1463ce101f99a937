"""A compact U-Net for lung segmentation and its self-describing checkpoint.

Network. Ronneberger et al. (MICCAI 2015) with batch norm and bilinear upsampling instead of transposed
convolutions (no checkerboard artefacts, fewer weights). Input (N, 1, S, S) normalised like the classifier
(``(x - mean) / std``); output (N, 1, S, S) logits of "lung". S must be divisible by ``2 ** (len(channels) - 1)``.
The default widths (12, 24, 48, 96, 96) give about 0.69 M parameters (≈ 2.8 MB as float32): enough for two
smooth organ outlines at 128 px, and small enough to train on one CPU thread in minutes (the 1.2 M-parameter
(16, ..., 128) variant takes 1.7x longer per training step on one thread, so fewer epochs fit in the budget).

Checkpoint. One ``torch.save`` dict of plain data, loadable with ``torch.load(weights_only=True)``::

    {"format": "xray-core-segmenter", "format_version": 1, "kind": "lung-segmenter",
     "meta": {...SegmenterMeta...}, "state_dict": {...}, "sha256": "<hex>"}

The SHA-256 covers the weights *and* the metadata (the threshold and preprocessing change every mask), and is
recomputed at load: a corrupted or altered file is refused. It is the classifier's signed-file format
(:mod:`xray_core.models.signed`) under another header on purpose: neither loader can mistake one for the other.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from xray_core.config import Preprocessing
from xray_core.models.checkpoint import library_versions
from xray_core.models.signed import payload_sha256, read_signed, write_signed

FORMAT_NAME = "xray-core-segmenter"
FORMAT_VERSION = 1
KIND = "lung-segmenter"
HEADER = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kind": KIND}
DEFAULT_CHANNELS: tuple[int, ...] = (12, 24, 48, 96, 96)  # widths per level; the last is the bottleneck


class SegmenterError(ValueError):
    """A segmenter checkpoint is missing, corrupt, altered or not a lung segmenter."""


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net: ``len(channels) - 1`` poolings, skip connections by concatenation, one output logit per pixel."""

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = DEFAULT_CHANNELS) -> None:
        super().__init__()
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels needs at least two positive widths, got {channels}")
        self.channels = tuple(int(c) for c in channels)
        widths = (in_channels, *self.channels)
        self.down = nn.ModuleList(_double_conv(widths[i], widths[i + 1]) for i in range(len(self.channels)))
        skips = self.channels[:-1]
        deeper = [self.channels[-1], *skips[:0:-1]]  # width arriving from below at each decoder level
        self.up = nn.ModuleList(_double_conv(d + s, s) for d, s in zip(deeper, reversed(skips)))
        self.head = nn.Conv2d(self.channels[0], 1, kernel_size=1)

    @property
    def divisor(self) -> int:
        """Input sides must be multiples of this (one halving per pooling)."""
        return 2 ** (len(self.channels) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[-1] % self.divisor or x.shape[-2] % self.divisor:
            raise ValueError(f"expected (N, C, H, W) with H and W multiples of {self.divisor}, got {tuple(x.shape)}")
        skips = []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()  # the bottleneck output is x itself
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class SegmenterMeta:
    """What a lung-segmenter checkpoint knows about itself (plain JSON through ``to_dict``/``from_dict``)."""

    preprocessing: Preprocessing  # input size (squash), normalisation, interpolation
    channels: tuple[int, ...] = DEFAULT_CHANNELS
    arch: str = "unet"
    kind: str = KIND
    threshold: float = 0.5  # on the sigmoid probability, after resizing it to the film's own size
    postprocess: dict[str, Any] = field(default_factory=lambda: {"components": 2, "fill_holes": True})
    version: str = "unversioned"
    trained: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)  # lungs-val (selection) and external figures
    train_config: dict[str, Any] = field(default_factory=dict)  # the resolved SegmenterConfig
    training: dict[str, Any] = field(default_factory=dict)  # history, epoch kept, wall time
    data_summary: dict[str, Any] = field(default_factory=dict)  # pairs per split and age group
    libraries: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update(preprocessing=self.preprocessing.to_dict(), channels=list(self.channels))
        return json.loads(json.dumps(values))  # proves it is plain data

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SegmenterMeta:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        kwargs["preprocessing"] = Preprocessing.from_dict(values["preprocessing"])
        kwargs["channels"] = tuple(int(c) for c in values.get("channels", DEFAULT_CHANNELS))
        return cls(**kwargs)

    def replace(self, **changes: Any) -> SegmenterMeta:
        return dataclasses.replace(self, **changes)


@dataclass(eq=False)
class LoadedSegmenter:
    """A U-Net in eval mode plus its verified metadata."""

    model: UNet
    meta: SegmenterMeta
    sha256: str
    path: str = ""

    @property
    def preprocessing(self) -> Preprocessing:
        return self.meta.preprocessing

    @property
    def threshold(self) -> float:
        return self.meta.threshold

    def identity(self) -> dict[str, Any]:
        """Which segmenter answered: written into every report that uses its masks."""
        return {
            "kind": self.meta.kind,
            "version": self.meta.version,
            "sha256": self.sha256,
            "trained": self.meta.trained,
            "image_size": self.preprocessing.image_size,
            "checkpoint": Path(self.path).name,
        }


segmenter_sha256 = payload_sha256  # the weights' hash and the canonical JSON of the metadata


def save_segmenter(path: str | Path, model: nn.Module, meta: SegmenterMeta) -> str:
    """Write a release checkpoint (no optimizer state) atomically; returns its SHA-256."""
    values = meta.replace(libraries=library_versions()).to_dict()
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return write_signed(path, HEADER, state, values)


def read_segmenter(path: str | Path, pinned: bool = True) -> LoadedSegmenter:
    """Load, verify (pinned hash in ``weights/``, format, kind, SHA-256) and build the U-Net in eval mode;
    :class:`SegmenterError` otherwise (``pinned`` False: no ``SHA256SUMS`` check)."""
    path = Path(path)
    payload = read_signed(
        path,
        HEADER,
        SegmenterError,
        missing=f"lung segmenter not found: {path}. Train one with 'python -m xray_core "
        "train-segmenter --out DIR' or set XRAY_SEGMENTER to an existing file.",
        foreign=f"not a lung-segmenter checkpoint (expected format '{FORMAT_NAME}', kind '{KIND}'); "
        "the classifier's checkpoint is a different file",
        pinned=pinned,
    )
    meta = SegmenterMeta.from_dict(payload["meta"])
    model = UNet(meta.preprocessing.in_channels, meta.channels)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise SegmenterError(f"{path.name}: weights do not fit a U-Net with channels {meta.channels}") from error
    return LoadedSegmenter(model.eval(), meta, payload["sha256"], str(path))


__all__ = [
    "DEFAULT_CHANNELS",
    "KIND",
    "LoadedSegmenter",
    "SegmenterError",
    "SegmenterMeta",
    "UNet",
    "count_parameters",
    "read_segmenter",
    "save_segmenter",
    "segmenter_sha256",
]
