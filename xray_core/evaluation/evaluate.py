"""Score a checkpoint on a dataset split: one report dict renders both metrics.json and MODEL_CARD.md.

Predictions go through :func:`xray_core.inference.predict.predict_batch`, the very code
path the app and the CLI use, so the card describes what users get.
Confidence intervals resample patients, not images (images of one patient
are not independent).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from xray_core.data.dataset import load_dataset
from xray_core.evaluation import metrics
from xray_core.inference.calibration import apply_temperature
from xray_core.inference.predict import predict_batch
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel, load_checkpoint

CI_METRICS = ("sensitivity", "specificity", "ppv", "npv", "f1", "auc")


def predict_table(loaded: LoadedModel, table: pd.DataFrame, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Logits, OOD scores and refusals for every row of ``table`` (with a progress bar)."""
    logits, scores, refused = [], [], []
    for start in tqdm(range(0, len(table), batch_size), desc="predicting", unit="batch"):
        images = [read_image(path) for path in table["path"].iloc[start:start + batch_size]]
        for result in predict_batch(loaded, images, batch_size=batch_size):
            logits.append(result.logits)
            scores.append(np.nan if result.ood_score is None else result.ood_score)
            refused.append(result.refused)
    return {"logits": np.asarray(logits), "ood_score": np.asarray(scores), "refused": np.asarray(refused)}


def bootstrap_intervals(y_true: np.ndarray, y_prob: np.ndarray, groups: np.ndarray, class_names, reps: int = 500,
                        seed: int = 0) -> dict[str, Any]:
    """95 % percentile intervals from resampling patients (``groups``) with replacement."""
    rng = np.random.default_rng(seed)
    unique, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(unique))]
    samples: dict[str, list[float]] = {}
    for _ in tqdm(range(reps), desc="bootstrap", unit="rep", leave=False):
        index = np.concatenate([members[g] for g in rng.integers(0, len(unique), len(unique))])
        result = metrics.summary(y_true[index], y_prob[index], class_names)
        flat = {"macro_auc": result["macro_auc"], **{f"clinical.{k}": v for k, v in result["clinical"].items()}}
        for name, values in result["per_class"].items():
            flat.update({f"{name}.{m}": values[m] for m in CI_METRICS})
        for key, value in flat.items():
            if value is not None and not np.isnan(value):
                samples.setdefault(key, []).append(value)
    return {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in samples.items()}


def breakdown(table: pd.DataFrame, y_true: np.ndarray, y_prob: np.ndarray, column: str, class_names) -> dict:
    """Per-value (source or age group) counts, accuracy, macro AUC and per-class sensitivity."""
    out = {}
    for value, rows in table.reset_index(drop=True).groupby(column).groups.items():
        index = np.asarray(list(rows))
        result = metrics.summary(y_true[index], y_prob[index], class_names)
        out[str(value)] = {"n": int(index.size), "accuracy": result["accuracy"], "macro_auc": result["macro_auc"],
                           "labels": {n: int((y_true[index] == k).sum()) for k, n in enumerate(class_names)},
                           "sensitivity": {n: v["sensitivity"] for n, v in result["per_class"].items()
                                           if v["support"]}}
    return out


def shortcut_check(table: pd.DataFrame, y_true: np.ndarray, y_prob: np.ndarray, class_names) -> dict[str, Any]:
    """How many adult non-COVID pneumonias the model calls COVID (the age/source shortcut showing)."""
    covid = class_names.index("covid")
    pneumonia = np.isin(y_true, [class_names.index("bacterial"), class_names.index("viral")])
    adult = (table["age_group"].to_numpy() == "adult") if "age_group" in table else np.zeros(len(table), bool)
    subset = pneumonia & adult
    called_covid = int((y_prob[subset].argmax(axis=1) == covid).sum())
    return {"adult_non_covid_pneumonias": int(subset.sum()), "called_covid": called_covid}


def evaluate(loaded: LoadedModel, table: pd.DataFrame, split: str, reps: int = 500, seed: int = 0) -> dict[str, Any]:
    """The full report for ``table`` rows of ``split``; pure apart from reading the images."""
    part = table[table["split"] == split].reset_index(drop=True) if split else table.reset_index(drop=True)
    if part.empty:
        raise ValueError(f"no images in split {split!r}")
    began = time.time()
    predicted = predict_table(loaded, part)
    names = list(loaded.class_names)
    y_true = np.asarray([names.index(label) for label in part["label"]])
    raw = apply_temperature(predicted["logits"], 1.0)
    calibrated = apply_temperature(predicted["logits"], loaded.temperature)
    groups = np.where(part["patient_id"].astype(str) != "", part["patient_id"].astype(str),
                      "image:" + part["path"].astype(str))
    report = {
        "model": loaded.identity(),
        "split": split or "all", "n_images": int(len(part)), "n_patient_groups": int(np.unique(groups).size),
        "metrics": metrics.summary(y_true, calibrated, names),
        "calibration_before": {k: metrics.calibration(y_true, raw)[k] for k in ("ece", "nll", "brier")},
        "intervals_95": bootstrap_intervals(y_true, calibrated, groups, names, reps=reps, seed=seed),
        "per_source": breakdown(part, y_true, calibrated, "source", names),
        "per_age_group": breakdown(part, y_true, calibrated, "age_group", names) if "age_group" in part else {},
        "shortcut": shortcut_check(part, y_true, calibrated, names),
        "ood": {"refused": int(predicted["refused"].sum()), "n": int(len(part)),
                "rate": float(predicted["refused"].mean())},
        "bootstrap_reps": reps, "seconds": round(time.time() - began, 1),
    }
    return report


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path, split: str = "test",
                        reps: int = 500) -> tuple[dict[str, Any], LoadedModel]:
    """Load a checkpoint and a dataset and evaluate one split."""
    loaded = load_checkpoint(checkpoint)
    return evaluate(loaded, load_dataset(data), split, reps=reps), loaded
