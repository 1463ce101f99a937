"""Fit the age-group probe a checkpoint carries for the age-support warning.

The shortcut audit's linear probe (:func:`~xray_core.evaluation.shortcuts.fit_probe`) fitted on the train split's
``age_group``, scored on val, and exported as plain numbers (:class:`~xray_core.models.records.AgeProbe`) so that
predicting applies it with numpy. The test split is never read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from xray_core.evaluation.metrics import safe_auc
from xray_core.evaluation.shortcuts import features, fit_probe, probe_train_films
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.records import AgeProbe

AGE_GROUPS = ("adult", "pediatric")  # films of unknown age are left out of fitting and scoring


def fit_age_probe(x_train: np.ndarray, groups_train, x_val: np.ndarray, groups_val) -> dict[str, Any]:
    """The probe as a dict (:meth:`AgeProbe.to_dict`) plus how it was fitted and its val AUC and accuracy.

    ``x_*``: (N, D) penultimate features; ``groups_*``: age group per row ('' or other values are dropped).
    """
    y_train, y_val = np.asarray(groups_train, dtype=object), np.asarray(groups_val, dtype=object)
    train_rows, val_rows = np.isin(y_train, AGE_GROUPS), np.isin(y_val, AGE_GROUPS)
    x_train, y_train = np.asarray(x_train)[train_rows], y_train[train_rows].astype(str)
    if np.unique(y_train).size < 2:
        raise ValueError(f"the age probe needs training films of both groups {AGE_GROUPS}")
    pipeline = fit_probe(x_train, y_train)
    scaler, logistic = pipeline[0], pipeline[-1]
    probe = AgeProbe(
        classes=(str(logistic.classes_[0]), str(logistic.classes_[1])),
        mean=scaler.mean_,
        scale=scaler.scale_,
        weights=logistic.coef_[0],
        bias=float(logistic.intercept_[0]),
    )
    x_val, y_val = np.asarray(x_val)[val_rows], y_val[val_rows].astype(str)
    positive = probe.positive_probability(x_val) if len(x_val) else np.zeros(0)
    truth = y_val == probe.classes[1]
    return {
        **probe.to_dict(),
        "rule": "standardise, then logistic regression (C = 0.1) on the penultimate features",
        "n_train": {group: int((y_train == group).sum()) for group in probe.classes},
        "n_val": {group: int((y_val == group).sum()) for group in probe.classes},
        "val_auc": safe_auc(truth, positive),
        "val_accuracy": float(np.mean((positive >= 0.5) == truth)) if len(truth) else None,
    }


def fit_on_dataset(loaded: LoadedModel, table: pd.DataFrame, n_train: int = 3000, seed: int = 0) -> dict[str, Any]:
    """:func:`fit_age_probe` on ``n_train`` train-split films (the audit's draw) and every val film of ``table``."""
    train = probe_train_films(table, n_train, seed)
    val = table[table["split"] == "val"]
    record = fit_age_probe(
        features(loaded, train), train["age_group"].fillna(""), features(loaded, val), val["age_group"].fillna("")
    )
    return {**record, "fitted_on": "train", "scored_on": "val", "seed": seed}


__all__ = ["AGE_GROUPS", "fit_age_probe", "fit_on_dataset"]
