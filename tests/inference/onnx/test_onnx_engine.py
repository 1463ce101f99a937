"""The ONNX Runtime engine: numpy preprocessing, export verified against torch, SHA-256 keying, no torch import.

Lung-cropped checkpoints on this engine: tests/inference/onnx/test_onnx_segmenter.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from _factories import onnx_predict_in_a_fresh_process

from xray_core.config import Preprocessing
from xray_core.evaluation.reliability.forgeries import forged_graph
from xray_core.inference import input_checks, ood
from xray_core.inference.onnx.engine import export_path, load_onnx
from xray_core.inference.onnx.export import export_onnx
from xray_core.inference.onnx.records import OnnxUnavailable, record_export
from xray_core.inference.predict import predict_batch
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint, update_meta
from xray_core.models.meta import OodStats
from xray_core.models.networks import penultimate_features
from xray_core.models.pinned import file_sha256
from xray_core.models.preprocessing import to_tensor
from xray_core.models.resize import to_array


def _films(count: int = 6, seed: int = 0) -> list[XrayImage]:
    """Chest-like gradients with noise, of varied sizes and aspect ratios, plus a flat and a noise image."""
    rng = np.random.default_rng(seed)
    films = []
    for index in range(count):
        height, width = 40 + 17 * index, 90 - 9 * index
        rows = np.linspace(0.2, 0.8, height, dtype=np.float32)[:, None]
        pixels = np.clip(rows + 0.1 * rng.standard_normal((height, width), dtype=np.float32), 0, 1)
        films.append(XrayImage(pixels, {"name": f"film{index}"}))
    films.append(XrayImage(np.full((50, 50), 0.5, np.float32), {"name": "flat"}))
    films.append(XrayImage(rng.integers(0, 256, (70, 60)).astype(np.uint8), {"name": "noise"}))
    return films


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint: Path, tmp_path_factory) -> Path:
    """The tiny checkpoint with refusal statistics fitted to its own features and to generated films, with
    thresholds low enough that some films are refused by each check and some are not."""
    path = tmp_path_factory.mktemp("onnx_ckpt") / "tiny_stats.pt"
    path.write_bytes(tiny_checkpoint.read_bytes())
    films = [film for seed in (1, 2, 3) for film in _films(6, seed=seed)[:6]]
    loaded = load_checkpoint(path)
    with torch.no_grad():
        batch = torch.stack([to_tensor(film.pixels, loaded.preprocessing) for film in films])
        features = penultimate_features(loaded.model, batch)[0].numpy()
    pixels = [film.pixels for film in films]
    update_meta(
        path,
        ood=ood.fit(features, np.arange(len(films)) % 2, features, percentile=50),
        input_stats=input_checks.fit(pixels, pixels, percentile=90),
    )
    return path


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("onnx_exports")
    return folder, export_onnx(checkpoint, _films(), folder)


@pytest.mark.parametrize("in_channels", [1, 3])
@pytest.mark.parametrize("shape", [(37, 91), (300, 120), (64, 64), (20, 200)])
def test_to_array_matches_to_tensor(shape: tuple[int, int], in_channels: int) -> None:
    prep = Preprocessing(image_size=64, in_channels=in_channels, mean=0.4, std=0.3)
    rng = np.random.default_rng(sum(shape))
    for pixels in (rng.random(shape, dtype=np.float32), rng.integers(0, 256, shape).astype(np.uint8)):
        expected = to_tensor(pixels, prep).numpy()
        actual = to_array(pixels, prep)
        assert actual.shape == expected.shape == (in_channels, 64, 64)
        assert actual.dtype == np.float32
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("box", [(0, 91, 0, 37), (10, 80, 3, 30), (45, 46, 0, 37)])
def test_to_array_crops_like_to_tensor(box: tuple[int, int, int, int]) -> None:
    prep = Preprocessing(image_size=32, crop="lungs", crop_segmenter="abc")
    rng = np.random.default_rng(1)
    for pixels in (rng.random((91, 37), dtype=np.float32), rng.integers(0, 256, (91, 37)).astype(np.uint8)):
        np.testing.assert_array_equal(to_array(pixels, prep, box=box), to_tensor(pixels, prep, box=box).numpy())
    with pytest.raises(ValueError, match="pass the crop box"):
        to_array(pixels, prep)
    with pytest.raises(ValueError, match="does not fit"):
        to_array(pixels, prep, box=(0, 92, 0, 37))


def test_to_array_masks_like_to_tensor() -> None:
    prep = Preprocessing(image_size=32, crop="lungs", crop_segmenter="abc", mask="lungs")
    rng = np.random.default_rng(2)
    pixels, lungs = rng.random((91, 37), dtype=np.float32), np.zeros((91, 37), bool)
    lungs[20:70, 5:15] = lungs[20:70, 22:33] = True
    box = (10, 80, 3, 35)
    expected = to_tensor(pixels, prep, box=box, lung_mask=lungs).numpy()
    np.testing.assert_array_equal(to_array(pixels, prep, box=box, lung_mask=lungs), expected)
    assert not np.array_equal(expected, to_array(pixels, Preprocessing(image_size=32, crop="lungs"), box=box))


def test_onnx_predictions_equal_torch(checkpoint: Path, exported: tuple[Path, dict]) -> None:
    folder, report = exported
    assert report["max_abs_difference"]["probabilities"] <= 1e-5
    engine, loaded = load_onnx(checkpoint, folder), load_checkpoint(checkpoint)
    films = _films(seed=1)  # not the verification films; the first six fitted the thresholds (half refused)
    expected, actual = predict_batch(loaded, films, batch_size=3), engine.predict_batch(films, batch_size=3)
    codes = [[d.code for d in p.decisions] for p in expected]
    assert 0 < sum("ood_features" in c for c in codes) < len(codes), codes  # both sides of the threshold
    assert any("image_statistics" in c or "uniform_image" in c for c in codes), codes
    for want, got in zip(expected, actual, strict=True):
        assert got.name == want.name and got.label == want.label
        np.testing.assert_allclose(list(got.probabilities.values()), list(want.probabilities.values()), atol=1e-5)
        np.testing.assert_allclose(got.logits, want.logits, atol=1e-4)
        assert got.ood_score == pytest.approx(want.ood_score, rel=1e-4)
        assert [d.code for d in got.decisions] == [d.code for d in want.decisions]
        assert got.refused == want.refused
    assert engine.identity()["sha256"] == loaded.sha256 and engine.identity()["engine"] == "onnx"


def test_export_is_keyed_to_the_checkpoint_file(checkpoint: Path, exported: tuple[Path, dict], tmp_path) -> None:
    folder, report = exported
    assert Path(report["path"]) == export_path(checkpoint, file_sha256(checkpoint), folder)
    changed = tmp_path / checkpoint.name
    changed.write_bytes(checkpoint.read_bytes())
    update_meta(changed, temperature=3.0)  # same name, new SHA-256: the export must not be used
    with pytest.raises(OnnxUnavailable, match="earlier") as caught:
        load_onnx(changed, folder)
    assert not caught.value.quiet
    with pytest.raises(OnnxUnavailable, match="no ONNX export") as caught:
        load_onnx(changed, tmp_path / "empty")
    assert caught.value.quiet


def test_a_corrupt_export_is_never_used(checkpoint: Path, tmp_path) -> None:
    path = export_path(checkpoint, file_sha256(checkpoint), tmp_path)
    path.write_bytes(b"not an onnx file")
    with pytest.raises(OnnxUnavailable, match="is ignored") as caught:
        load_onnx(checkpoint, tmp_path)
    assert not caught.value.quiet


def test_onnx_cli_predict_never_imports_torch(checkpoint: Path, exported: tuple[Path, dict], tmp_path) -> None:
    from PIL import Image

    film = tmp_path / "film.png"
    Image.fromarray((_films(1)[0].pixels * 255).astype(np.uint8)).save(film)
    env = {**os.environ, "XRAY_ONNX_DIR": str(exported[0])}
    status, rows, stderr = onnx_predict_in_a_fresh_process(checkpoint, film, env)
    assert status == {"code": 0, "torch": False}, stderr
    expected = predict_batch(load_checkpoint(checkpoint), [XrayImage(np.asarray(Image.open(film)))])[0]
    probabilities = list(rows[0]["probabilities"].values())
    np.testing.assert_allclose(probabilities, list(expected.probabilities.values()), atol=1e-5)


def test_per_age_group_offsets_survive_the_export(checkpoint: Path, exported: tuple[Path, dict], tmp_path) -> None:
    """The age-blended normal offset lives in the network's head, so the exported graph carries it too."""
    aged = tmp_path / "aged.pt"
    aged.write_bytes(checkpoint.read_bytes())
    rng = np.random.default_rng(0)
    probe = {
        "classes": ["adult", "pediatric"],
        "mean": [0.0] * 512,
        "scale": [1.0] * 512,
        "bias": 0.0,
        "weights": (rng.normal(size=512) * 0.1).tolist(),
    }
    update_meta(aged, age_probe=probe, operating_point={"age_offsets": {"adult": -1.0, "pediatric": 2.0}})
    report = export_onnx(aged, _films(), tmp_path / "exports")
    assert report["max_abs_difference"]["probabilities"] <= 1e-5
    films = _films(seed=4)
    plain = load_onnx(checkpoint, exported[0]).predict_batch(films)
    moved = load_onnx(aged, tmp_path / "exports").predict_batch(films)
    torch_moved = predict_batch(load_checkpoint(aged), films)
    normal = list(plain[0].probabilities).index("normal")
    shifts = []
    for p, m, t in zip(plain, moved, torch_moved, strict=True):
        np.testing.assert_allclose(m.logits, t.logits, atol=1e-4)
        np.testing.assert_allclose(np.delete(m.logits, normal), np.delete(p.logits, normal), atol=1e-4)
        shifts.append(m.logits[normal] - p.logits[normal])
    assert all(-1.0 - 1e-4 <= s <= 2.0 + 1e-4 for s in shifts) and np.ptp(shifts) > 1e-3  # blended per film


def test_a_forged_export_is_ignored_and_torch_scores(checkpoint: Path, exported, tmp_path, monkeypatch, capsys) -> None:
    """A graph placed in the export folder under the right name, with metadata naming the checkpoint, is never run:
    predict says so on one line and scores with torch, refusals included."""
    from PIL import Image

    from xray_core.cli.main import main

    forged = tmp_path / "forged"
    forged_graph(export_path(checkpoint, file_sha256(checkpoint), forged), checkpoint)
    with pytest.raises(OnnxUnavailable, match="is ignored: it is not a file 'export-onnx' verified") as caught:
        load_onnx(checkpoint, forged)
    assert not caught.value.quiet
    images = []
    for index, film in enumerate(_films(seed=1)[:6]):
        images.append(tmp_path / f"film{index}.png")
        Image.fromarray((film.pixels * 255).astype(np.uint8)).save(images[-1])
    monkeypatch.setenv("XRAY_ONNX_DIR", str(forged))
    capsys.readouterr()
    assert main(["predict", "--json", "--checkpoint", str(checkpoint), *map(str, images)]) in (0, 1)
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "ignored" in notes[0] and "scoring with torch" in notes[0], captured.err
    rows = json.loads(captured.out)
    expected = predict_batch(load_checkpoint(checkpoint), [read_image(path) for path in images])
    assert any(row["refused"] for row in rows)  # the forged graph would have passed every film as normal
    assert [row["label"] for row in rows] == [p.label for p in expected]
    assert [row["refused"] for row in rows] == [p.refused for p in expected]


def test_a_genuine_export_replaced_by_a_forged_one_is_ignored(checkpoint: Path, exported, tmp_path) -> None:
    folder, report = exported
    copy = tmp_path / "copy"
    copy.mkdir()
    genuine = copy / Path(report["path"]).name
    genuine.write_bytes(Path(report["path"]).read_bytes())
    assert load_onnx(checkpoint, copy).onnx_path == str(genuine)  # a verified export still loads from any folder
    forged_graph(genuine, checkpoint)
    with pytest.raises(OnnxUnavailable, match="is ignored"):
        load_onnx(checkpoint, copy)


def test_the_engine_reads_metadata_from_the_checkpoint_never_from_the_graph(checkpoint: Path, tmp_path) -> None:
    """Even a graph the records vouch for cannot change a number the prediction uses: its metadata is not read."""
    graph = forged_graph(export_path(checkpoint, file_sha256(checkpoint), tmp_path), checkpoint, temperature=40.0)
    record_export(checkpoint, file_sha256(checkpoint), file_sha256(graph), graph)
    engine, loaded = load_onnx(checkpoint, tmp_path), load_checkpoint(checkpoint)
    assert engine.meta == loaded.meta and engine.sha256 == loaded.sha256
    assert engine.temperature == loaded.temperature != 40.0 and engine.meta.ood == loaded.meta.ood


def test_records_inside_the_export_folder_vouch_for_nothing(checkpoint, exported, tmp_path, monkeypatch) -> None:
    folder, report = exported
    shared = tmp_path / "shared"
    shared.mkdir()
    graph = shared / Path(report["path"]).name
    graph.write_bytes(Path(report["path"]).read_bytes())
    monkeypatch.setenv("XRAY_CACHE_DIR", str(shared))  # records at shared/onnx-verified: writable by the exporters
    record_export(checkpoint, file_sha256(checkpoint), file_sha256(graph), graph)
    with pytest.raises(OnnxUnavailable, match="holds the records"):
        load_onnx(checkpoint, shared)


def test_ood_statistics_are_converted_once_per_loaded_model(checkpoint, exported, monkeypatch) -> None:
    calls = []
    original = OodStats.from_dict.__func__
    monkeypatch.setattr(OodStats, "from_dict", classmethod(lambda cls, stats: calls.append(1) or original(cls, stats)))
    engine = load_onnx(checkpoint, exported[0])
    for _ in range(3):
        engine.predict_batch(_films(seed=2), batch_size=4)
    assert len(calls) == 1
