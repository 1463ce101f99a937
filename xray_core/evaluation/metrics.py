"""Pure metric functions over (y_true, y_prob). Everything comes from scikit-learn.

Undefined values (a class absent from the labels, say) are ``None``, never
zero and never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from xray_core.config import label_members
from xray_core.inference.calibration import calibration


def safe_auc(y_binary: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC, or None when only one class is present."""
    y_binary = np.asarray(y_binary)
    if y_binary.size == 0 or np.unique(y_binary).size < 2:
        return None
    return float(roc_auc_score(y_binary, score))


def macro_auc(y_true: np.ndarray, y_prob: np.ndarray) -> float | None:
    """Mean one-vs-rest AUC over the classes present in ``y_true`` (None if fewer than two)."""
    aucs = [safe_auc(np.asarray(y_true) == k, y_prob[:, k]) for k in range(y_prob.shape[1])]
    aucs = [a for a in aucs if a is not None]
    return float(np.mean(aucs)) if aucs else None


def per_class(y_true: np.ndarray, y_pred: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str]) -> dict:
    """Sensitivity, specificity, PPV, NPV, F1 and one-vs-rest AUC for each class."""
    out: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(class_names):
        truth, called = np.asarray(y_true) == k, np.asarray(y_pred) == k
        out[name] = {
            "support": int(truth.sum()),
            "sensitivity": _ratio_metric(recall_score, truth, called),
            "specificity": _ratio_metric(recall_score, ~truth, ~called),
            "ppv": _ratio_metric(precision_score, truth, called, denominator=called),
            "npv": _ratio_metric(precision_score, ~truth, ~called, denominator=~called),
            "f1": float(f1_score(truth, called, zero_division=np.nan)) if truth.any() or called.any() else None,
            "auc": safe_auc(truth, y_prob[:, k]),
        }
    return out


def _ratio_metric(fn, truth: np.ndarray, called: np.ndarray, denominator: np.ndarray | None = None) -> float | None:
    denominator = truth if denominator is None else denominator
    if not np.asarray(denominator).any():
        return None
    return float(fn(truth, called, zero_division=np.nan))


def sensitivity_at_specificity(y_binary: np.ndarray, score: np.ndarray, specificity: float = 0.95) -> float | None:
    """Highest sensitivity over ROC operating points whose specificity is at least ``specificity``."""
    if safe_auc(y_binary, score) is None:
        return None
    fpr, tpr, _ = roc_curve(y_binary, score)
    allowed = fpr <= 1 - specificity + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def summary(y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro AUC, per-class metrics, confusion matrix, calibration and the clinical groupings.

    ``y_true`` indexes :data:`~xray_core.config.LABELS`: values ``>= len(class_names)`` are partial labels
    (``pneumonia``). They count in the clinical groupings (pneumonia vs normal, COVID-19 vs rest) and
    nowhere else: a film of unknown type is never scored as a miss for choosing bacterial over viral.
    """
    y_all = np.asarray(y_true)
    full = y_all < len(class_names)
    y_true, y_prob_full = y_all[full], y_prob[full]
    y_pred = y_prob_full.argmax(axis=1)
    return {
        "n": int(y_all.size),
        "n_partial": int((~full).sum()),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true.size else None,
        "macro_auc": macro_auc(y_true, y_prob_full),
        "per_class": per_class(y_true, y_pred, y_prob_full, class_names),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=list(range(len(class_names)))).tolist(),
        "calibration": calibration(y_true, y_prob_full) if y_true.size else None,
        "clinical": clinical_groupings(y_all, y_prob, class_names),
    }


def label_recall(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
    """Per row: 1.0 when the top class is one the label allows (a partial label allows all its members)."""
    allowed = label_members()[np.asarray(y_true)]
    return allowed[np.arange(len(allowed)), np.asarray(y_prob).argmax(axis=1)].astype(float)


def cell_recalls(
    y_true: np.ndarray, y_prob: np.ndarray, groups: Sequence[str], labels: Sequence[str], min_count: int = 1
) -> dict[str, dict[str, Any]]:
    """Recall at the top class per ``group/label`` cell with at least ``min_count`` films."""
    hits = label_recall(y_true, y_prob)
    names = np.asarray([f"{g or 'unknown'}/{labels[t]}" for g, t in zip(groups, np.asarray(y_true))])
    out = {}
    for name in sorted(set(names)):
        members = names == name
        if members.sum() >= min_count:
            out[str(name)] = {"n": int(members.sum()), "recall": float(hits[members].mean())}
    return out


def clinical_groupings(y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Pneumonia vs normal, bacterial vs viral among pneumonias, COVID vs rest (with sensitivity at 95 % spec.).

    Partial ``pneumonia`` labels (index ``len(class_names)``) count as pneumonia and as not-COVID.
    """
    k = {name: i for i, name in enumerate(class_names)}
    y_true = np.asarray(y_true)
    partial = len(class_names)  # LABELS index of 'pneumonia': bacterial or viral, type unknown
    out: dict[str, Any] = {}
    pneumonia_or_normal = np.isin(y_true, [k["bacterial"], k["viral"], k["normal"], partial])
    pneumonia_score = y_prob[:, k["bacterial"]] + y_prob[:, k["viral"]]
    out["pneumonia_vs_normal_auc"] = safe_auc(
        y_true[pneumonia_or_normal] != k["normal"], pneumonia_score[pneumonia_or_normal]
    )
    # At the shipped operating point (the top class): any call other than normal counts as "not normal".
    called_abnormal = y_prob.argmax(axis=1) != k["normal"]
    truly_abnormal = y_true != k["normal"]
    out["pneumonia_vs_normal_accuracy"] = (
        float(np.mean((called_abnormal == truly_abnormal)[pneumonia_or_normal])) if pneumonia_or_normal.any() else None
    )
    pneumonias = np.isin(y_true, [k["bacterial"], k["viral"]])
    bacterial_share = y_prob[:, k["bacterial"]] / np.maximum(pneumonia_score, 1e-12)
    out["bacterial_vs_viral_auc"] = safe_auc(y_true[pneumonias] == k["bacterial"], bacterial_share[pneumonias])
    is_covid = y_true == k["covid"]
    out["covid_vs_rest_auc"] = safe_auc(is_covid, y_prob[:, k["covid"]])
    out["covid_sensitivity_at_95_specificity"] = sensitivity_at_specificity(is_covid, y_prob[:, k["covid"]], 0.95)
    return out


def roc_points(y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str]) -> dict[str, dict | None]:
    """One-vs-rest ROC curve per class: ``{class: {"fpr", "tpr", "auc"}}``, None when the class is absent or alone.

    ``y_true`` (N,) indexes :data:`~xray_core.config.LABELS` as in :func:`summary`: partial labels (values
    ``>= len(class_names)``) are left out, as in the per-class figures. ``y_prob``: (N, K) calibrated.
    Points are rounded to 5 decimals: what a report stores and a chart draws, not what the AUC is computed from.
    """
    y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, dtype=float)
    full = y_true < len(class_names)
    y_true, y_prob = y_true[full], y_prob[full]
    curves: dict[str, dict | None] = {}
    for index, name in enumerate(class_names):
        truth = y_true == index
        if truth.all() or not truth.any():
            curves[name] = None
            continue
        fpr, tpr, _ = roc_curve(truth, y_prob[:, index])
        curves[name] = {
            "fpr": fpr.round(5).tolist(),
            "tpr": tpr.round(5).tolist(),
            "auc": float(roc_auc_score(truth, y_prob[:, index])),
        }
    return curves
