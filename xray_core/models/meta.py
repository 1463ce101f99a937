"""Typed checkpoint metadata: everything a prediction depends on, read once, never guessed.

Like torchvision's ``Weights`` and timm's ``PretrainedCfg``: the checkpoint says which network, which
preprocessing, which temperature and which refusal statistics; the app reads them from here.
``to_dict``/``from_dict`` round-trip through plain JSON, so the file loads with ``torch.load(weights_only=True)``
and the whole dict is covered by the checkpoint's SHA-256.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.config import CLASS_NAMES, Preprocessing
from xray_core.models.records import AgeProbe, InputStats, OperatingPoint


@dataclass(frozen=True, eq=False)
class OodStats:
    """The OOD statistics (``CheckpointMeta.ood``) as float64 arrays, with the products every score reuses.

    The metadata holds them as JSON lists; turning the 512 x 512 precision list into an array took about 18 ms per
    batch, so it happens once per loaded checkpoint (:attr:`CheckpointMeta.ood_stats`), never per prediction.
    Same float64 values and the same products as computing them per call, so the same scores.
    """

    means: np.ndarray  # (K, D) class centres of the penultimate features
    precision: np.ndarray  # (D, D) shared shrunk precision matrix
    precision_means: np.ndarray  # (D, K) precision @ means.T
    centre: np.ndarray  # (K,) m' P m of each class centre
    threshold: float | None  # refusal threshold on the score; None while it is being fitted

    @classmethod
    def from_dict(cls, stats: dict[str, Any]) -> OodStats:
        means = np.asarray(stats["means"], dtype=np.float64)
        precision = np.asarray(stats["precision"], dtype=np.float64)
        threshold = stats.get("threshold")
        return cls(
            means=means,
            precision=precision,
            precision_means=precision @ means.T,
            centre=np.sum((means @ precision) * means, axis=1),
            threshold=None if threshold is None else float(threshold),
        )


@dataclass(frozen=True)
class CheckpointMeta:
    """What a classifier checkpoint knows about itself. Free-form reports stay plain dicts."""

    arch: str  # torchvision ResNet name, e.g. resnet18
    preprocessing: Preprocessing
    class_names: tuple[str, ...] = CLASS_NAMES  # output-unit order
    version: str = "unversioned"  # one per trained model: date-arch-size-epoch
    trained: bool = False  # False: an untrained placeholder (tests, demos)
    temperature: float = 1.0  # softmax(logits / T)
    calibration: dict[str, Any] = field(default_factory=dict)  # how T was chosen, ECE before/after per set
    ood: dict[str, Any] | None = None  # feature-space Mahalanobis statistics and threshold
    input_stats: InputStats | None = None  # image-level statistics and threshold (input_checks.fit)
    operating_point: OperatingPoint | None = None  # normal-logit offsets; 'uncertain' threshold; how chosen
    age_probe: AgeProbe | None = None  # pediatric/adult linear probe on the penultimate features
    metrics: dict[str, Any] = field(default_factory=dict)  # figures measured at training time (val, external)
    train_config: dict[str, Any] = field(default_factory=dict)  # the resolved TrainConfig
    training: dict[str, Any] = field(default_factory=dict)  # history, epoch kept, wall time
    data_summary: dict[str, Any] = field(default_factory=dict)  # counts per label, split, source, age group
    libraries: dict[str, str] = field(default_factory=dict)  # versions that wrote the file
    extra: dict[str, Any] = field(default_factory=dict)  # anything else (train command, notes)

    def __post_init__(self) -> None:
        """Parse the fitted records once: each may be given as the plain dict the file holds."""
        for name, record in _RECORDS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, record.from_dict(value) if value else None)

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["preprocessing"] = self.preprocessing.to_dict()
        values["class_names"] = list(self.class_names)
        for name in _RECORDS:
            values[name] = None if values[name] is None else values[name].to_dict()
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CheckpointMeta:
        """Read current and format-1 metadata (where the temperature sat inside ``calibration``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        if "arch" not in values or "preprocessing" not in values:
            raise ValueError("checkpoint metadata needs 'arch' and 'preprocessing'")
        kwargs = {k: v for k, v in values.items() if k in known}
        kwargs["preprocessing"] = Preprocessing.from_dict(values["preprocessing"])
        kwargs["class_names"] = tuple(values.get("class_names", CLASS_NAMES))
        if "temperature" not in values:
            kwargs["temperature"] = float((values.get("calibration") or {}).get("temperature", 1.0))
        kwargs["extra"] = {**values.get("extra", {}), **{k: v for k, v in values.items() if k not in known}}
        return cls(**kwargs)

    def replace(self, **changes: Any) -> CheckpointMeta:
        """A copy with ``changes``; a record may be given typed or as its plain dict."""
        return dataclasses.replace(self, **changes)

    @cached_property
    def ood_stats(self) -> OodStats | None:
        """:attr:`ood` as arrays, converted on first use and kept with this (immutable) metadata; None without."""
        return OodStats.from_dict(self.ood) if self.ood else None

    def identity(self, sha256: str, path: str | Path) -> dict[str, Any]:
        """The one description of which model answered (shown, logged, written into every report), for any engine."""
        return {
            "version": self.version,
            "arch": self.arch,
            "sha256": sha256,
            "trained": self.trained,
            "image_size": self.preprocessing.image_size,
            "temperature": self.temperature,
            "checkpoint": Path(path).name,
        }


_RECORDS: dict[str, Any] = {"input_stats": InputStats, "operating_point": OperatingPoint, "age_probe": AgeProbe}

__all__ = ["CheckpointMeta", "OodStats"]
