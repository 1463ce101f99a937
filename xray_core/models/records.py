"""The checkpoint's fitted records as typed, frozen values: operating point, age probe, image statistics.

Each is parsed once, when its :class:`~xray_core.models.meta.CheckpointMeta` is built, from the plain JSON the file
holds, and written back by ``to_dict`` as the very dict it came from: the checkpoint's SHA-256 covers the metadata,
so a load and a save must not change a key. The numbers a prediction reads are typed fields; how a record was
fitted (rule, sets, counts) stays in ``detail``, as it came. A typed key the file holds as null or ``{}`` stays in
``detail`` too (the field is None), so it comes back as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PEDIATRIC = "pediatric"


def _split(values: Mapping[str, Any], typed: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the typed keys that hold a value, everything else as it came: a null or empty record means 'none')."""
    known = {k: v for k, v in values.items() if k in typed and v is not None and not _empty_record(v)}
    return known, {k: v for k, v in values.items() if k not in known}


def _empty_record(value: Any) -> bool:
    return isinstance(value, Mapping) and not value


def _join(detail: Mapping[str, Any], **typed: Any) -> dict[str, Any]:
    return {**detail, **{k: v for k, v in typed.items() if v is not None}}


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


class _ComparedAsStored:
    """Records holding arrays compare by their stored form: an array has no single truth value for ``==``."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class UncertainThreshold:
    """Refer a film whose top probability is under this (``fit-uncertain``), one per estimated age group or one."""

    threshold: float | None = None  # for films without an age estimate and for checkpoints fitted before by_age
    by_age: dict[str, float] | None = None  # estimated age group -> threshold (``fit-uncertain --by-age``)
    reached: dict[str, bool] | None = None  # per group: did a threshold reach the target (else 1.0, all referred)
    target_accuracy: float | None = None  # accuracy the films kept must reach on every set
    sets: dict[str, Any] | None = None  # per set (and per group) the films kept there: n, n_kept, coverage, accuracy
    detail: dict[str, Any] = field(default_factory=dict)  # how it was fitted: rule, sets fitted on, temperature

    _TYPED = ("threshold", "by_age", "reached", "target_accuracy", "sets")

    def for_group(self, group: str | None) -> float | None:
        """The threshold for a film of estimated age ``group``: the group's own, else the single one."""
        if group and self.by_age and group in self.by_age:
            return self.by_age[group]
        return self.threshold

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> UncertainThreshold:
        known, detail = _split(values, cls._TYPED)
        by_age = known.get("by_age")
        return cls(
            threshold=_float_or_none(known.get("threshold")),
            by_age=None if by_age is None else {str(g): float(v) for g, v in by_age.items()},
            reached=known.get("reached"),
            target_accuracy=_float_or_none(known.get("target_accuracy")),
            sets=known.get("sets"),
            detail=detail,
        )

    def to_dict(self) -> dict[str, Any]:
        return _join(self.detail, **{k: getattr(self, k) for k in self._TYPED})


@dataclass(frozen=True)
class OperatingPoint:
    """Where the decision boundary sits: the normal-logit offset folded into the final bias, the optional
    per-age-group offsets the network's head blends by P(pediatric), and the 'uncertain' threshold."""

    normal_logit_offset: float | None = None  # the last offset folded into the bias
    normal_logit_offset_total: float | None = None  # every offset folded into the bias so far
    age_offsets: dict[str, float] | None = None  # {"adult": a, "pediatric": p} (``operating-point --by-age``)
    uncertain: UncertainThreshold | None = None
    fitted_on: str | None = None  # the sets the offsets were chosen on, e.g. "val+external"
    worst_after: dict[str, Any] | None = None  # the worst age group x label cell at the chosen offsets
    detail: dict[str, Any] = field(default_factory=dict)  # rule, minimum cell size, the worst cell before

    _TYPED = (
        "normal_logit_offset",
        "normal_logit_offset_total",
        "age_offsets",
        "uncertain",
        "fitted_on",
        "worst_after",
    )

    @property
    def folded_offset(self) -> float:
        """Everything folded into the final bias (0 when nothing was)."""
        if self.normal_logit_offset_total is not None:
            return self.normal_logit_offset_total
        return self.normal_logit_offset or 0.0

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> OperatingPoint:
        known, detail = _split(values, cls._TYPED)
        ages, uncertain = known.get("age_offsets"), known.get("uncertain")
        return cls(
            normal_logit_offset=_float_or_none(known.get("normal_logit_offset")),
            normal_logit_offset_total=_float_or_none(known.get("normal_logit_offset_total")),
            age_offsets=None if not ages else {"adult": float(ages["adult"]), PEDIATRIC: float(ages[PEDIATRIC])},
            uncertain=None if uncertain is None else UncertainThreshold.from_dict(uncertain),
            fitted_on=known.get("fitted_on"),
            worst_after=known.get("worst_after"),
            detail=detail,
        )

    def to_dict(self) -> dict[str, Any]:
        values = {k: getattr(self, k) for k in self._TYPED}
        values["uncertain"] = None if self.uncertain is None else self.uncertain.to_dict()
        return _join(self.detail, **values)


@dataclass(frozen=True, eq=False)
class AgeProbe(_ComparedAsStored):
    """Standardise, then logistic regression: P(``classes[1]``) = sigmoid(((x - mean) / scale) . weights + bias).

    Fitted on the train split's penultimate features (``fit-age-probe``); applied with numpy, so predicting needs
    no scikit-learn.
    """

    classes: tuple[str, str]  # (negative, positive) age groups, e.g. ('adult', 'pediatric')
    mean: np.ndarray  # (D,) feature means on the training films
    scale: np.ndarray  # (D,) feature standard deviations (zeros replaced by 1)
    weights: np.ndarray  # (D,) coefficients on standardised features
    bias: float
    val_auc: float | None = None  # separation of the two groups on val films
    detail: dict[str, Any] = field(default_factory=dict)  # rule, films per group, accuracy, seed

    _TYPED = ("classes", "mean", "scale", "weights", "bias", "val_auc")

    def positive_probability(self, features: np.ndarray) -> np.ndarray:
        """(N, D) penultimate features -> (N,) float64 probability of ``classes[1]``."""
        z = ((np.asarray(features, np.float64) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))

    def pediatric_line(self) -> tuple[np.ndarray, float]:
        """(direction, intercept) with P(pediatric) = sigmoid(x . direction + intercept): the standardisation
        folded in, one dot product, as the network's age-offset head computes it. Negated when the positive
        class is adult, so it always speaks of P(pediatric)."""
        if PEDIATRIC not in self.classes:
            raise ValueError(f"the age probe must separate 'pediatric' from one other group, got {list(self.classes)}")
        weights = self.weights / self.scale
        intercept = float(self.bias) - float(self.mean @ weights)
        sign = 1.0 if self.classes[1] == PEDIATRIC else -1.0
        return sign * weights, sign * intercept

    def pediatric_probability(self, features: np.ndarray) -> np.ndarray:
        """(N,) P(pediatric) of (N, D) penultimate features: the number the head blends its offsets with."""
        direction, intercept = self.pediatric_line()
        z = np.asarray(features, np.float64) @ direction + intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AgeProbe:
        known, detail = _split(values, cls._TYPED)
        classes = tuple(values["classes"])
        if len(classes) != 2:
            raise ValueError(f"an age probe separates two groups, got {classes}")
        return cls(
            classes=(str(classes[0]), str(classes[1])),
            mean=np.asarray(values["mean"], np.float64),
            scale=np.asarray(values["scale"], np.float64),
            weights=np.asarray(values["weights"], np.float64),
            bias=float(values["bias"]),
            val_auc=_float_or_none(known.get("val_auc")),
            detail=detail,
        )

    def to_dict(self) -> dict[str, Any]:
        return _join(
            self.detail,
            classes=list(self.classes),
            mean=self.mean.tolist(),
            scale=self.scale.tolist(),
            weights=self.weights.tolist(),
            bias=float(self.bias),
            val_auc=self.val_auc,
        )


@dataclass(frozen=True, eq=False)
class InputStats(_ComparedAsStored):
    """Image-level refusal statistics: mean and precision of twelve global image statistics of train radiographs,
    and the threshold on their Mahalanobis distance (a val percentile). See ``inference.input_checks``."""

    mean: np.ndarray  # (F,) mean statistics of train radiographs
    precision: np.ndarray  # (F, F) inverse covariance
    threshold: float  # refuse above this distance
    val_score_median: float | None = None  # the typical val radiograph's distance
    detail: dict[str, Any] = field(default_factory=dict)  # statistic names, side, percentile, films fitted on

    _TYPED = ("mean", "precision", "threshold", "val_score_median")

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N,) Mahalanobis distance of (N, F) or (F,) statistics to the radiographs' (higher = less like them)."""
        delta = np.atleast_2d(features) - self.mean
        return np.sqrt(np.maximum(np.einsum("nd,de,ne->n", delta, self.precision, delta), 0.0))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> InputStats:
        known, detail = _split(values, cls._TYPED)
        return cls(
            mean=np.asarray(values["mean"], np.float64),
            precision=np.asarray(values["precision"], np.float64),
            threshold=float(values["threshold"]),
            val_score_median=_float_or_none(known.get("val_score_median")),
            detail=detail,
        )

    def to_dict(self) -> dict[str, Any]:
        return _join(
            self.detail,
            mean=self.mean.tolist(),
            precision=self.precision.tolist(),
            threshold=self.threshold,
            val_score_median=self.val_score_median,
        )


__all__ = ["PEDIATRIC", "AgeProbe", "InputStats", "OperatingPoint", "UncertainThreshold"]
