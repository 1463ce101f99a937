"""Result files of predictions: percentages that add to 100, flags from decision codes, JSON and CSV."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pandas as pd
import pytest

from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction
from xray_core.inference.results import (
    batch_row,
    percentages,
    prediction_flags,
    result_json,
    result_record,
    results_csv,
)
from xray_core.inference.wording import short

NAMES = ("normal", "bacterial", "viral", "covid")


def _prediction(probabilities: dict[str, float], *codes: str) -> Prediction:
    label = max(probabilities, key=probabilities.get)
    return Prediction(
        name="x.png",
        label=label,
        probabilities=probabilities,
        logits=[0.0] * 4,
        elapsed_ms=1.0,
        ood_score=3.0,
        ood_threshold=5.0,
        decisions=[Decision(code, "English words nobody parses", 0.3, 0.5) for code in codes],
    )


@pytest.mark.parametrize(
    "probabilities",
    [
        {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3},
        {"normal": 0.2149, "bacterial": 0.2851, "viral": 0.2409, "covid": 0.2591},
        {"a": 0.99951, "b": 0.00049, "c": 0.0},
    ],
)
def test_percentages_sum_to_exactly_100(probabilities):
    shares = percentages(probabilities)
    assert list(shares) == list(probabilities)
    assert sum(round(v * 10) for v in shares.values()) == 1000
    for name, p in probabilities.items():
        assert abs(shares[name] - 100 * p) <= 0.1 + 1e-9


def test_flags_are_the_decision_codes_once_each():
    prediction = _prediction(
        {"normal": 0.7, "bacterial": 0.1, "viral": 0.1, "covid": 0.1}, "ood_features", "low_confidence", "ood_features"
    )
    assert prediction_flags(prediction) == ["ood_features", "low_confidence"]


def test_result_record_and_json_carry_codes_percentages_identity_and_disclaimer():
    prediction = _prediction(
        {"normal": 0.3, "bacterial": 0.3001, "viral": 0.2, "covid": 0.1999}, "ood_features", "low_confidence"
    )
    identity = {"version": "1", "sha256": "ab" * 32, "checkpoint": "model.pt"}
    record = result_record(
        prediction,
        {"name": "x.png", "format": "PNG"},
        identity,
        {"method": "gradcam", "evidence": np.float32(0.5), "cam": np.zeros(2)},
    )
    loaded = json.loads(result_json(record))
    assert loaded["disclaimer"].startswith("Decision support only")
    assert loaded["prediction"]["flags"] == ["ood_features", "low_confidence"]
    assert [d["code"] for d in loaded["prediction"]["decisions"]] == ["ood_features", "low_confidence"]
    assert loaded["prediction"]["top_class_title"] == "Bacterial pneumonia"
    assert sum(loaded["prediction"]["percentages"].values()) == pytest.approx(100)
    assert loaded["model"] == identity
    assert loaded["explanation"]["evidence"] == 0.5 and loaded["explanation"]["cam"] == [0.0, 0.0]


def test_batch_rows_word_flags_from_codes_and_csv_keeps_the_disclaimer():
    good = batch_row("a.png", _prediction({"normal": 0.7, "bacterial": 0.1, "viral": 0.1, "covid": 0.1}), NAMES)
    flagged = batch_row(
        "c.png",
        _prediction({"normal": 0.4, "bacterial": 0.3, "viral": 0.2, "covid": 0.1}, "low_confidence", "untrained_model"),
        NAMES,
    )
    bad = batch_row("b.png", None, NAMES, error="corrupt")
    assert good["top_class"] == "Normal" and good["normal %"] == 70.0 and good["flags"] == ""
    assert flagged["flags"] == f"{short('low_confidence')}, {short('untrained_model')}"
    assert bad["flags"] == "unreadable: corrupt" and bad["covid %"] is None
    text = results_csv([good, flagged, bad]).decode()
    assert text.startswith("# Decision support only")
    table = pd.read_csv(io.StringIO(text), comment="#")
    assert list(table.columns) == [
        "file",
        "top_class",
        "normal %",
        "bacterial %",
        "viral %",
        "covid %",
        "uncertain",
        "age_group_estimate",
        "flags",
        "adult_measured",
    ]
    assert len(table) == 3


def test_batch_rows_carry_the_measured_adult_figure_behind_an_adult_caution():
    detail = {"figure": "adult_non_covid_pneumonia_called_covid", "value": 0.5, "n": 22, "n_patients": 8,
              "interval_95": [0.28, 0.71], "small_sample": True}  # fmt: skip
    prediction = _prediction({"normal": 0.1, "bacterial": 0.1, "viral": 0.1, "covid": 0.7})
    cautioned = dataclasses.replace(prediction, decisions=[Decision("adult_caution", "", 0.5, None, detail)])
    row = batch_row("a.png", cautioned, NAMES)
    assert "50 % COVID-19" in row["adult_measured"] and "28-71 %" in row["adult_measured"]
    assert "small sample (22 films, 8 patients)" in row["adult_measured"]
    assert batch_row("b.png", prediction, NAMES)["adult_measured"] == ""
    assert batch_row("c.png", None, NAMES, error="corrupt")["adult_measured"] == ""
    assert "50 % COVID-19" in results_csv([row]).decode()
