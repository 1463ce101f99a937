"""assess: the 'uncertain' flag exactly below the fitted threshold; the age-support warning from the data summary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xray_core.inference.age import AgeEstimate
from xray_core.inference.refusal import LOW_CONFIDENCE, assess, uncertain_threshold
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import load_checkpoint
from xray_core.models.records import OperatingPoint

SUMMARY = {"age_group_class_counts": {"adult": {"covid": 300, "normal": 200}, "pediatric": {"covid": 0, "normal": 50}}}


def _with(loaded, **meta_changes):
    return dataclasses.replace(loaded, meta=loaded.meta.replace(**meta_changes))


def _image() -> XrayImage:
    return XrayImage(np.random.default_rng(0).random((64, 64), dtype=np.float32))


def _codes(model, top: float, **kwargs) -> list[str]:
    return [d.code for d in assess(model, _image(), None, top, **kwargs)]


@pytest.mark.parametrize(("top", "flagged"), [(0.6999, True), (np.nextafter(0.7, 0), True), (0.7, False), (0.9, False)])
def test_uncertain_exactly_below_the_threshold(loaded, top, flagged):
    model = _with(loaded, operating_point={"normal_logit_offset": 0.1, "uncertain": {"threshold": 0.7}})
    assert ("uncertain" in _codes(model, top)) is flagged


def test_uncertain_decision_carries_score_and_threshold_and_is_a_warning(loaded):
    model = _with(loaded, operating_point={"uncertain": {"threshold": 0.8}})
    [decision] = [d for d in assess(model, _image(), None, 0.45) if d.code == "uncertain"]
    assert (decision.score, decision.threshold, decision.refuses) == (0.45, 0.8, False)
    assert "low_confidence" in _codes(model, 0.45)  # the contract's key stays; pages word only the referral


def test_no_fitted_threshold_means_never_uncertain(loaded):
    assert uncertain_threshold(None) is None and uncertain_threshold(OperatingPoint(normal_logit_offset=0.0)) is None
    assert "uncertain" not in _codes(_with(loaded, operating_point=None), LOW_CONFIDENCE / 2)


@pytest.mark.parametrize(
    ("label", "group", "warned"),
    [("covid", "pediatric", True), ("covid", "adult", False), ("normal", "pediatric", False)],
)
def test_age_support_warning_from_the_data_summary(loaded, label, group, warned):
    model = _with(loaded, data_summary=SUMMARY)
    decisions = assess(model, _image(), None, 0.9, label=label, age_estimate=AgeEstimate(group, 0.8))
    found = [d for d in decisions if d.code == "age_support"]
    assert bool(found) is warned
    if warned:
        assert found[0].score == 0.0 and not found[0].refuses
    assert "age_support" not in _codes(model, 0.9, label=label)  # no estimate (no probe): no verdict


BY_AGE = {"threshold": 0.9, "by_age": {"adult": 0.9, "pediatric": 0.6}}


@pytest.mark.parametrize("group", ["adult", "pediatric"])
def test_per_age_group_threshold_flags_just_below_and_not_at(loaded, group):
    model = _with(loaded, operating_point={"uncertain": BY_AGE})
    threshold = BY_AGE["by_age"][group]
    estimate = AgeEstimate(group, 0.9)
    assert "uncertain" in _codes(model, float(np.nextafter(threshold, 0)), age_estimate=estimate)
    assert "uncertain" not in _codes(model, threshold, age_estimate=estimate)
    [decision] = [d for d in assess(model, _image(), None, threshold - 0.01, age_estimate=estimate)
                  if d.code == "uncertain"]  # fmt: skip
    assert decision.threshold == threshold


def test_single_threshold_checkpoints_and_films_without_an_estimate_fall_back():
    assert (
        uncertain_threshold(OperatingPoint.from_dict({"uncertain": {"threshold": 0.7}}), "adult") == 0.7
    )  # fitted before per-group points
    assert (
        uncertain_threshold(OperatingPoint.from_dict({"uncertain": BY_AGE}), None) == 0.9
    )  # no estimate: the stricter threshold
    assert uncertain_threshold(OperatingPoint.from_dict({"uncertain": BY_AGE}), "pediatric") == 0.6


def _report(loaded, figure_value: float) -> dict:
    record = {"value": figure_value, "n": 22, "n_patients": 8, "interval_95": [0.25, 0.65], "small_sample": True}
    return {
        "model": {"sha256": loaded.sha256},
        "splits": {
            "external_adult": {
                "per_cohort": {"ieee8023_typed": {"figures": {"adult_non_covid_pneumonia_called_covid": record}}},
                "group_figures": {"adult_pneumonia_call_precision": {**record, "value": 0.41, "n": 120}},
            }
        },
    }


@pytest.fixture()
def beside_report(tiny_checkpoint, tmp_path):
    """A copy of the tiny checkpoint with a fixture metrics.json beside it; returns (model, write(report))."""
    import json
    import shutil

    path = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, path)
    model = load_checkpoint(path)
    return model, lambda report: (tmp_path / "metrics.json").write_text(json.dumps(report))


@pytest.mark.parametrize(("label", "value"), [("covid", 0.455), ("bacterial", 0.41), ("viral", 0.41)])
def test_adult_caution_on_an_adult_film_carries_the_measured_figure(beside_report, label, value):
    model, write = beside_report
    write(_report(model, 0.455))
    adult = assess(model, _image(), None, 0.95, label=label, age_estimate=AgeEstimate("adult", 0.97))
    [caution] = [d for d in adult if d.code == "adult_caution"]
    assert (caution.score, caution.refuses, caution.detail["n"]) == (value, False, 22 if label == "covid" else 120)
    assert caution.detail["interval_95"] == [0.25, 0.65] and caution.to_dict()["detail"]["small_sample"] is True
    child = assess(model, _image(), None, 0.95, label=label, age_estimate=AgeEstimate("pediatric", 0.97))
    assert "adult_caution" not in [d.code for d in child]
    normal = assess(model, _image(), None, 0.95, label="normal", age_estimate=AgeEstimate("adult", 0.97))
    assert "adult_caution" not in [d.code for d in normal]


def test_a_report_of_another_checkpoint_is_never_quoted(beside_report):
    model, write = beside_report
    write({**_report(model, 0.455), "model": {"sha256": "0" * 64}})
    [caution] = [
        d
        for d in assess(model, _image(), None, 0.95, label="covid", age_estimate=AgeEstimate("adult", 0.9))
        if d.code == "adult_caution"
    ]
    assert caution.score is None and caution.detail is None  # the caution stays, with no borrowed figure
