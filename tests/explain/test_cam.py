"""explain, overlay and the explain CLI: shapes, a hand-built model with a known answer, threads, strength."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from _region_net import region_loaded
from PIL import Image

from xray_core.cli.main import main as cli_main
from xray_core.explain import replicas
from xray_core.explain.cam import explain
from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD, FAST_METHODS, method_key
from xray_core.explain.overlay import hot_region, outline, overlay, to_rgb
from xray_core.inference.predict import predict_batch, predict_image
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import load_checkpoint

SIZES = [(64, 64), (37, 90), (211, 150)]  # (H, W): the input size, a wide odd one, a larger tall one


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small models run fastest on one intra-op thread (and the CI box is shared)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def textured(height: int, width: int, seed: int = 0, low: float = 0.7) -> XrayImage:
    rng = np.random.default_rng(seed)
    return XrayImage(rng.uniform(low, 1.0, (height, width)).astype(np.float32), {"name": f"img{seed}.png"})


def _check_map(result, shape) -> None:
    for cam, expected in ((result.cam, shape), (result.cam_input, (64, 64))):
        assert cam.shape == expected and cam.dtype == np.float32
        assert np.isfinite(cam).all() and cam.min() >= 0 and cam.max() <= 1
    assert np.isfinite([result.raw_max, result.raw_mean, result.evidence]).all()
    assert result.strength in ("strong", "moderate", "weak", "flat")


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("method", [*FAST_METHODS, "randomcam"])
def test_fast_methods_give_unit_maps_at_image_size(loaded, method, shape):
    result = explain(loaded, textured(*shape, low=0.0), method)
    _check_map(result, shape)
    assert result.method == method and result.target == result.prediction.label


@pytest.mark.parametrize("shape", SIZES[:2])
@pytest.mark.parametrize("method", list(CAM_METHODS))
def test_every_method_on_a_small_network(method, shape):
    _check_map(explain(region_loaded(), textured(*shape), method), shape)  # 2 channels: slow methods are fast


@pytest.mark.parametrize("method", [m for m, spec in CAM_METHODS.items() if spec.class_specific and not spec.baseline])
def test_map_mass_lies_in_the_region_that_drives_the_logit(method):
    height, width = 60, 100  # not square: the map must follow the squash back to the original geometry
    result = explain(region_loaded(), textured(height, width), method)
    inside = result.cam[: height // 2, : width // 2].sum()
    assert result.target == "bacterial"
    assert inside / result.cam.sum() > 0.85
    assert result.cam[: height // 2 - 4, : width // 2 - 4].min() > 0.5  # the whole region lights up
    assert result.strength == "strong" and not result.flat


def test_evidence_is_the_logit_contribution_and_a_zero_class_is_flat():
    loaded = region_loaded(gain=5.0)
    result = explain(loaded, textured(64, 64), "gradcam")
    assert result.evidence == pytest.approx(result.prediction.logits[1], rel=1e-3)  # T = 1, bias = 0
    other = explain(loaded, textured(64, 64), "gradcam", target="covid")  # logit does not depend on the image
    assert other.target == "covid" and other.flat and other.strength == "flat" and other.raw_max == 0
    assert other.notes and np.isfinite(other.cam).all()


@pytest.mark.parametrize("method", [DEFAULT_METHOD, "gradcam"])
def test_evidence_is_the_logit_minus_its_bias_whatever_stage_the_map_hooks(tiny_checkpoint, method):
    """A real ResNet-18 whose target weights are all positive: every cell at the pool's input argues for the class,
    so the positive cells add up exactly to the logit minus its bias, for a layer3 map as for a layer4 one."""
    loaded = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        loaded.model.fc.weight[2].abs_()
        loaded.model.fc.bias[2] = -3.0
    result = explain(loaded, textured(80, 70, seed=5, low=0.0), method, target="viral")
    logit_share = (result.prediction.logits[2] + 3.0) / loaded.temperature
    assert logit_share > 0.01 and result.evidence == pytest.approx(logit_share, rel=1e-3, abs=1e-4)


def test_prediction_comes_from_the_same_pass(loaded):
    image = textured(80, 70, seed=3, low=0.0)
    result, reference = explain(loaded, image, "gradcam"), predict_image(loaded, image)
    np.testing.assert_allclose(result.prediction.logits, reference.logits, rtol=1e-4, atol=1e-5)
    assert result.prediction.label == reference.label and result.prediction.name == "img3.png"
    assert result.prediction.ood_score == pytest.approx(reference.ood_score, rel=1e-4)
    assert sum(result.prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_targets_and_method_names(loaded):
    image = textured(64, 64, low=0.0)
    assert explain(loaded, image, "GradCAM-PP", target="viral").target == "viral"
    assert explain(loaded, image, "hirescam", target=3).target_index == 3
    assert explain(loaded, image, "gradcam", target="auto").target == predict_image(loaded, image).label
    assert method_key("Grad-CAM++") == "gradcam++"
    with pytest.raises(ValueError, match="normal, bacterial, viral, covid"):
        explain(loaded, image, target="pneumonia")
    with pytest.raises(ValueError, match="gradcam, gradcam\\+\\+"):
        explain(loaded, image, method="smoothgrad")


def test_shared_model_is_never_hooked_or_modified(loaded):
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    explain(loaded, textured(64, 64), "gradcam")
    modules = list(loaded.model.modules())
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in modules)
    assert all(p.requires_grad for p in loaded.model.parameters()) and not loaded.model.training
    assert all(torch.equal(before[k], v) for k, v in loaded.model.state_dict().items())


def test_replica_follows_in_place_weight_changes():
    loaded = region_loaded()
    assert not explain(loaded, textured(64, 64), "gradcam").flat
    with torch.no_grad():
        loaded.model.fc.weight[1, 0] = 0.0  # class 1 no longer depends on the image
    assert explain(loaded, textured(64, 64), "gradcam", target="bacterial").flat


def test_concurrent_explanations_equal_sequential_ones(loaded):
    images = [textured(48 + 9 * i, 100 - 7 * i, seed=i, low=0.0) for i in range(8)]
    methods = [FAST_METHODS[i % len(FAST_METHODS)] for i in range(8)]
    sequential = [explain(loaded, image, method) for image, method in zip(images, methods)]
    plain = predict_batch(loaded, images)
    barrier = threading.Barrier(10)

    def explain_one(i: int):
        barrier.wait()
        return explain(loaded, images[i], methods[i])

    def predict_all(_: int):
        barrier.wait()
        return predict_batch(loaded, images, batch_size=2)  # no hooks, inference mode, same shared model

    with ThreadPoolExecutor(max_workers=10) as pool:  # 8 explanations and 2 plain predictions start together
        explaining = [pool.submit(explain_one, i) for i in range(8)]
        predicting = [pool.submit(predict_all, i) for i in range(2)]
        explained, predicted = [f.result() for f in explaining], [f.result() for f in predicting]
    for batch in predicted:
        np.testing.assert_allclose([p.logits for p in batch], [p.logits for p in plain], rtol=1e-5, atol=1e-5)
    for got, want in zip(explained, sequential):
        np.testing.assert_allclose(got.cam, want.cam, atol=1e-5)
        np.testing.assert_allclose(got.prediction.logits, want.prediction.logits, rtol=1e-5, atol=1e-5)
        assert (got.target, got.raw_max) == (want.target, pytest.approx(want.raw_max, rel=1e-4))
    assert all(len(idle) <= replicas.MAX_IDLE_REPLICAS for idle in replicas._POOL[loaded.model].values())


def test_overlay_and_outline_shapes():
    pixels, cam = np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(40, 30), np.zeros((40, 30), np.float32)
    cam[5:15, 5:15] = 1.0
    for image in (pixels, (pixels * 255).astype(np.uint8), to_rgb(pixels)):
        picture = overlay(image, cam, alpha=0.4)
        assert picture.shape == (40, 30, 3) and picture.dtype == np.uint8
    assert overlay(pixels, cam[:20, :15], colormap="inferno").shape == (40, 30, 3)  # resized map
    np.testing.assert_array_equal(overlay(pixels, cam, alpha=0.0)[..., 0], np.round(pixels * 255))
    drawn = outline(pixels * 0.5, cam, percentile=90, color=(0, 255, 0))
    assert drawn.shape == (40, 30, 3) and drawn.dtype == np.uint8
    assert (drawn[..., 1] == 255).any() and (drawn[..., 0][drawn[..., 1] == 255] == 0).all()
    np.testing.assert_array_equal(outline(pixels, np.full((40, 30), 0.3), 90), (to_rgb(pixels) * 255).round())
    assert hot_region(np.arange(100.0).reshape(10, 10), 90).sum() == 10
    with pytest.raises(ValueError, match="colormap"):
        overlay(pixels, cam, colormap="rainbowish")


def _png(tmp_path, name="film.png", shape=(90, 70)) -> str:
    path = tmp_path / name
    Image.fromarray(np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)).save(path)
    return str(path)


def test_cli_explain_json_and_overlay(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "o" / "overlay.png"
    code = cli_main(
        [
            "explain",
            _png(tmp_path),
            "--checkpoint",
            str(tiny_checkpoint),
            "--method",
            "layercam",
            "--target",
            "covid",
            "--out",
            str(out),
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["target"] == "covid" and report["method"] == "layercam"
    assert report["strength"] in ("strong", "moderate", "weak", "flat") and "probabilities" in report["prediction"]
    assert np.asarray(Image.open(out)).shape == (90, 70, 3)


def test_cli_explain_text_and_errors(tiny_checkpoint, tmp_path, capsys):

    assert cli_main(["explain", _png(tmp_path), "--checkpoint", str(tiny_checkpoint)]) == 0
    assert f"explanation: {DEFAULT_METHOD} for" in capsys.readouterr().out
    assert cli_main(["explain", _png(tmp_path), "--checkpoint", str(tiny_checkpoint), "--target", "flu"]) == 2
    assert "expected 'auto' or one of" in capsys.readouterr().err
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert cli_main(["explain", str(tmp_path / "bad.png"), "--checkpoint", str(tiny_checkpoint)]) == 1


def test_plain_arrays_uint8_and_float_agree(loaded):
    pixels = textured(50, 70, seed=5, low=0.0).pixels
    as_float, as_uint8 = explain(loaded, pixels), explain(loaded, np.round(pixels * 255).astype(np.uint8))
    assert as_float.cam.shape == (50, 70) and as_float.target == as_uint8.target
    np.testing.assert_allclose(as_float.prediction.logits, as_uint8.prediction.logits, atol=0.05)
