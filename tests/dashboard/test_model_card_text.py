"""The Model card page's words for the uncertain threshold: single, or per estimated age group."""

from __future__ import annotations

import dataclasses

import pandas as pd

from dashboard.card_metrics import figure_rows
from dashboard.views.model_card import _refer_text
from xray_core.models.checkpoint import load_checkpoint


def _with_point(tiny_checkpoint, point):
    loaded = load_checkpoint(tiny_checkpoint)
    return dataclasses.replace(loaded, meta=loaded.meta.replace(operating_point={"uncertain": point}))


def test_refer_text_single_and_per_age_group(tiny_checkpoint):
    single = {"threshold": 0.91, "target_accuracy": 0.95, "sets": {"val": {"coverage": 0.5}}}
    assert (
        _refer_text(_with_point(tiny_checkpoint, single)) == "top probability 0.91 (accuracy ≥ 95% kept; val 50% kept)"
    )
    by_age = {
        "threshold": 1.0,
        "by_age": {"adult": 1.0, "pediatric": 0.88},
        "reached": {"adult": False, "pediatric": True},
        "target_accuracy": 0.95,
        "sets": {
            "val": {"adult": {"n": 10, "coverage": 0.0}, "pediatric": {"n": 20, "coverage": 0.7}},
            "external": {"adult": {"n": 0, "coverage": None}, "pediatric": {"n": 5, "coverage": 0.6}},
        },
    }
    text = _refer_text(_with_point(tiny_checkpoint, by_age))
    assert "adult films 1.00 (target out of reach: all referred) — val 0% kept" in text
    assert "pediatric films 0.88 — val 70% kept, external 60% kept" in text


def test_figure_rows_leave_out_empty_figures_and_mark_small_ones():
    rows = figure_rows(
        {
            "adult_nih_normal_recall": {
                "value": 0.5,
                "interval_95": [0.3, 0.7],
                "n": 12,
                "n_patients": 9,
                "small_sample": True,
            },  # fmt: skip
            "pediatric_normal_recall": {"value": None, "interval_95": None, "n": 0, "n_patients": 0},
        }
    )
    assert isinstance(rows, pd.DataFrame) and len(rows) == 1
    assert rows.iloc[0]["value (95 % CI)"] == "0.500 (0.300–0.700)" and rows.iloc[0][""] == "small sample"
