"""Risk-coverage curves and the 'uncertain - refer' operating point on the top probability (issue 13).

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


def section(y_true: np.ndarray, y_prob: np.ndarray, threshold: float | None) -> dict[str, Any]:
    """One evaluated split's curve, plus coverage and accuracy at the checkpoint's threshold (if it has one)."""
    films = scored(y_true, y_prob)
    return {
        **curve(films),
        "operating_point": None if threshold is None else {"threshold": threshold, **kept(films, threshold)},
    }


def markdown(report: dict[str, Any]) -> list[str]:
    """The card's section: coverage, accuracy kept and AURC per evaluated set ([] when the report has none)."""
    rows = []
    for name, split in report.get("splits", {}).items():
        rc = split.get("risk_coverage")
        if not rc:
            continue
        point = rc.get("operating_point") or {}
        cells = [point.get("threshold"), point.get("coverage"), point.get("accuracy"), rc.get("aurc")]
        rows.append(f"| {name} | " + " | ".join("n/a" if v is None else f"{v:.3f}" for v in cells) + " |")
    if not rows:
        return []
    return [
        "## Uncertain — refer",
        "",
        "Films whose top probability is under the operating point (chosen on validation and external films, "
        "never test) are flagged `uncertain` and should be referred. Coverage is the share of films kept; "
        "accuracy is measured on those; AURC is the area under the risk-coverage curve (lower is better).",
        "",
        "| films | threshold | coverage | accuracy kept | AURC |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


__all__ = [
    "GRID",
    "MIN_KEPT",
    "TARGET_ACCURACY",
    "Scored",
    "choose_threshold",
    "curve",
    "kept",
    "markdown",
    "scored",
    "section",
]
