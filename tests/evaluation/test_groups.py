"""Group figures: hand-checked values, n, patient-bootstrap intervals, the small-sample flag, cohorts; targets by CI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xray_core.evaluation.card_groups import SMALL_MARK, cells_section, cohort_section, figure_text
from xray_core.evaluation.groups import MIN_FILMS, cell_figures, cohorts, figure, group_figures
from xray_core.evaluation.targets import check_targets, verdict

# adult NIH normal, 2 adult NIH pneumonia (one patient), adult bacterial, 2 pediatric normals
PART = pd.DataFrame(
    {
        "path": [f"/f{i}.png" for i in range(6)],
        "age_group": ["adult"] * 4 + ["pediatric"] * 2,
        "patient_id": ["nih:1", "nih:2", "nih:2", "ieee8023:5", "kermany:a", "kermany:b"],
        "source": ["muhammedtalo/COVID-19"] * 3 + ["other", "kids", "kids"],
        "label": ["normal", "pneumonia", "pneumonia", "bacterial", "normal", "normal"],
    }
)
Y_TRUE = np.array([0, 4, 4, 1, 0, 0])
Y_PROB = np.array(
    [
        [0.7, 0.1, 0.1, 0.1],
        [0.1, 0.5, 0.3, 0.1],
        [0.2, 0.1, 0.1, 0.6],
        [0.1, 0.1, 0.1, 0.7],
        [0.9, 0.05, 0.05, 0.0],
        [0.2, 0.2, 0.5, 0.1],
    ]
)


def test_group_figures_hand_checked_with_n_patients_and_the_small_sample_flag():
    kept = np.array([True, True, False, True, True, False])
    figures, _ = group_figures(PART, Y_TRUE, Y_PROB, kept, reps=50)
    values = {name: record["value"] for name, record in figures.items()}
    assert values["adult_nih_normal_recall"] == 1.0 and values["adult_nih_pneumonia_recall"] == 0.5
    assert values["adult_non_covid_pneumonia_called_covid"] == pytest.approx(2 / 3)
    assert values["pediatric_normal_recall"] == 0.5
    # pneumonia scores (bacterial + viral) 0.8 and 0.2 against the normal's 0.2: one win, one tie -> (1 + 0.5) / 2
    assert values["adult_nih_pneumonia_vs_normal_auc"] == 0.75
    assert values["adult_pneumonia_call_precision"] == 1.0  # the one adult film called bacterial/viral is one
    # kept adult films: NIH normal (right), first NIH pneumonia (right), bacterial called COVID-19 (wrong)
    assert values["adult_coverage"] == 0.75 and values["adult_kept_error"] == pytest.approx(1 / 3)
    assert values["adult_non_covid_pneumonia_kept_as_covid"] == pytest.approx(1 / 3)
    called_covid = figures["adult_non_covid_pneumonia_called_covid"]
    assert (called_covid["n"], called_covid["n_patients"], called_covid["small_sample"]) == (3, 2, True)
    low, high = called_covid["interval_95"]
    assert 0.0 <= low <= 2 / 3 <= high <= 1.0  # resampling two patients: nih:2 (1 of 2) and ieee8023:5 (1 of 1)


def test_a_figure_on_a_tiny_fixture_gets_n_interval_and_the_small_sample_note():
    hits = np.array([True, True, False, True, False, True])
    patients = np.array(["a", "a", "b", "c", "c", "d"])
    record = figure(np.ones(6, bool), patients, lambda index: float(hits[index].mean()), reps=200, seed=0)
    assert (record["value"], record["n"], record["n_patients"], record["small_sample"]) == (4 / 6, 6, 4, True)
    low, high = record["interval_95"]
    assert 0.0 <= low < 4 / 6 < high <= 1.0
    assert figure_text(record).endswith(SMALL_MARK) and "n 6" in figure_text(record)
    every = figure(np.ones(6, bool), patients, lambda index: 1.0, reps=20, seed=0)
    assert every["interval_95"] == [1.0, 1.0]  # a constant statistic has a point interval
    lone = figure(np.array([True] * 2 + [False] * 4), patients, lambda index: 0.5, reps=20, seed=0)
    assert lone["interval_95"] is None and lone["n_patients"] == 1  # one patient: nothing to resample


def test_a_large_group_is_not_flagged():
    n = MIN_FILMS
    record = figure(np.ones(n, bool), np.arange(n).astype(str), lambda index: 0.5, reps=5, seed=0)
    assert record["small_sample"] is False


def test_cells_carry_recall_n_and_interval_and_the_card_marks_small_ones():
    cells = cell_figures(PART, Y_TRUE, Y_PROB, reps=30)
    assert cells["pediatric/normal"]["recall"] == 0.5 and cells["pediatric/normal"]["n"] == 2
    assert cells["adult/pneumonia"]["n_patients"] == 1 and cells["adult/pneumonia"]["interval_95"] is None
    lines = cells_section({"splits": {"test": {"cells": cells}}})
    assert any("pediatric/normal" in line and SMALL_MARK in line for line in lines)


def test_cohorts_split_nih_by_processing_and_figures_follow():
    part = PART.assign(
        cohort=["nih", "nih", "nih", "ieee8023_typed", "", ""],
        width=[384, 512, 384, 480, 224, 224],
        height=[384, 512, 384, 512, 224, 224],
    )
    rows = cohorts(part)
    assert set(rows) == {"nih", "ieee8023_typed", "nih_384px", "nih_originals"}
    assert rows["nih_384px"].tolist() == [True, False, True, False, False, False]
    assert rows["nih_originals"].tolist() == [False, True, False, False, False, False]
    _, report = group_figures(part, Y_TRUE, Y_PROB, reps=20)
    typed = report["ieee8023_typed"]
    assert typed["n"] == 1 and typed["labels"] == {"bacterial": 1}
    assert typed["figures"]["adult_non_covid_pneumonia_called_covid"]["value"] == 1.0
    assert "adult_nih_normal_recall" not in typed["figures"]  # figures on no film are left out
    assert report["nih_originals"]["figures"]["adult_nih_pneumonia_recall"]["value"] == 1.0
    assert cohorts(PART) == {}  # no cohort column
    assert any(
        "ieee8023_typed" in line for line in cohort_section({"splits": {"external_adult": {"per_cohort": report}}})
    )


@pytest.mark.parametrize(
    ("interval", "op", "expected"),
    [
        ([0.82, 0.90], ">=", "met"),
        ([0.70, 0.85], ">=", "not shown"),
        ([0.60, 0.79], ">=", "missed"),
        ([0.01, 0.04], "<=", "met"),
        ([0.03, 0.09], "<=", "not shown"),
        ([0.06, 0.09], "<=", "missed"),
    ],
)
def test_targets_are_judged_by_the_interval(interval, op, expected):
    goal = 0.80 if op == ">=" else 0.05
    assert verdict(sum(interval) / 2, interval, op, goal) == expected


def test_check_targets_reads_group_figures_and_metric_intervals():
    section = {
        "metrics": {"calibration": {"ece": 0.02}, "clinical": {}},
        "intervals_95": {"calibration.ece": [0.01, 0.05]},
        "group_figures": {
            "adult_nih_normal_recall": {"value": 0.95, "interval_95": [0.91, 0.99], "n": 12, "small_sample": True}
        },  # fmt: skip
    }
    rows = {row["key"]: row for row in check_targets({"splits": {"test": section}})}
    ece = rows["metrics.calibration.ece"]
    assert (ece["verdict"], ece["judged_by"], ece["met"]) == ("not shown", "interval", None)
    recall = rows["group_figures.adult_nih_normal_recall"]
    assert (recall["verdict"], recall["n"], recall["small_sample"], recall["met"]) == ("met", 12, True, True)
    assert rows["group_figures.adult_nih_pneumonia_vs_normal_auc"]["verdict"] == "undefined"
