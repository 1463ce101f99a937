"""assess: the 'uncertain' flag exactly below the fitted threshold; the age-support warning from the data summary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xray_core.inference.age import AgeEstimate
from xray_core.inference.refusal import LOW_CONFIDENCE, assess, uncertain_threshold
from xray_core.io.reader import XrayImage
from xray_core.models.checkpoint import load_checkpoint

SUMMARY = {"age_group_class_counts": {"adult": {"covid": 300, "normal": 200}, "pediatric": {"covid": 0, "normal": 50}}}


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)


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
    assert uncertain_threshold(None) is None and uncertain_threshold({"normal_logit_offset": 0.0}) is None
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
