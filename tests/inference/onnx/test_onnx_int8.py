"""int8 exports: quantised from the verified fp32 export, recorded as verified for the same checkpoint file, loaded
only on request (``--engine onnx-int8``), refused when tampered with, the fp32 export still there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xray_core.cli.main import main
from xray_core.inference.onnx.engine import load_onnx
from xray_core.inference.onnx.export import export_onnx
from xray_core.inference.onnx.quantize import TOLERANCE, export_int8, int8_path
from xray_core.inference.onnx.records import OnnxUnavailable
from xray_core.io.image import XrayImage


def _films(count: int, seed: int) -> list[XrayImage]:
    rng = np.random.default_rng(seed)
    films = []
    for index in range(count):
        rows = np.linspace(0.2, 0.8, 60 + 4 * index, dtype=np.float32)[:, None]
        pixels = np.clip(rows + 0.1 * rng.standard_normal((60 + 4 * index, 52), dtype=np.float32), 0, 1)
        films.append(XrayImage(pixels, {"name": f"film{index}"}))
    return films


@pytest.fixture()
def exported(tiny_checkpoint: Path, tmp_path: Path, monkeypatch) -> tuple[Path, dict]:
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XRAY_ONNX_DIR", str(tmp_path / "onnx"))
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(tiny_checkpoint.read_bytes())
    export_onnx(checkpoint, _films(4, 1))
    return checkpoint, export_int8(checkpoint, _films(12, 2), _films(4, 3))


def test_int8_export_is_verified_against_fp32_and_loads_on_request(exported) -> None:
    checkpoint, report = exported
    fp32, int8 = load_onnx(checkpoint), load_onnx(checkpoint, precision="int8")
    assert (fp32.engine, int8.engine) == ("onnx", "onnx-int8")
    assert int8.onnx_path == str(int8_path(fp32.onnx_path)) == report["path"]
    assert Path(int8.onnx_path).stat().st_size < Path(fp32.onnx_path).stat().st_size / 2
    assert report["max_abs_difference_vs_fp32"]["probabilities"] <= TOLERANCE
    films = _films(5, 4)
    for a, b in zip(fp32.predict_batch(films), int8.predict_batch(films), strict=True):
        np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=TOLERANCE)


def test_a_tampered_int8_export_is_refused(exported) -> None:
    checkpoint, report = exported
    path = Path(report["path"])
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(OnnxUnavailable, match="is ignored"):
        load_onnx(checkpoint, precision="int8")
    path.unlink()
    with pytest.raises(OnnxUnavailable, match="export-onnx --int8"):
        load_onnx(checkpoint, precision="int8")
    assert load_onnx(checkpoint).engine == "onnx"  # fp32 stays available


def test_predict_engine_onnx_int8(exported, tmp_path, capsys) -> None:
    checkpoint, _ = exported
    film = tmp_path / "film.png"
    Image.fromarray((np.linspace(30, 220, 64)[:, None] * np.ones((1, 56))).astype(np.uint8)).save(film)
    capsys.readouterr()
    assert main(["predict", "--json", "--checkpoint", str(checkpoint), "--engine", "onnx-int8", str(film)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["label"] and abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-5
