"""Risk-coverage curves and the 'uncertain - refer' operating point on the top probability.

Selective classification (Geifman & El-Yaniv, 2017): keep the films whose top calibrated probability is at least
a threshold, refer the rest. Coverage is the share kept; risk is the error rate among the films kept. A film is
correct when its top class is one its label allows (a partial ``pneumonia`` label allows bacterial and viral).
The threshold is chosen on validation and external films, never on the test split, as the lowest on a fixed grid
that keeps at least the target accuracy on the films kept in every set. All functions are pure.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from xray_core.evaluation.metrics import label_recall
from xray_core.models.records import UncertainThreshold

GRID = np.round(np.arange(0.25, 1.0, 0.01), 2)  # candidate thresholds: 4 classes put the top probability >= 0.25
TARGET_ACCURACY = 0.95
MIN_KEPT = 20  # a threshold that keeps fewer films in a set has too few to show the target accuracy
CURVE_POINTS = 100  # coverage 1 %, 2 %, ..., 100 %


class Scored(NamedTuple):
    correct: np.ndarray  # (N,) bool: top class allowed by the label
    confidence: np.ndarray  # (N,) top calibrated probability


def scored(y_true: np.ndarray, y_prob: np.ndarray) -> Scored:
    """``y_true`` indexes :data:`~xray_core.config.LABELS`; ``y_prob`` (N, K) calibrated probabilities."""
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if len(y_prob) == 0:
        return Scored(np.zeros(0, bool), np.zeros(0))
    return Scored(label_recall(y_true, y_prob) > 0, y_prob.max(axis=1))


def kept(films: Scored, threshold: float) -> dict[str, Any]:
    """Coverage, accuracy and count of the films whose top probability is at least ``threshold``."""
    keep = films.confidence >= threshold
    n = int(keep.sum())
    return {
        "n_kept": n,
        "coverage": float(keep.mean()) if len(keep) else None,
        "accuracy": float(films.correct[keep].mean()) if n else None,
    }


def curve(films: Scored, points: int = CURVE_POINTS) -> dict[str, Any]:
    """Risk at coverage 1/points ... 1 (most confident films first), the threshold there, and the area (AURC)."""
    if len(films.correct) == 0:
        return {"coverage": [], "risk": [], "threshold": [], "aurc": None}
    order = np.argsort(-films.confidence, kind="stable")
    errors = np.cumsum(~films.correct[order])
    n = len(order)
    risk_all = errors / np.arange(1, n + 1)
    counts = np.unique(np.clip(np.ceil(np.linspace(1 / points, 1, points) * n).astype(int), 1, n))
    return {
        "coverage": [round(float(k / n), 4) for k in counts],
        "risk": [round(float(risk_all[k - 1]), 4) for k in counts],
        "threshold": [round(float(films.confidence[order][k - 1]), 4) for k in counts],
        "aurc": float(risk_all.mean()),
    }


def choose_threshold(
    sets: dict[str, Scored], target: float = TARGET_ACCURACY, grid: np.ndarray = GRID, min_kept: int = MIN_KEPT
) -> dict[str, Any]:
    """The lowest grid threshold at which every set keeps >= ``min_kept`` films at accuracy >= ``target``.

    Returns the record stored in the checkpoint's ``operating_point['uncertain']``: the threshold (None when no
    grid value qualifies), the rule, and each set's coverage and accuracy there.
    """
    chosen = _lowest(list(sets.values()), target, grid, min_kept)
    return {
        "threshold": chosen,
        "target_accuracy": target,
        "min_kept": min_kept,
        "fitted_on": "+".join(sets),
        "rule": "lowest top-probability threshold (0.01 grid) keeping the target accuracy on the films kept "
        "in every set",
        "each_set_alone": {name: _lowest([f], target, grid, min_kept) for name, f in sets.items()},
        "sets": {name: {"n": int(len(f.correct)), **kept(f, chosen)} for name, f in sets.items()}
        if chosen is not None
        else {},
    }


def _lowest(sets: list[Scored], target: float, grid: np.ndarray, min_kept: int) -> float | None:
    for threshold in grid:
        figures = [kept(films, float(threshold)) for films in sets]
        if all(f["n_kept"] >= min_kept and f["accuracy"] >= target for f in figures):
            return float(threshold)
    return None


def choose_thresholds_by_age(
    sets: dict[str, Scored],
    ages: dict[str, np.ndarray],
    target: float = TARGET_ACCURACY,
    grid: np.ndarray = GRID,
    min_kept: int = MIN_KEPT,
) -> dict[str, Any]:
    """One threshold per estimated age group (``ages[set]``: (N,) group names from the age probe).

    For each group, the lowest grid value at which, in every set, the films of that group kept are at least
    ``target`` accurate (a set keeping none of them passes) and the sets together keep ``min_kept`` of them. A
    group no grid value serves gets 1.0: every film of it is referred, and ``reached`` says so. ``threshold``
    (the highest of them) is for films without an age estimate.
    """
    groups = sorted({str(g) for values in ages.values() for g in values if g})
    by_age, reached = {}, {}
    for group in groups:
        cells = [_subset(films, ages[name] == group) for name, films in sets.items()]
        chosen = _lowest_by_cell(cells, target, grid, min_kept)
        by_age[group], reached[group] = (1.0, False) if chosen is None else (chosen, True)
    return {
        "threshold": max(by_age.values()) if by_age else None,
        "by_age": by_age,
        "reached": reached,
        "target_accuracy": target,
        "min_kept": min_kept,
        "fitted_on": "+".join(sets),
        "rule": "per age group estimated by the age probe: the lowest top-probability threshold (0.01 grid) at "
        "which the films of that group kept are at least the target accuracy in every set",
        "sets": {
            name: {
                g: {"n": int((ages[name] == g).sum()), **kept(_subset(f, ages[name] == g), by_age[g])} for g in groups
            }
            for name, f in sets.items()
        },
    }


def _subset(films: Scored, rows: np.ndarray) -> Scored:
    return Scored(films.correct[rows], films.confidence[rows])


def _lowest_by_cell(cells: list[Scored], target: float, grid: np.ndarray, min_kept: int) -> float | None:
    for threshold in grid:
        figures = [kept(films, float(threshold)) for films in cells]
        enough = sum(f["n_kept"] for f in figures) >= min_kept
        if enough and all(f["accuracy"] is None or f["accuracy"] >= target for f in figures):
            return float(threshold)
    return None


def section(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    point: UncertainThreshold | None,
    kept_films: np.ndarray | None = None,
    ages: np.ndarray | None = None,
) -> dict[str, Any]:
    """One evaluated split's curve and, when the checkpoint has an uncertain threshold (``point``, its
    ``operating_point.uncertain``), the films kept: ``kept_films`` (N,) bool, neither uncertain nor refused, as
    predict flagged them (per age group when the threshold is); without it, top probability >= the threshold.
    ``ages`` (N,) age group per film adds coverage and accuracy kept per group."""
    films = scored(y_true, y_prob)
    threshold = None if point is None else point.threshold
    if point is None or threshold is None:
        return {**curve(films), "operating_point": None}
    keep = films.confidence >= threshold if kept_films is None else np.asarray(kept_films, bool)
    n_kept = int(keep.sum())
    return {
        **curve(films),
        "operating_point": {
            "threshold": float(threshold),
            "by_age": point.by_age,
            "n_kept": n_kept,
            "coverage": float(keep.mean()) if len(keep) else None,
            "accuracy": float(films.correct[keep].mean()) if n_kept else None,
            "confident_wrong": int((keep & ~films.correct).sum()),
            "per_age_group": {
                str(g): {"n": int((ages == g).sum()), **kept(_subset(films, keep & (ages == g)), 0.0)}
                | {
                    "coverage": float(keep[ages == g].mean()),
                    "confident_wrong": int((keep & ~films.correct)[ages == g].sum()),
                }
                for g in sorted(set(ages))
            }
            if ages is not None
            else {},
        },
    }


def _threshold_words(point: dict[str, Any]) -> str:
    by_age = point.get("by_age") or {}
    if by_age:
        return " / ".join(f"{group} {value:.2f}" for group, value in by_age.items())
    return f"{point['threshold']:.3f}"


def _row(name: str, point: dict[str, Any], threshold: str, aurc: float | None) -> str:
    cells = [point.get("coverage"), point.get("accuracy")]
    figures = " | ".join("n/a" if v is None else f"{v:.3f}" for v in cells)
    wrong = point.get("confident_wrong", "n/a")
    return (
        f"| {name} | {threshold} | {point.get('n', point.get('n_kept'))} | {figures} | {wrong} | "
        + ("n/a" if aurc is None else f"{aurc:.3f}")
        + " |"
    )


def markdown(report: dict[str, Any]) -> list[str]:
    """The card's section: coverage, accuracy kept, confident wrong calls and AURC per evaluated set and per age
    group ([] when the report has none)."""
    rows = []
    for name, split in report.get("splits", {}).items():
        rc = split.get("risk_coverage")
        point = (rc or {}).get("operating_point")
        if not point:
            continue
        rows.append(_row(name, {**point, "n": split.get("n_images")}, _threshold_words(point), rc.get("aurc")))
        for group, values in (point.get("per_age_group") or {}).items():
            rows.append(_row(f"{name}, {group or 'unknown'} films", values, "", None))
    if not rows:
        return []
    return [
        "## Uncertain — refer",
        "",
        "Films whose top probability is under the operating point (chosen on validation and external films, "
        "never test; per age group as the age probe estimates it, when the threshold says so) are flagged "
        "`uncertain` and should be referred. Coverage is the share of films kept (neither uncertain nor refused); "
        "accuracy and confident wrong calls are counted on those; AURC is the area under the risk-coverage curve "
        "(lower is better). Age-group rows use the films' recorded age group.",
        "",
        "| films | threshold | n | coverage | accuracy kept | confident wrong | AURC |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


__all__ = [
    "GRID",
    "MIN_KEPT",
    "TARGET_ACCURACY",
    "Scored",
    "choose_threshold",
    "choose_thresholds_by_age",
    "curve",
    "kept",
    "markdown",
    "scored",
    "section",
]
