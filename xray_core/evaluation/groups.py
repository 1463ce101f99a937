"""Group figures with their n and a patient-bootstrap interval: the films that break the corpus's confounding.

A figure on a small group is mostly noise: the adult typed pneumonias come from 8 patients. So every group
figure is a record, not a bare number: ``{"value", "n", "n_patients", "interval_95", "small_sample"}``, where the
interval is the 2.5-97.5 percentile over resampled patients (films of one patient move together) and
``small_sample`` marks a figure on fewer than :data:`MIN_FILMS` films or :data:`MIN_PATIENTS` patients. Cohorts
(``cohort`` column of ``external_adult``) get the same figures, and the NIH films are also split by processing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from xray_core.config import CLASS_NAMES, LABELS
from xray_core.evaluation.metrics import label_recall, safe_auc

MIN_FILMS = 30  # a figure on fewer films is flagged as a small sample
MIN_PATIENTS = 10  # ... and on fewer patients
CORPUS_LONGEST_SIDE = 384  # the corpus stores NIH films at this size; larger ones were re-encoded from originals
PNEUMONIA_LABELS = ("bacterial", "viral", "pneumonia")


def figure(
    rows: np.ndarray, patients: np.ndarray, statistic: Callable[[np.ndarray], float | None], reps: int, seed: int
) -> dict[str, Any]:
    """``statistic`` (of an index array into the films) on the films where ``rows`` is true, with n, patients,
    the 95 % patient-bootstrap interval (None under 2 patients or when undefined) and the small-sample flag."""
    index = np.flatnonzero(rows)
    owners, inverse = np.unique(patients[index], return_inverse=True)
    value = statistic(index) if index.size else None
    interval = None
    if value is not None and owners.size >= 2:
        order = np.argsort(inverse, kind="stable")
        members = np.split(index[order], np.cumsum(np.bincount(inverse))[:-1])
        rng = np.random.default_rng(seed)
        draws = [statistic(np.concatenate([members[k] for k in rng.integers(0, owners.size, owners.size)]))
                 for _ in range(reps)]  # fmt: skip
        draws = [d for d in draws if d is not None]
        if draws:
            interval = [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
    return {
        "value": value,
        "n": int(index.size),
        "n_patients": int(owners.size),
        "interval_95": interval,
        "small_sample": bool(index.size < MIN_FILMS or owners.size < MIN_PATIENTS),
    }


def patient_groups(part: pd.DataFrame) -> np.ndarray:
    """One id per film: its patient id, or the film itself when the source gives none."""
    ids = part["patient_id"].fillna("").astype(str).to_numpy()
    return np.where(ids != "", ids, "image:" + part["path"].astype(str).to_numpy())


def _rate(hits: np.ndarray) -> Callable[[np.ndarray], float | None]:
    return lambda index: float(hits[index].mean()) if index.size else None


def _definitions(part: pd.DataFrame, y_true: np.ndarray, y_prob: np.ndarray, kept: np.ndarray | None) -> dict:
    """name -> (films it is measured on, statistic): the rates and the one AUC the card and targets read."""
    age = part["age_group"].fillna("").to_numpy() if "age_group" in part else np.full(len(part), "")
    labels, called = np.asarray(LABELS)[y_true], np.asarray(CLASS_NAMES)[y_prob.argmax(axis=1)]
    correct = label_recall(y_true, y_prob) > 0
    adult, pediatric = age == "adult", age == "pediatric"
    nih = part["patient_id"].fillna("").astype(str).str.startswith("nih:").to_numpy()
    pneumonia = np.isin(labels, PNEUMONIA_LABELS)
    score = y_prob[:, CLASS_NAMES.index("bacterial")] + y_prob[:, CLASS_NAMES.index("viral")]
    defined = {
        "adult_nih_pneumonia_vs_normal_auc": (
            adult & nih & np.isin(labels, ["normal", "pneumonia"]),
            lambda index: safe_auc(labels[index] != "normal", score[index]),
        ),
        "adult_nih_normal_recall": (adult & nih & (labels == "normal"), _rate(called == "normal")),
        "adult_nih_pneumonia_recall": (adult & nih & (labels == "pneumonia"), _rate(correct)),
        "adult_pneumonia_recall": (adult & pneumonia, _rate(correct)),
        "adult_non_covid_pneumonia_called_covid": (adult & pneumonia, _rate(called == "covid")),
        "adult_pneumonia_call_precision": (adult & np.isin(called, ["bacterial", "viral"]), _rate(pneumonia)),
        "pediatric_normal_recall": (pediatric & (labels == "normal"), _rate(called == "normal")),
    }
    if kept is not None:  # what a user is shown without a referral: films neither uncertain nor refused
        defined["adult_coverage"] = (adult, _rate(kept))
        defined["adult_kept_error"] = (adult & kept, _rate(~correct))
        defined["adult_non_covid_pneumonia_kept_as_covid"] = (adult & pneumonia, _rate(kept & (called == "covid")))
    return defined


def cohorts(part: pd.DataFrame) -> dict[str, np.ndarray]:
    """Cohort name -> rows: each value of ``cohort`` and, for NIH, the films stored like the corpus's
    (``nih_384px``) apart from those re-encoded from the originals (``nih_originals``). {} without a cohort column."""
    if "cohort" not in part:
        return {}
    cohort = part["cohort"].fillna("").astype(str).to_numpy()
    out = {str(name): cohort == name for name in sorted(set(cohort)) if name}
    if "nih" in out and {"width", "height"} <= set(part.columns):
        side = np.maximum(part["width"].to_numpy(float), part["height"].to_numpy(float))
        out["nih_384px"] = out["nih"] & (side <= CORPUS_LONGEST_SIDE)
        out["nih_originals"] = out["nih"] & (side > CORPUS_LONGEST_SIDE)
    return out


def group_figures(
    part: pd.DataFrame,
    y_true: np.ndarray,
    y_prob: np.ndarray,
    kept: np.ndarray | None = None,
    reps: int = 500,
    seed: int = 0,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every group figure of one set of films, then per cohort (:func:`cohorts`) its films, patients, labels and
    the same figures on it (figures on no film left out there). ``part`` rows are aligned with ``y_true`` (N,)
    LABELS indices and ``y_prob`` (N, K) calibrated probabilities; ``kept`` (N,) bool adds the coverage and
    confident-error figures. Figures on no film have value None and n 0."""
    part = part.reset_index(drop=True)
    patients, defined = patient_groups(part), _definitions(part, y_true, y_prob, kept)

    def figures_on(within: np.ndarray) -> dict[str, dict[str, Any]]:
        return {
            name: figure(rows & within, patients, statistic, reps, seed) for name, (rows, statistic) in defined.items()
        }

    per_cohort = {}
    for name, within in cohorts(part).items():
        figures = figures_on(within)
        per_cohort[name] = {
            "n": int(within.sum()),
            "n_patients": int(np.unique(patients[within]).size),
            "labels": {label: int(n) for label, n in part.loc[within, "label"].value_counts().items()},
            "figures": {key: value for key, value in figures.items() if value["n"]},
        }
    return figures_on(np.ones(len(part), bool)), per_cohort


def cell_figures(
    part: pd.DataFrame, y_true: np.ndarray, y_prob: np.ndarray, reps: int = 500, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Recall at the top class per ``age group/label`` cell, as ``{"n", "recall", "n_patients", "interval_95",
    "small_sample"}`` (a partial ``pneumonia`` film is recalled when the top class is bacterial or viral)."""
    age = part["age_group"].fillna("").astype(str).to_numpy() if "age_group" in part else np.full(len(part), "")
    names = np.asarray([f"{g or 'unknown'}/{LABELS[t]}" for g, t in zip(age, y_true)])
    hits, patients = label_recall(y_true, y_prob) > 0, patient_groups(part)
    out = {}
    for name in sorted(set(names)):
        record = figure(names == name, patients, _rate(hits), reps, seed)
        out[str(name)] = {"n": record["n"], "recall": record.pop("value"), **record}
    return out


__all__ = [
    "CORPUS_LONGEST_SIDE",
    "MIN_FILMS",
    "MIN_PATIENTS",
    "cell_figures",
    "cohorts",
    "figure",
    "group_figures",
    "patient_groups",
]
