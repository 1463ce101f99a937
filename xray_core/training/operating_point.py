"""The shipped operating point: an offset on the normal logit and a temperature, chosen on val and external sets.

Class-balanced training leaves the decision boundary where the training mix put it; on films from elsewhere
(Kermany's own test films) the model called half of the healthy children pneumonia. One scalar added to the
normal logit moves that boundary; it is chosen to maximise the worst recall over age group x label cells of the
validation split and the external sets, pediatric and adult (never the test split), then folded into the final
layer's bias so every path that reads logits (predict, Grad-CAM, faithfulness, OOD) sees the same model. The
temperature is fitted afterwards, against the largest ECE of the sets.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from torch import nn

from xray_core.config import CLASS_NAMES, LABELS
from xray_core.evaluation import metrics
from xray_core.inference.calibration import apply_temperature, fit_temperature_worst_ece
from xray_core.models.age_offsets import attach_age_offsets
from xray_core.models.records import AgeProbe

OFFSETS = np.round(np.linspace(-3.0, 3.0, 121), 3)  # candidate normal-logit offsets (0.05 steps)
MIN_CELL = 20  # cells with fewer films are too noisy to steer the choice


class LogitSet(NamedTuple):
    logits: np.ndarray  # (N, K) raw logits
    labels: np.ndarray  # (N,) indices into LABELS
    groups: list[str]  # age group per film
    pediatric: np.ndarray | None = None  # (N,) the age probe's P(pediatric), for per-age-group offsets


def _worst(sets: dict[str, LogitSet], offset: float | tuple[float, float]) -> tuple[float, float, str]:
    """(worst cell recall, mean cell recall, worst cell name) with ``offset`` added to the normal logit.

    ``offset``: one scalar, or (adult, pediatric) blended by each film's P(pediatric) as the network's head does.
    """
    recalls = {}
    for name, data in sets.items():
        shifted = data.logits + _normal_shift(offset, data.pediatric)
        for cell, value in metrics.cell_recalls(data.labels, shifted, data.groups, LABELS, MIN_CELL).items():
            recalls[f"{name}:{cell}"] = value["recall"]
    if not recalls:
        return 1.0, 1.0, ""
    worst = min(recalls, key=recalls.get)
    return recalls[worst], float(np.mean(list(recalls.values()))), worst


def choose_normal_offset(sets: dict[str, LogitSet]) -> tuple[float, dict[str, Any]]:
    """The offset maximising the worst cell recall (ties: the higher mean recall, then the smaller offset).

    Without any cell of ``MIN_CELL`` films (tiny datasets) every offset ties and 0 is kept.
    """
    scored = [(*_worst(sets, float(o))[:2], -abs(float(o)), float(o)) for o in OFFSETS]
    best = max(scored)[3]
    before, after = _worst(sets, 0.0), _worst(sets, best)
    return best, {
        "normal_logit_offset": best,
        "fitted_on": "+".join(sets),
        "min_cell": MIN_CELL,
        "rule": "maximise the worst age group x label recall",
        "worst_before": {"cell": before[2], "recall": before[0]},
        "worst_after": {"cell": after[2], "recall": after[0]},
    }


def calibrate(sets: dict[str, LogitSet]) -> tuple[float, dict[str, Any]]:
    """Temperature against the larger ECE of the sets, with ECE/NLL before and after for each."""
    temperature = fit_temperature_worst_ece([(s.logits, s.labels) for s in sets.values()], n_classes=len(CLASS_NAMES))
    report: dict[str, Any] = {
        "temperature": temperature,
        "fitted_on": "+".join(sets),
        "rule": "minimise the larger ECE of the sets it was fitted on",
    }
    for name, data in sets.items():
        for when, t in (("before", 1.0), ("after", temperature)):
            result = metrics.summary(data.labels, apply_temperature(data.logits, t), CLASS_NAMES)
            report[f"{name}_{when}"] = {k: result["calibration"][k] for k in ("ece", "nll")}
    return temperature, report


def apply(model: nn.Module, sets: dict[str, LogitSet]) -> tuple[dict[str, LogitSet], dict[str, Any]]:
    """Choose the offset, fold it into ``model.fc.bias`` (in place) and return the shifted sets and the record."""
    offset, record = choose_normal_offset(sets)
    model.fc.bias.data[CLASS_NAMES.index("normal")] += offset
    return {name: s._replace(logits=s.logits + _normal_shift(offset)) for name, s in sets.items()}, record


def _normal_shift(offset: float | tuple[float, float], pediatric: np.ndarray | None = None) -> np.ndarray:
    """(K,) or (N, K) addition to the logits: a scalar offset, or the age-blended one of ``AgeOffsetLinear``."""
    onehot = np.eye(len(CLASS_NAMES))[CLASS_NAMES.index("normal")]
    if isinstance(offset, tuple):
        adult, pediatric_offset = offset
        return (adult + (pediatric_offset - adult) * np.asarray(pediatric, np.float64))[:, None] * onehot
    return onehot * offset


def choose_age_offsets(sets: dict[str, LogitSet]) -> tuple[tuple[float, float], dict[str, Any]]:
    """(adult, pediatric) offsets maximising the worst cell recall, by the same rule as the single offset.

    Every set needs ``pediatric`` (the age probe's output). A coarse grid first (0.2 steps), then 0.05 steps
    around its best: the joint grid at 0.05 would cost 14,641 evaluations.
    """
    if any(s.pediatric is None for s in sets.values()):
        raise ValueError("per-age-group offsets need each film's P(pediatric) from the checkpoint's age probe")

    def best_of(adults: np.ndarray, pediatrics: np.ndarray) -> tuple[float, float]:
        scored = [
            (*_worst(sets, (float(a), float(p)))[:2], -abs(float(a)) - abs(float(p)), float(a), float(p))
            for a in adults
            for p in pediatrics
        ]
        best = max(scored)
        return best[3], best[4]

    coarse = OFFSETS[::4]
    a, p = best_of(coarse, coarse)
    near = np.round(np.linspace(-0.2, 0.2, 9), 3)
    a, p = best_of(np.clip(a + near, OFFSETS[0], OFFSETS[-1]), np.clip(p + near, OFFSETS[0], OFFSETS[-1]))
    before, after = _worst(sets, 0.0), _worst(sets, (a, p))
    return (a, p), {
        "age_offsets": {"adult": a, "pediatric": p},
        "fitted_on": "+".join(sets),
        "min_cell": MIN_CELL,
        "rule": "maximise the worst age group x label recall; normal logit + adult + (pediatric - adult) * "
        "P(pediatric) from the age probe",
        "worst_before": {"cell": before[2], "recall": before[0]},
        "worst_after": {"cell": after[2], "recall": after[0]},
    }


def apply_by_age(
    model: nn.Module, sets: dict[str, LogitSet], probe: AgeProbe
) -> tuple[dict[str, LogitSet], dict[str, Any]]:
    """Choose (adult, pediatric) offsets, attach them as the network's head (in place); shifted sets and record."""
    pair, record = choose_age_offsets(sets)
    attach_age_offsets(model, probe, record["age_offsets"], CLASS_NAMES.index("normal"))
    return {name: s._replace(logits=s.logits + _normal_shift(pair, s.pediatric)) for name, s in sets.items()}, record


__all__ = ["LogitSet", "apply", "apply_by_age", "calibrate", "choose_age_offsets", "choose_normal_offset"]
