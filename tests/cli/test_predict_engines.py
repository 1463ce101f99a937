"""``predict``'s engines and folder mode: the JSON contract is the same on both engines, stale or unsupported
exports fall back to torch with a note, ``export-onnx`` writes what ``--engine onnx`` reads (lung-cropped
checkpoints included: their segmenter is exported beside them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xray_core.cli.main import main
from xray_core.config import CLASS_NAMES, Preprocessing
from xray_core.models.checkpoint import save_checkpoint, update_meta
from xray_core.models.networks import build_model


@pytest.fixture()
def films(tmp_path: Path) -> Path:
    root = tmp_path / "films"
    root.mkdir()
    rng = np.random.default_rng(3)
    for index in range(3):
        Image.fromarray(rng.integers(0, 256, (48, 40 + 8 * index)).astype(np.uint8)).save(root / f"{index}.png")
    return root


@pytest.fixture()
def onnx_dir(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "onnx"
    monkeypatch.setenv("XRAY_ONNX_DIR", str(folder))
    return folder


def _predict(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["predict", "--json", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else [], captured.err


def test_export_then_both_engines_give_the_same_rows(tiny_checkpoint, films, onnx_dir, capsys) -> None:
    files = sorted(str(p) for p in films.glob("*.png"))
    code, torch_rows, _ = _predict(capsys, "--checkpoint", str(tiny_checkpoint), "--engine", "torch", *files)
    assert code == 0
    code, _, err = _predict(capsys, "--checkpoint", str(tiny_checkpoint), "--engine", "onnx", *files)
    assert code == 2 and "export-onnx" in err  # no export yet: onnx says how to make one
    assert main(["export-onnx", "--checkpoint", str(tiny_checkpoint), "--films", str(films), "--count", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_abs_difference"]["probabilities"] <= 1e-5 and Path(report["path"]).parent == onnx_dir
    code, onnx_rows, _ = _predict(capsys, "--checkpoint", str(tiny_checkpoint), *files)  # auto picks the export
    assert code == 0 and len(onnx_rows) == len(torch_rows) == 3
    for want, got in zip(torch_rows, onnx_rows, strict=True):
        assert set(got) == set(want) and got["file"] == want["file"] and got["label"] == want["label"]
        assert list(got["probabilities"]) == list(CLASS_NAMES)
        np.testing.assert_allclose(list(got["probabilities"].values()), list(want["probabilities"].values()), atol=1e-5)
        assert got["refused"] == want["refused"]
        assert [d["code"] for d in got["decisions"]] == [d["code"] for d in want["decisions"]]
        scores = [[d["score"] or 0.0 for d in row["decisions"]] for row in (got, want)]  # None: no score
        np.testing.assert_allclose(scores[0], scores[1], rtol=1e-4)


def test_stale_export_falls_back_to_torch_with_a_note(tiny_checkpoint, films, onnx_dir, tmp_path, capsys) -> None:
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(tiny_checkpoint.read_bytes())
    assert main(["export-onnx", "--checkpoint", str(checkpoint), "--films", str(films), "--count", "1"]) == 0
    update_meta(checkpoint, temperature=2.5)  # the export is now stale
    capsys.readouterr()
    code, rows, err = _predict(capsys, "--checkpoint", str(checkpoint), str(films / "0.png"))
    assert code == 0 and "earlier model.pt" in err and "scoring with torch" in err
    assert rows[0]["label"] in CLASS_NAMES
    code, _, err = _predict(capsys, "--checkpoint", str(checkpoint), "--engine", "onnx", str(films / "0.png"))
    assert code == 2 and "earlier model.pt" in err


def test_a_lung_cropped_checkpoint_exports_with_its_segmenter(films, onnx_dir, tmp_path, monkeypatch, capsys) -> None:
    import torch

    from xray_core.models.unet import SegmenterMeta, UNet, read_segmenter, save_segmenter

    torch.manual_seed(0)
    segmenter = tmp_path / "lungs.pt"
    save_segmenter(segmenter, UNet(1, (4, 8)), SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8)))
    monkeypatch.setenv("XRAY_SEGMENTER", str(segmenter))
    checkpoint = tmp_path / "cropped.pt"
    prep = Preprocessing(image_size=32, crop="lungs", crop_segmenter=read_segmenter(segmenter).sha256)
    save_checkpoint(checkpoint, build_model("resnet18"), {"arch": "resnet18", "preprocessing": prep.to_dict()})
    assert main(["export-onnx", "--checkpoint", str(checkpoint), "--films", str(films), "--count", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    segmenter_report = report["segmenter"]
    assert Path(segmenter_report["path"]).parent == onnx_dir and segmenter_report["max_abs_difference"]["same_boxes"]
    files = sorted(str(p) for p in films.glob("*.png"))
    code, torch_rows, _ = _predict(capsys, "--checkpoint", str(checkpoint), "--engine", "torch", *files)
    assert code == 0
    code, onnx_rows, _ = _predict(capsys, "--checkpoint", str(checkpoint), "--engine", "onnx", *files)
    assert code == 0 and len(onnx_rows) == len(torch_rows) == 3
    for want, got in zip(torch_rows, onnx_rows, strict=True):
        np.testing.assert_allclose(list(got["probabilities"].values()), list(want["probabilities"].values()), atol=1e-5)
        assert [d["code"] for d in got["decisions"]] == [d["code"] for d in want["decisions"]]


def test_folder_mode_writes_a_table(tiny_checkpoint, films, tmp_path, capsys) -> None:
    out = tmp_path / "results.parquet"
    argv = ["predict", str(films), "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--engine", "torch"]
    assert main([*argv, "--workers", "0", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert summary["scored"] == 3 and summary["rows_in_table"] == 3
    assert pd.read_parquet(out)["file"].tolist() == ["0.png", "1.png", "2.png"]
    assert main(["predict", str(films), "--checkpoint", str(tiny_checkpoint)]) == 2  # a folder needs --out
    assert "--out" in capsys.readouterr().err
