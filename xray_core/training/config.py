"""Typed configurations of training runs (classifier and lung segmenter): each field is a ``--flag`` of its command.

The resolved config is written next to the run's outputs (``config.json``) and embedded in the checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from xray_core.config import Preprocessing


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Each field is a ``--flag`` of ``python -m xray_core train``."""

    data: str = ""  # dataset root or manifest CSV (empty: $XRAY_DATA_DIR or ../shared/cxr)
    out: str = "runs/latest"  # run folder: config.json, metrics.jsonl, last.pt, best.pt
    arch: str = "resnet18"  # resnet18 | resnet34 | resnet50
    image_size: int = 160  # input side in pixels
    in_channels: int = 1  # 1 = grayscale input stem
    epochs: int = 10
    samples_per_epoch: int = 0  # class-balanced draws per epoch; 0 = size of the train split
    batch_size: int = 64
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 2e-3  # peak learning rate of the one-cycle schedule
    weight_decay: float = 0.05  # decoupled (AdamW) weight decay
    schedule: str = "onecycle"  # onecycle | cosine
    warmup_fraction: float = 0.15  # share of steps spent warming up (one-cycle)
    label_smoothing: float = 0.05
    balance: str = "groups"  # groups (age group x label cells drawn equally) | sources (groups, and within each
    # cell its source families equally: NIH normals as often as NIH pneumonias) | classes (label only) | none
    min_cell: int = 50  # cells smaller than this are drawn in proportion to size/min_cell (no huge replays)
    ema: float = 0.998  # per-step decay of the weight average that is validated and shipped; 0 = off
    external: str = "auto"  # external validation manifest for selection ('auto': <data>/external if present; '' off)
    external_adult: str = "auto"  # adult external manifest for selection ('auto': <data>/external_adult; '' off)
    augment: float = 1.0  # augmentation strength: 0 = none, 1 = default ranges
    hflip: bool = False  # off: the heart sits on the left; flipping teaches an impossible anatomy
    processing: float = 0.0  # strength of blur/sharpening, resampling and noise (a site's processing); 0 = off
    crop: str = "none"  # none (whole film) | lungs (the lung segmenter's bounding box; same at predict time)
    crop_margin: float = 0.08  # lungs: share of the box's height/width added on each side
    mask: str = "none"  # none | lungs (needs --crop lungs: outside the grown lung mask the input is blank)
    mask_dilation: float = 0.04  # lungs mask: grown by this share of the input's side
    lung_attention: float = 0.0  # weight of the HiResCAM-outside-the-lungs penalty (needs --crop lungs); 0 = off
    attention_layer: str = "layer3"  # the stage whose HiResCAM the penalty holds to the lungs (the shipped map's)
    patience: int = 4  # early stopping: epochs without improvement of the selection score (see training.select)
    seed: int = 0
    workers: int = 0  # DataLoader workers (images are decoded once into memory, so 0 is usually fastest)
    threads: int = 0  # torch intra-op threads; 0 = all cores
    init: str = ""  # '' (scratch), a weights/checkpoint path, or 'imagenet' (local torch cache only)
    freeze: int = 0  # freeze this many early stages (0-4) when fine-tuning
    limit: int = 0  # debug: cap the number of train/val images (0 = all)
    resume: bool = False  # continue from <out>/last.pt

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def preprocessing(self) -> Preprocessing:
        """The input pipeline this run trains with; a lung crop records the segmenter that draws the boxes."""
        prep = Preprocessing(
            image_size=self.image_size,
            in_channels=self.in_channels,
            crop=self.crop,
            crop_margin=self.crop_margin,
            mask=self.mask,
            mask_dilation=self.mask_dilation,
        )
        if self.crop == "none":
            return prep
        from xray_core.inference.lungs.crop import crop_segmenter  # the segmenter is only needed for cropping runs

        return dataclasses.replace(prep, crop_segmenter=crop_segmenter(prep).sha256)


@dataclass(frozen=True)
class SegmenterConfig:
    """One segmenter training run. Each field is a ``--flag`` of ``python -m xray_core train-segmenter``."""

    data: str = ""  # corpus root holding lungs/ (and external/); '' = $XRAY_DATA_DIR or ../shared/cxr
    out: str = "runs/lung_unet"  # run folder: config.json, metrics.jsonl, last.pt, model.pt
    image_size: int = 128  # network input side (multiple of 16)
    channels: str = "12,24,48,96,96"  # U-Net widths per level, comma-separated
    epochs: int = 12
    batch_size: int = 16
    lr: float = 3e-3  # peak AdamW learning rate (linear warm-up, cosine decay)
    warmup_fraction: float = 0.05  # share of steps spent warming up
    weight_decay: float = 1e-4
    augment: float = 1.0  # 0 = none; 1 = rotation ±10°, scale 0.9-1.1, shift ±6 %, gamma 0.7-1.4
    threshold: float = 0.5  # on the probability, stored in the checkpoint
    external: bool = True  # measure (never select on) <data>/external at the end
    seed: int = 0
    threads: int = 1  # torch intra-op threads
    limit: int = 0  # debug: cap the number of train and val pairs (0 = all)
    resume: bool = False  # continue from <out>/last.pt

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def widths(self) -> tuple[int, ...]:
        try:
            widths = tuple(int(c) for c in self.channels.split(",") if c.strip())
        except ValueError as error:
            raise ValueError(f"channels must be comma-separated integers, got {self.channels!r}") from error
        if len(widths) < 2:
            raise ValueError(f"channels needs at least two widths, got {self.channels!r}")
        return widths

    def preprocessing(self) -> Preprocessing:
        divisor = 2 ** (len(self.widths()) - 1)
        if self.image_size % divisor:
            raise ValueError(f"image_size {self.image_size} must be a multiple of {divisor} for {self.channels}")
        return Preprocessing(image_size=self.image_size)
