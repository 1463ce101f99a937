"""Follow-up maths: one colour scale for two maps, and the change per class."""

from __future__ import annotations

import numpy as np
import pytest

from xray_core.explain.cam import explain
from xray_core.explain.compare import compare, probability_change, shared_scale
from xray_core.models.checkpoint import load_checkpoint


def test_shared_scale_divides_both_maps_by_the_larger_peak() -> None:
    weak, strong = np.array([[0.0, 1.0], [0.5, 0.25]]), np.array([[1.0, 0.5], [0.0, 0.0]])
    (weak_shared, strong_shared), peak = shared_scale([weak, strong], [2.0, 8.0])
    assert peak == 8.0
    np.testing.assert_allclose(strong_shared, strong)  # the stronger map keeps its range
    np.testing.assert_allclose(weak_shared, weak * 0.25)  # raw 2.0 peak is a quarter of 8.0
    assert weak_shared.max() < 1.0 and strong_shared.max() == 1.0


def test_shared_scale_of_empty_maps_is_zero_and_lengths_must_match() -> None:
    maps, peak = shared_scale([np.ones((2, 2)), np.ones((2, 2))], [0.0, 0.0])
    assert peak == 0.0 and all(not m.any() for m in maps)
    with pytest.raises(ValueError, match="2 maps but 1 peaks"):
        shared_scale([np.ones(2), np.ones(2)], [1.0])


def test_probability_change_is_current_minus_prior() -> None:
    prior = {"normal": 0.7, "bacterial": 0.1, "viral": 0.1, "covid": 0.1}
    current = {"normal": 0.2, "bacterial": 0.5, "viral": 0.2, "covid": 0.1}
    change = probability_change(prior, current)
    assert change == pytest.approx({"normal": -0.5, "bacterial": 0.4, "viral": 0.1, "covid": 0.0})
    assert sum(change.values()) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="different classes"):
        probability_change(prior, {"normal": 1.0})


def test_compare_two_explanations_of_the_same_class(tiny_checkpoint) -> None:
    loaded = load_checkpoint(tiny_checkpoint)
    rng = np.random.default_rng(0)
    films = [rng.integers(0, 255, (80, 64)).astype(np.uint8), rng.integers(0, 255, (96, 96)).astype(np.uint8)]
    prior = explain(loaded, films[0], target="viral")
    current = explain(loaded, films[1], target="viral")
    result = compare(prior, current)
    assert result.prior_map.shape == (80, 64) and result.current_map.shape == (96, 96)
    assert result.peak == pytest.approx(max(prior.raw_max, current.raw_max))
    stronger, weaker = (prior, current) if prior.raw_max >= current.raw_max else (current, prior)
    strong_map, weak_map = (
        (result.prior_map, result.current_map) if stronger is prior else (result.current_map, result.prior_map)
    )
    np.testing.assert_allclose(strong_map, stronger.cam, atol=1e-6)  # the stronger map is unchanged
    np.testing.assert_allclose(weak_map, weaker.cam * weaker.raw_max / stronger.raw_max, atol=1e-6)
    assert prior.raw_max != pytest.approx(current.raw_max)  # else this test could not tell shared from own scaling
    with pytest.raises(ValueError, match="same class"):
        compare(prior, explain(loaded, films[1], target="covid"))
