import numpy as np
import pytest
import torch

from xray_core.inference.calibration import calibrated_softmax
from xray_core.inference.predict import predict_batch, predict_image
from xray_core.io.image import XrayImage


def _image(seed: int, shape=(90, 70)) -> XrayImage:
    pixels = np.random.default_rng(seed).random(shape, dtype=np.float32)
    return XrayImage(pixels=pixels, meta={"name": f"img{seed}.png"})


def test_single_prediction_is_typed_and_sums_to_one(loaded):
    result = predict_image(loaded, _image(0))
    assert set(result.probabilities) == set(loaded.class_names)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.label == max(result.probabilities, key=result.probabilities.get)
    assert result.name == "img0.png" and result.elapsed_ms > 0 and len(result.logits) == 4
    assert result.ood_score is not None and result.ood_threshold is not None
    assert result.has("untrained_model") and not any(d.refuses for d in result.decisions if d.code == "untrained_model")
    assert result.to_dict()["label"] == result.label


def test_batch_equals_single_and_keeps_order(loaded):
    images = [_image(seed, (60 + seed * 7, 80)) for seed in range(5)]
    batched = predict_batch(loaded, images, batch_size=2)
    assert [r.name for r in batched] == [f"img{s}.png" for s in range(5)]
    for image, result in zip(images, batched):
        single = predict_image(loaded, image)
        for name in loaded.class_names:
            assert result.probabilities[name] == pytest.approx(single.probabilities[name], abs=1e-5)


def test_same_input_gives_identical_probabilities(loaded):
    first = predict_image(loaded, _image(3)).probabilities
    second = predict_image(loaded, _image(3)).probabilities
    assert first == second


def test_temperature_softens_probabilities():
    logits = torch.tensor([[4.0, 1.0, 0.0, -1.0]])
    sharp = calibrated_softmax(logits, 1.0)
    soft = calibrated_softmax(logits, 2.0)
    assert soft.max() < sharp.max()
    torch.testing.assert_close(soft.sum(1), torch.ones(1))
