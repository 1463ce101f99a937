"""Risk-coverage curves and the 'uncertain' threshold: hand-checked cases, partial labels, the fitting rule."""

from __future__ import annotations

import numpy as np
import pytest

from xray_core.config import LABELS
from xray_core.evaluation import risk_coverage
from xray_core.evaluation.risk_coverage import Scored, choose_threshold, curve, kept, markdown, scored, section
from xray_core.models.records import UncertainThreshold


def _probs(top: list[float], classes: list[int]) -> np.ndarray:
    """(N, 4) probabilities whose top class is ``classes[i]`` with probability ``top[i]`` (rest shared)."""
    out = np.zeros((len(top), 4))
    for row, (p, k) in enumerate(zip(top, classes, strict=True)):
        out[row] = (1 - p) / 3
        out[row, k] = p
    return out


def test_scored_counts_a_partial_pneumonia_label_right_for_bacterial_or_viral():
    y_true = np.array([LABELS.index("pneumonia")] * 3 + [LABELS.index("normal")])
    films = scored(y_true, _probs([0.9, 0.8, 0.7, 0.6], [1, 2, 0, 0]))
    assert films.correct.tolist() == [True, True, False, True]
    assert films.confidence.tolist() == pytest.approx([0.9, 0.8, 0.7, 0.6])


def test_curve_by_hand():
    films = Scored(np.array([True, False, True, True]), np.array([0.9, 0.8, 0.7, 0.6]))
    result = curve(films, points=4)
    assert result["coverage"] == [0.25, 0.5, 0.75, 1.0]
    assert result["risk"] == pytest.approx([0.0, 0.5, 1 / 3, 0.25], abs=1e-4)
    assert result["threshold"] == [0.9, 0.8, 0.7, 0.6]
    assert result["aurc"] == pytest.approx(np.mean([0.0, 0.5, 1 / 3, 0.25]))
    assert curve(Scored(np.zeros(0, bool), np.zeros(0)))["aurc"] is None


def test_kept_is_inclusive_at_the_threshold():
    films = Scored(np.array([True, False, True]), np.array([0.9, 0.7, 0.5]))
    assert kept(films, 0.7) == {"n_kept": 2, "coverage": pytest.approx(2 / 3), "accuracy": 0.5}
    assert kept(films, 0.95)["accuracy"] is None


def test_threshold_is_the_lowest_meeting_the_target_in_every_set():
    # set a: errors at 0.5 and 0.6 -> all kept above 0.6 are right; set b: one error at 0.75
    rng = np.random.default_rng(0)
    conf_a = np.concatenate([[0.5, 0.6], rng.uniform(0.61, 0.99, 40)])
    conf_b = np.concatenate([[0.75], rng.uniform(0.76, 0.99, 40)])
    a = Scored(np.arange(42) >= 2, conf_a)
    b = Scored(np.arange(41) >= 1, conf_b)
    alone = choose_threshold({"a": a}, target=1.0, min_kept=5)
    both = choose_threshold({"a": a, "b": b}, target=1.0, min_kept=5)
    assert alone["threshold"] == 0.61
    assert both["threshold"] == 0.76 and both["fitted_on"] == "a+b"
    assert both["each_set_alone"] == {"a": 0.61, "b": 0.76}
    assert both["sets"]["a"]["accuracy"] == 1.0 and both["sets"]["b"]["n_kept"] == 40
    assert both["sets"]["a"]["coverage"] == pytest.approx(np.mean(conf_a >= 0.76))


def test_no_threshold_when_too_few_films_would_be_kept():
    films = Scored(np.array([True] * 5), np.full(5, 0.9))
    record = choose_threshold({"val": films}, min_kept=risk_coverage.MIN_KEPT)
    assert record["threshold"] is None and record["sets"] == {}


def test_section_and_card_rows():
    y_true = np.array([0, 0, 1, 1])
    probs = _probs([0.9, 0.6, 0.8, 0.7], [0, 1, 1, 1])
    result = section(y_true, probs, UncertainThreshold(threshold=0.7))
    point = result["operating_point"]
    assert (point["n_kept"], point["coverage"], point["accuracy"], point["confident_wrong"]) == (3, 0.75, 1.0, 0)
    assert section(y_true, probs, None)["operating_point"] is None
    lines = markdown({"splits": {"test": {"risk_coverage": result, "n_images": 4}, "external": {}}})
    assert any(line.startswith("| test | 0.700 | 4 | 0.750 | 1.000 | 0 |") for line in lines)
    assert markdown({"splits": {"test": {}}}) == []


def test_section_counts_the_films_predict_kept_per_age_group():
    y_true = np.array([0, 0, 1, 1])
    probs = _probs([0.9, 0.6, 0.8, 0.7], [0, 1, 1, 1])  # film 1 is wrong
    kept = np.array([True, True, False, True])  # as predict flagged them (per-age thresholds, refusals)
    ages = np.array(["adult", "adult", "pediatric", "pediatric"])
    fitted = UncertainThreshold(threshold=0.9, by_age={"adult": 0.5, "pediatric": 0.75})
    point = section(y_true, probs, fitted, kept, ages)["operating_point"]
    assert (point["n_kept"], point["confident_wrong"], point["by_age"]["adult"]) == (3, 1, 0.5)
    adult, pediatric = point["per_age_group"]["adult"], point["per_age_group"]["pediatric"]
    assert (adult["n"], adult["n_kept"], adult["coverage"], adult["accuracy"], adult["confident_wrong"]) == (
        2,
        2,
        1.0,
        0.5,
        1,
    )
    assert (pediatric["n_kept"], pediatric["coverage"], pediatric["accuracy"]) == (1, 0.5, 1.0)
    lines = markdown({"splits": {"external_adult": {"risk_coverage": {"operating_point": point}, "n_images": 4}}})
    assert any("adult 0.50 / pediatric 0.75" in line for line in lines)
    assert any(line.startswith("| external_adult, adult films |") for line in lines)


def test_thresholds_per_age_group_keep_the_target_in_every_set():
    # set b's adult films are wrong up to a top probability of 0.80: at 0.80 one of 10 kept is wrong (90 %), from
    # 0.81 all 9 kept are right. Every pediatric film is right, so pediatric films keep the lowest grid value.
    grid = np.round(np.arange(0.5, 1.0, 0.01), 2)
    adult_conf = np.round(np.arange(25) * 0.02 + 0.5, 2)  # 0.50, 0.52, ..., 0.98
    sets = {
        "a": Scored(np.ones(50, bool), np.linspace(0.5, 0.99, 50)),
        "b": Scored(np.concatenate([adult_conf > 0.8, np.ones(25, bool)]), np.concatenate([adult_conf, adult_conf])),
    }
    ages = {"a": np.array(["pediatric"] * 50), "b": np.array(["adult"] * 25 + ["pediatric"] * 25)}
    record = risk_coverage.choose_thresholds_by_age(sets, ages, target=0.95, grid=grid, min_kept=5)
    assert record["by_age"] == {"adult": 0.81, "pediatric": 0.5} and record["reached"] == {
        "adult": True,
        "pediatric": True,
    }
    assert record["threshold"] == 0.81  # films without an estimate get the stricter one
    assert record["sets"]["b"]["adult"]["accuracy"] == 1.0 and record["sets"]["a"]["pediatric"]["coverage"] == 1.0
    never = risk_coverage.choose_thresholds_by_age(
        {"a": Scored(np.zeros(10, bool), np.full(10, 0.99))}, {"a": np.array(["adult"] * 10)}, grid=grid, min_kept=5
    )
    assert never["by_age"] == {"adult": 1.0} and never["reached"] == {"adult": False}  # every adult film referred
