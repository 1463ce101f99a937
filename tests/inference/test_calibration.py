import numpy as np
import pytest

from xray_core.evaluation import metrics
from xray_core.inference.calibration import apply_temperature, calibrated_softmax, fit_temperature


def test_temperature_lowers_nll_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 2000)
    clean = rng.normal(0, 1, (2000, 4))
    clean[np.arange(2000), labels] += 1.5  # informative but noisy logits
    overconfident = clean * 4.0
    temperature = fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(4.0 / 1.5, rel=0.15)  # calibrated logits are 1.5 * clean (Gaussian LLR)
    before = metrics.calibration(labels, apply_temperature(overconfident, 1.0))
    after = metrics.calibration(labels, apply_temperature(overconfident, temperature))
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"]


def test_apply_temperature_rows_sum_to_one_and_keep_ranking():
    logits = np.array([[10.0, 0.0, -5.0, 2.0]])
    probabilities = apply_temperature(logits, 3.0)
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities.argmax() == 0


def test_numpy_twin_matches_calibrated_softmax() -> None:
    """The ONNX engine and evaluation use the numpy twin; it must equal the torch softmax."""
    import torch

    logits = np.random.default_rng(0).normal(scale=4, size=(5, 4)).astype(np.float32)
    expected = calibrated_softmax(torch.from_numpy(logits), 0.7).numpy()
    np.testing.assert_allclose(apply_temperature(logits, 0.7), expected, rtol=0, atol=1e-7)
