"""Fitting the age-group probe: tiny synthetic features, numbers that predict with numpy, val AUC."""

from __future__ import annotations

import numpy as np
import pytest

from xray_core.evaluation.age_probe import fit_age_probe
from xray_core.evaluation.shortcuts import fit_probe
from xray_core.inference.age import estimate_age
from xray_core.models.records import AgeProbe


def _features(n: int, seed: int, shift: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 8) features; pediatric films have feature 3 shifted by ``shift``; a few unknown-age rows."""
    rng = np.random.default_rng(seed)
    groups = np.array(["pediatric", "adult"] * (n // 2), dtype=object)
    x = rng.normal(size=(n, 8)) * np.arange(1, 9)
    x[groups == "pediatric", 3] += shift * 4
    groups[:3] = ""
    return x, groups


def test_probe_numbers_reproduce_the_sklearn_pipeline():
    x_train, g_train = _features(200, 0)
    x_val, g_val = _features(100, 1)
    record = fit_age_probe(x_train, g_train, x_val, g_val)
    probe = AgeProbe.from_dict(record)
    assert probe.classes == ("adult", "pediatric") and len(record["weights"]) == 8
    assert record["n_train"] == {"adult": 99, "pediatric": 98}  # unknown-age rows left out
    keep = g_train != ""
    reference = fit_probe(x_train[keep], g_train[keep].astype(str)).predict_proba(x_val)[:, 1]
    np.testing.assert_allclose(probe.positive_probability(x_val), reference, atol=1e-9)
    assert record["val_auc"] > 0.95 and record["val_accuracy"] > 0.9


def test_probe_on_uninformative_features_scores_near_chance():
    x_train, g_train = _features(400, 2, shift=0.0)
    x_val, g_val = _features(400, 3, shift=0.0)
    assert fit_age_probe(x_train, g_train, x_val, g_val)["val_auc"] == pytest.approx(0.5, abs=0.1)


def test_estimates_name_the_more_likely_group():
    x_train, g_train = _features(200, 0)
    record = fit_age_probe(x_train, g_train, x_train, g_train)
    child, adult = x_train[g_train == "pediatric"][:1], x_train[g_train == "adult"][:1]
    estimates = estimate_age(AgeProbe.from_dict(record), np.concatenate([child, adult]))
    assert [e.group for e in estimates] == ["pediatric", "adult"]
    assert all(0.5 <= e.probability <= 1 for e in estimates)


def test_one_age_group_is_refused():
    x, groups = _features(20, 0)
    with pytest.raises(ValueError, match="both groups"):
        fit_age_probe(x, np.where(groups == "", "", "adult"), x, groups)
