"""Shortcut audit: does the model know age and hospital, and does it fail the groups the corpus confounds?

* A linear probe on the penultimate features (fitted on train films, scored on val): an AUC near 1 for age group
  or source means the features encode them, so a class decision *could* rest on them.
* The figures on the films that break the confounding (adult NIH pneumonia against adult NIH normals, adult
  non-COVID pneumonia called COVID-19...) live in :mod:`xray_core.evaluation.groups`, with their intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from xray_core.inference.features import features_and_logits
from xray_core.models.checkpoint import LoadedModel

MIN_SOURCE_FILMS = 20  # sources with fewer val films are left out of the source probe


def features(loaded: LoadedModel, table: pd.DataFrame) -> np.ndarray:
    """(N, D) penultimate features of ``table``'s films (decoded once, cached)."""
    return features_and_logits(loaded, table)[0]


def probe_train_films(table: pd.DataFrame, n_train: int = 3000, seed: int = 0) -> pd.DataFrame:
    """The probes' training films: ``n_train`` train-split rows drawn with ``seed`` (one draw, so one pixel cache)."""
    train = table[table["split"] == "train"]
    return train.sample(n=min(n_train, len(train)), random_state=seed)


def linear_probe(loaded: LoadedModel, table: pd.DataFrame, n_train: int = 3000, seed: int = 0) -> dict[str, Any]:
    """AUC of a logistic probe for age group and for source (macro one-vs-rest), fitted on train, scored on val."""
    train = probe_train_films(table, n_train, seed)
    val = table[table["split"] == "val"]
    if train.empty or val.empty:
        return {"age_group_auc": None, "source_auc": None, "note": "needs train and val splits"}
    x_train, x_val = features(loaded, train), features(loaded, val)
    result: dict[str, Any] = {"n_train": int(len(train)), "n_val": int(len(val))}
    result["age_group_auc"] = _probe(x_train, train["age_group"].to_numpy(), x_val, val["age_group"].to_numpy())
    common = val["source"].value_counts()
    keep = common[common >= MIN_SOURCE_FILMS].index
    result["sources"] = sorted(map(str, keep))
    train_rows, val_rows = train["source"].isin(keep).to_numpy(), val["source"].isin(keep).to_numpy()
    result["source_auc"] = _probe(
        x_train[train_rows], train["source"].to_numpy()[train_rows], x_val[val_rows], val["source"].to_numpy()[val_rows]
    )
    return result


def fit_probe(x_train: np.ndarray, y_train: np.ndarray) -> Pipeline:
    """The audit's linear probe: standardise, then L2 logistic regression (C = 0.1), fitted on (N, D) features."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1)).fit(x_train, y_train)


def _probe(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> float | None:
    classes = np.unique(y_train)
    if classes.size < 2 or np.unique(y_val).size < 2 or not set(np.unique(y_val)) <= set(classes):
        return None
    scores = fit_probe(x_train, y_train).predict_proba(x_val)
    if classes.size == 2:
        return float(roc_auc_score(y_val == classes[1], scores[:, 1]))
    return float(roc_auc_score(y_val, scores, multi_class="ovr", average="macro", labels=classes))


__all__ = ["features", "fit_probe", "linear_probe", "probe_train_films"]
