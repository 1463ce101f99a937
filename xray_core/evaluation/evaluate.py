"""Score a checkpoint on the test split and the external sets: one report dict renders metrics.json and the card.

Predictions go through :func:`xray_core.inference.batch.predict_sources`, the code path the app and the CLI
use, so the card describes what users get. Confidence intervals resample patients, not images (images of one
patient are not independent). The test split is only measured here, never used to choose anything.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from xray_core.config import LABELS
from xray_core.evaluation import groups, metrics, risk_coverage
from xray_core.evaluation.shortcuts import linear_probe
from xray_core.evaluation.targets import check_targets
from xray_core.inference.batch import predict_sources
from xray_core.inference.calibration import apply_temperature
from xray_core.models.checkpoint import LoadedModel

CI_METRICS = ("sensitivity", "specificity", "ppv", "npv", "f1", "auc")


def predict_table(loaded: LoadedModel, table: pd.DataFrame, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Logits, OOD scores, refusals, 'uncertain' flags and the age probe's group ('' without a probe) for every
    row of ``table`` (with a progress bar); unreadable rows raise."""
    logits, scores, refused, uncertain, ages = [], [], [], [], []
    with tqdm(total=len(table), desc="predicting", unit="img") as bar:
        items = ((str(path), str(path)) for path in table["path"])
        for scored in predict_sources(loaded, items, batch_size, progress=lambda n: bar.update(n - bar.n)):
            prediction = scored.prediction
            if prediction is None:
                raise ValueError(f"cannot evaluate: {scored.error}")
            logits.append(prediction.logits)
            scores.append(np.nan if prediction.ood_score is None else prediction.ood_score)
            refused.append(prediction.refused)
            uncertain.append(prediction.uncertain)
            ages.append((prediction.age_group_estimate or {}).get("group", ""))
    return {
        "logits": np.asarray(logits),
        "ood_score": np.asarray(scores),
        "refused": np.asarray(refused, bool),
        "uncertain": np.asarray(uncertain, bool),
        "estimated_age": np.asarray(ages, str),
    }


def bootstrap_intervals(
    y_true: np.ndarray, y_prob: np.ndarray, groups: np.ndarray, class_names, reps: int = 500, seed: int = 0
) -> dict[str, Any]:
    """95 % percentile intervals from resampling patients (``groups``) with replacement."""
    rng = np.random.default_rng(seed)
    unique, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(unique))]
    samples: dict[str, list[float]] = {}
    for _ in tqdm(range(reps), desc="bootstrap", unit="rep", leave=False):
        index = np.concatenate([members[g] for g in rng.integers(0, len(unique), len(unique))])
        result = metrics.summary(y_true[index], y_prob[index], class_names)
        flat = {
            "macro_auc": result["macro_auc"],
            "accuracy": result["accuracy"],
            "calibration.ece": (result["calibration"] or {}).get("ece"),
            **{f"clinical.{k}": v for k, v in result["clinical"].items()},
        }
        for name, values in result["per_class"].items():
            flat.update({f"{name}.{m}": values[m] for m in CI_METRICS})
        for key, value in flat.items():
            if value is not None and not np.isnan(value):
                samples.setdefault(key, []).append(value)
    return {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in samples.items()}


def breakdown(table: pd.DataFrame, y_true: np.ndarray, y_prob: np.ndarray, column: str, class_names) -> dict:
    """Per-value (source or age group) counts, accuracy, macro AUC and recall per label."""
    out = {}
    for value, rows in table.reset_index(drop=True).groupby(column).groups.items():
        index = np.asarray(list(rows))
        result = metrics.summary(y_true[index], y_prob[index], class_names)
        recalls = metrics.cell_recalls(y_true[index], y_prob[index], [""] * index.size, LABELS)
        out[str(value)] = {
            "n": int(index.size),
            "accuracy": result["accuracy"],
            "macro_auc": result["macro_auc"],
            "labels": {n: int((y_true[index] == k).sum()) for k, n in enumerate(LABELS)},
            "sensitivity": {cell.split("/", 1)[1]: v["recall"] for cell, v in recalls.items()},
        }
    return out


def split_report(loaded: LoadedModel, part: pd.DataFrame, reps: int = 500, seed: int = 0) -> dict[str, Any]:
    """Everything measured on one split: metrics with CIs, calibration, groups and cohorts with n and CIs, ROC
    points, refusals and the films kept by the uncertain threshold."""
    part = part.reset_index(drop=True)
    predicted = predict_table(loaded, part)
    names = list(loaded.class_names)
    y_true = np.asarray([LABELS.index(label) for label in part["label"]])
    calibrated = apply_temperature(predicted["logits"], loaded.temperature)
    ages = part["age_group"].fillna("").astype(str).to_numpy() if "age_group" in part else np.full(len(part), "")
    kept = ~(predicted["refused"] | predicted["uncertain"])
    point = loaded.meta.operating_point.uncertain if loaded.meta.operating_point else None
    figures, per_cohort = groups.group_figures(part, y_true, calibrated, kept if point else None, reps=reps, seed=seed)
    before = metrics.summary(y_true, apply_temperature(predicted["logits"], 1.0), names)["calibration"]
    return {
        "n_images": int(len(part)),
        "n_patient_groups": int(np.unique(groups.patient_groups(part)).size),
        "metrics": metrics.summary(y_true, calibrated, names),
        "calibration_before": None if before is None else {k: before[k] for k in ("ece", "nll", "brier")},
        "intervals_95": bootstrap_intervals(y_true, calibrated, groups.patient_groups(part), names, reps, seed),
        "per_source": breakdown(part, y_true, calibrated, "source", names),
        "per_age_group": breakdown(part.assign(age_group=ages), y_true, calibrated, "age_group", names),
        "cells": groups.cell_figures(part, y_true, calibrated, reps=reps, seed=seed),
        "groups": {name: figure["value"] for name, figure in figures.items()}
        | {"n_adult_non_covid_pneumonia": figures["adult_non_covid_pneumonia_called_covid"]["n"]},
        "group_figures": figures,
        "per_cohort": per_cohort,
        "roc": metrics.roc_points(y_true, calibrated, names),
        "risk_coverage": risk_coverage.section(y_true, calibrated, point, kept, ages),
        "ood": {
            "refused": int(predicted["refused"].sum()),
            "n": int(len(part)),
            "rate": float(predicted["refused"].mean()) if len(part) else None,
        },
    }


def evaluate(
    loaded: LoadedModel,
    tables: dict[str, pd.DataFrame],
    reps: int = 500,
    seed: int = 0,
    probe_table: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The full report: one section per named table (e.g. test, external), the shortcut probe, the targets."""
    began = time.time()
    splits = {}
    for name, part in tables.items():
        if part.empty:
            raise ValueError(f"no images in {name!r}")
        splits[name] = split_report(loaded, part, reps=reps, seed=seed)
    report = {
        "model": loaded.identity(),
        "splits": splits,
        "bootstrap_reps": reps,
        "probe": linear_probe(loaded, probe_table, seed=seed) if probe_table is not None else None,
    }
    report["targets"] = check_targets(report)
    report["seconds"] = round(time.time() - began, 1)
    return report


__all__ = ["bootstrap_intervals", "breakdown", "evaluate", "predict_table", "split_report"]
