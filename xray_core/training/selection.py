"""Which epoch to keep: validation *and* external figures, the worst age-group x label cell included."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from xray_core.config import CLASS_NAMES, LABELS
from xray_core.evaluation import metrics
from xray_core.inference import calibration
from xray_core.training.config import TrainConfig
from xray_core.training.splits import SplitArrays, infer

_SELECTED = {  # the AUCs each set adds to the selection score
    "val": ("macro_auc", "adult_pneumonia_auc"),
    "external": ("pneumonia_auc", "bacterial_viral_auc"),
    "external_adult": ("nih_pneumonia_auc",),
}


def _adult_figures(labels: np.ndarray, prob: np.ndarray, sources: list[str]) -> dict[str, Any]:
    """NIH pneumonia vs NIH normal AUC, and the share of typed non-COVID pneumonias (ieee8023) called COVID-19."""
    family = np.asarray(sources)
    nih = family == "nih"
    typed = (family == "ieee8023") & np.isin(labels, [CLASS_NAMES.index("bacterial"), CLASS_NAMES.index("viral")])
    called_covid = prob.argmax(axis=1) == CLASS_NAMES.index("covid")
    return {
        "nih_pneumonia_auc": metrics.clinical_groupings(labels[nih], prob[nih], CLASS_NAMES)["pneumonia_vs_normal_auc"]
        if nih.any()
        else None,
        "typed_called_covid": float(called_covid[typed].mean()) if typed.any() else None,
    }


def evaluate_epoch(model: nn.Module, splits: dict[str, SplitArrays], cfg: TrainConfig) -> dict[str, Any]:
    """Key figures on val and the external sets plus recall per age group x label cell; the selection score.

    ``selection`` = ½ · mean(val macro AUC, val adult pneumonia-vs-normal AUC, external pneumonia-vs-normal AUC,
    external bacterial-vs-viral AUC, external_adult NIH pneumonia-vs-normal AUC) + ½ · the worst cell's recall
    (cells of ≥ 20 films in val or an external set). AUCs reward ranking, the worst recall rewards an operating
    point that fails no group.
    """
    record: dict[str, Any] = {}
    aucs, cells = [], {}
    for name in _SELECTED:
        if name not in splits:
            continue
        data = splits[name]
        _, logits = infer(model, data.pixels, cfg)
        prob, labels = calibration.apply_temperature(logits, 1.0), data.labels.numpy()
        result = metrics.summary(labels, prob, CLASS_NAMES)
        adult = np.asarray(data.groups) == "adult"
        figures = {
            "macro_auc": result["macro_auc"],
            "accuracy": result["accuracy"],
            "pneumonia_auc": result["clinical"]["pneumonia_vs_normal_auc"],
            "bacterial_viral_auc": result["clinical"]["bacterial_vs_viral_auc"],
            "adult_pneumonia_auc": metrics.clinical_groupings(labels[adult], prob[adult], CLASS_NAMES)[
                "pneumonia_vs_normal_auc"
            ],
        }
        if name == "external_adult":
            figures.update(_adult_figures(labels, prob, data.sources))
        record.update({f"{name}_{key}": value for key, value in figures.items()})
        aucs += [figures[key] for key in _SELECTED[name] if figures[key] is not None]
        for cell, value in metrics.cell_recalls(labels, prob, data.groups, LABELS, min_count=20).items():
            cells[f"{name}:{cell}"] = value["recall"]
    worst = min(cells, key=cells.get) if cells else None
    record.update(cell_recall=cells, worst_cell=worst, worst_recall=cells.get(worst) if worst else None)
    record["selection"] = 0.5 * float(np.mean(aucs) if aucs else 0.0) + 0.5 * (record["worst_recall"] or 0.0)
    return record
