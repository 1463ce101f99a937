"""The age probe applied with numpy, and the training-support rule read from a checkpoint's data summary."""

from __future__ import annotations

import numpy as np
import pytest

from xray_core.inference.age import AgeEstimate, estimate_age, training_support, unsupported
from xray_core.models.records import AgeProbe

#: Shaped like the shipped corpus: COVID-19 only adult; bacterial and viral almost only pediatric.
SUMMARY = {
    "age_group_class_counts": {
        "adult": {"normal": 7450, "bacterial": 9, "viral": 4, "covid": 2746, "pneumonia": 256},
        "pediatric": {"normal": 1284, "bacterial": 2263, "viral": 1221, "covid": 0, "pneumonia": 14},
        "": {"normal": 5},
    }
}


def test_probe_round_trips_and_computes_a_hand_checked_probability():
    probe = AgeProbe(("adult", "pediatric"), np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([1.0, -1.0]), 0.5)
    again = AgeProbe.from_dict(probe.to_dict())
    # z = ((3 - 1) / 2) * 1 + (1 / 1) * -1 + 0.5 = 0.5
    assert again.positive_probability(np.array([[3.0, 1.0]]))[0] == pytest.approx(1 / (1 + np.exp(-0.5)))
    estimate = estimate_age(probe, np.array([3.0, 1.0]))[0]
    assert estimate == AgeEstimate("pediatric", pytest.approx(1 / (1 + np.exp(-0.5))))
    below = estimate_age(probe, np.array([[1.0, 3.0]]))[0]  # z = -2.5
    assert below.group == "adult" and below.probability == pytest.approx(1 - 1 / (1 + np.exp(2.5)))
    assert estimate.to_dict() == {"group": "pediatric", "probability": round(estimate.probability, 4)}


def test_no_probe_or_no_features_gives_no_estimate():
    assert estimate_age(None, np.zeros(4)) is None
    with pytest.raises(ValueError):
        AgeProbe.from_dict({"classes": ["a", "b", "c"], "mean": [], "scale": [], "weights": [], "bias": 0})


@pytest.mark.parametrize(
    ("group", "label", "expected"),
    [
        ("pediatric", "covid", True),  # no pediatric COVID-19 film at all
        ("adult", "bacterial", True),  # 9 of 2272
        ("adult", "viral", True),  # 4 of 1225
        ("adult", "covid", False),
        ("pediatric", "normal", False),  # 15 % of the normals: real support
        ("pediatric", "bacterial", False),
    ],
)
def test_support_rule_on_a_hand_made_summary(group, label, expected):
    assert unsupported(SUMMARY, group, label) is expected


def test_support_counts_ignore_films_of_unknown_age_and_empty_summaries_never_warn():
    assert training_support(SUMMARY, "adult", "normal") == (7450, 8734)
    assert not unsupported({}, "pediatric", "covid")
    small = {"age_group_class_counts": {"adult": {"covid": 100}, "pediatric": {"covid": 8}}}
    assert unsupported(small, "pediatric", "covid")  # 7 % share but under the 10-film floor
