"""Lung-cropped checkpoints on the ONNX engine: the segmenter's export gives torch's boxes, the whole chain gives
torch's probabilities, and scoring still never imports torch."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _factories import onnx_predict_in_a_fresh_process

from xray_core.config import REPO_ROOT, Preprocessing
from xray_core.inference import ood
from xray_core.inference.lungs import crop
from xray_core.inference.lungs.segment import load_segmenter
from xray_core.inference.onnx.engine import load_onnx
from xray_core.inference.onnx.export import export_onnx
from xray_core.inference.onnx.records import OnnxUnavailable
from xray_core.inference.onnx.segmenter_export import compare_segmenters
from xray_core.inference.predict import predict_batch
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint, save_checkpoint
from xray_core.models.networks import build_model
from xray_core.models.preprocessing import to_tensor
from xray_core.models.resize import box_from_mask, to_array
from xray_core.models.unet import SegmenterError, SegmenterMeta, UNet, save_segmenter

SHIPPED = REPO_ROOT / "weights" / "lung_unet.pt"
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason="the shipped lung segmenter is not in weights/")


def chest(height: int, width: int, seed: int) -> np.ndarray:
    """A bright body with two darker lung-shaped ellipses and noise: the shipped U-Net finds lungs in it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    film = 0.75 - 0.1 * y
    for centre in (0.32 + 0.02 * seed, 0.68):
        inside = ((x - centre) / 0.14) ** 2 + ((y - 0.45) / 0.28) ** 2 < 1
        film = np.where(inside, 0.25 + 0.1 * y, film)
    return np.clip(film + 0.03 * rng.standard_normal((height, width)), 0, 1).astype(np.float32)


def _films(seed: int = 0) -> list[XrayImage]:
    sizes = [(128, 128), (200, 160), (90, 150), (256, 256), (61, 77)]
    films = [XrayImage(chest(h, w, seed + i), {"name": f"chest{i}"}) for i, (h, w) in enumerate(sizes)]
    noise = np.random.default_rng(seed).integers(0, 256, (70, 60)).astype(np.uint8)
    flat = XrayImage(np.full((50, 50), 0.5, np.float32), {"name": "flat"})
    return [*films, XrayImage(noise, {"name": "noise"}), flat]


@pytest.fixture(scope="module", autouse=True)
def shipped_segmenter():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XRAY_SEGMENTER", str(SHIPPED))
        yield load_segmenter(SHIPPED)


def _cropped_checkpoint(path: Path, segmenter_sha256: str, mask: str = "none") -> Path:
    torch.manual_seed(0)
    prep = Preprocessing(image_size=64, crop="lungs", crop_margin=0.08, crop_segmenter=segmenter_sha256, mask=mask)
    rng = np.random.default_rng(0)
    meta = {
        "arch": "resnet18",
        "preprocessing": prep.to_dict(),
        "version": "test-cropped",
        "calibration": {"temperature": 1.5},
        "ood": ood.fit(rng.normal(size=(64, 512)), rng.integers(0, 4, 64), rng.normal(size=(32, 512))),
    }
    save_checkpoint(path, build_model("resnet18", in_channels=1).eval(), meta)
    return path


@pytest.fixture(scope="module")
def cropped(shipped_segmenter, tmp_path_factory) -> tuple[Path, Path, dict]:
    """A lung-cropped tiny checkpoint, its export folder and the export's report."""
    folder = tmp_path_factory.mktemp("cropped")
    checkpoint = _cropped_checkpoint(folder / "cropped.pt", shipped_segmenter.sha256)
    report = export_onnx(checkpoint, _films(), folder / "onnx")
    return checkpoint, folder / "onnx", report


def test_numpy_segmenter_input_equals_torchs(shipped_segmenter) -> None:
    prep = shipped_segmenter.preprocessing
    for film in _films(seed=3):
        for pixels in (film.pixels, (np.asarray(film.pixels, np.float32) * 255).astype(np.uint8)):
            np.testing.assert_array_equal(to_array(pixels, prep), to_tensor(pixels, prep).numpy())


def test_export_writes_a_verified_segmenter_beside_the_classifier(cropped, shipped_segmenter) -> None:
    _, folder, report = cropped
    segmenter = report["segmenter"]
    assert segmenter["segmenter_sha256"] == shipped_segmenter.sha256
    assert Path(segmenter["path"]).parent == folder and Path(segmenter["path"]).is_file()
    assert segmenter["max_abs_difference"]["probability"] <= 1e-5 and segmenter["max_abs_difference"]["same_boxes"]
    assert report["max_abs_difference"]["probabilities"] <= 1e-5 and report["max_abs_difference"]["same_decisions"]


def onnx_boxes(engine, films: list[XrayImage]) -> list[tuple[int, int, int, int]]:
    """The crop boxes the ONNX engine draws (``OnnxModel.inputs``): the segmenter export's masks, boxed."""
    masks = engine.segmenter.masks([film.pixels for film in films])
    return [box_from_mask(mask, engine.preprocessing.crop_margin) for mask in masks]


def test_onnx_boxes_equal_torch_boxes_on_generated_films(cropped, shipped_segmenter) -> None:
    checkpoint, folder, _ = cropped
    engine = load_onnx(checkpoint, folder)
    prep = engine.preprocessing
    films = _films(seed=5)
    expected = [crop.crop_box(prep, film) for film in films]
    assert onnx_boxes(engine, films) == expected
    whole = [(0, f.pixels.shape[0], 0, f.pixels.shape[1]) for f in films]
    assert sum(box != full for box, full in zip(expected, whole, strict=True)) >= 4  # real crops, not whole films
    figures = compare_segmenters(shipped_segmenter, engine.segmenter, [film.pixels for film in films])
    assert figures["probability"] <= 1e-5 and figures["mask_pixels"] == 0


@pytest.mark.corpus
def test_onnx_boxes_equal_torch_boxes_on_real_films(cropped, corpus_dir) -> None:
    checkpoint, folder, _ = cropped
    engine = load_onnx(checkpoint, folder)
    table = pd.read_csv(corpus_dir / "external" / "manifest.csv")
    films = [read_image(corpus_dir / "external" / file) for file in table["file"].iloc[::25][:8]]
    prep = engine.preprocessing
    expected = [crop.crop_box(prep, film) for film in films]
    assert onnx_boxes(engine, films) == expected
    loaded = load_checkpoint(checkpoint)
    for want, got in zip(predict_batch(loaded, films), engine.predict_batch(films), strict=True):
        np.testing.assert_allclose(list(got.probabilities.values()), list(want.probabilities.values()), atol=1e-5)


def test_cropping_checkpoint_onnx_predictions_equal_torch(cropped) -> None:
    checkpoint, folder, _ = cropped
    engine, loaded = load_onnx(checkpoint, folder), load_checkpoint(checkpoint)
    films = _films(seed=7)  # not the verification films
    expected, actual = predict_batch(loaded, films, batch_size=3), engine.predict_batch(films, batch_size=3)
    for want, got in zip(expected, actual, strict=True):
        assert got.name == want.name and got.label == want.label
        np.testing.assert_allclose(list(got.probabilities.values()), list(want.probabilities.values()), atol=1e-5)
        np.testing.assert_allclose(got.logits, want.logits, atol=1e-4)
        assert [d.code for d in got.decisions] == [d.code for d in want.decisions]


def test_lung_masked_checkpoint_onnx_predictions_equal_torch(shipped_segmenter, tmp_path) -> None:
    checkpoint = _cropped_checkpoint(tmp_path / "masked.pt", shipped_segmenter.sha256, mask="lungs")
    report = export_onnx(checkpoint, _films(), tmp_path / "onnx")
    assert report["max_abs_difference"]["probabilities"] <= 1e-5
    engine, loaded = load_onnx(checkpoint, tmp_path / "onnx"), load_checkpoint(checkpoint)
    films = _films(seed=7)
    inputs = engine.inputs(films)
    prep = loaded.preprocessing
    expected = np.stack([crop.model_input(prep, film)[0][0].numpy() for film in films])
    np.testing.assert_allclose(inputs, expected, atol=1e-5)
    unmasked = np.stack([crop.model_input(replace(prep, mask="none"), film)[0][0].numpy() for film in films])
    assert np.abs(inputs - unmasked).max() > 0.1  # the mask blanked something
    for want, got in zip(predict_batch(loaded, films), engine.predict_batch(films), strict=True):
        np.testing.assert_allclose(list(got.probabilities.values()), list(want.probabilities.values()), atol=1e-5)


def test_cropping_cli_predict_never_imports_torch(cropped, tmp_path) -> None:
    from PIL import Image

    checkpoint, folder, _ = cropped
    film = tmp_path / "film.png"
    Image.fromarray((chest(180, 150, 9) * 255).astype(np.uint8)).save(film)
    env = {**os.environ, "XRAY_ONNX_DIR": str(folder), "XRAY_SEGMENTER": str(SHIPPED)}
    status, rows, stderr = onnx_predict_in_a_fresh_process(checkpoint, film, env)
    assert status == {"code": 0, "torch": False}, stderr
    expected = predict_batch(load_checkpoint(checkpoint), [XrayImage(np.asarray(Image.open(film)))])[0]
    probabilities = list(rows[0]["probabilities"].values())
    np.testing.assert_allclose(probabilities, list(expected.probabilities.values()), atol=1e-5)


def test_a_different_installed_segmenter_is_refused(cropped, tmp_path, monkeypatch) -> None:
    checkpoint, folder, _ = cropped
    other = tmp_path / "other_lungs.pt"
    save_segmenter(other, UNet(1, (4, 8)), SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8)))
    monkeypatch.setenv("XRAY_SEGMENTER", str(other))
    with pytest.raises(OnnxUnavailable, match="is not the file the ONNX export of segmenter") as caught:
        load_onnx(checkpoint, folder)  # its own export is missing: torch reads the .pt and decides
    assert not caught.value.quiet
    with pytest.raises(SegmenterError, match="trained on lung boxes from segmenter"):
        export_onnx(checkpoint, _films()[:1], tmp_path / "exports")  # torch's check, before anything is written
    assert not list((tmp_path / "exports").glob("*.onnx"))
    from xray_core.inference.onnx.segmenter_export import export_segmenter

    export_segmenter(load_segmenter(other), _films()[:1], folder)  # now ONNX knows which segmenter it is
    with pytest.raises(OnnxUnavailable, match="trained on lung boxes from segmenter") as caught:
        load_onnx(checkpoint, folder)
    assert not caught.value.quiet


def test_a_missing_segmenter_export_says_how_to_make_it(cropped, tmp_path) -> None:
    checkpoint, folder, _ = cropped
    alone = tmp_path / "alone"
    alone.mkdir()
    classifier = next(folder.glob(f"{checkpoint.stem}-*.onnx"))
    (alone / classifier.name).write_bytes(classifier.read_bytes())
    with pytest.raises(OnnxUnavailable, match="no ONNX export of the lung segmenter.*export-onnx") as caught:
        load_onnx(checkpoint, alone)
    assert caught.value.quiet
