"""The fast engine by default: the first ``predict`` that can use ONNX Runtime exports and verifies the checkpoint
itself (into an empty cache, keyed to the checkpoint file, as ``export-onnx`` does), and a tampered export is
rebuilt, or, when no export can be made, torch scores after one line saying why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xray_core.cli.main import main
from xray_core.cli.predict import load_engine
from xray_core.inference.onnx.auto import load_or_export
from xray_core.inference.onnx.engine import OnnxModel, export_path
from xray_core.inference.onnx.records import OnnxUnavailable, records_dir
from xray_core.models.pinned import file_sha256


@pytest.fixture()
def fresh(tmp_path: Path, monkeypatch) -> Path:
    """An empty cache, no corpus (the films being scored verify the export), automatic export on."""
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRAY_ONNX_DIR", raising=False)
    monkeypatch.setenv("XRAY_DATA_DIR", str(tmp_path / "no-corpus"))
    monkeypatch.setenv("XRAY_ONNX_AUTO", "1")
    films = tmp_path / "films"
    films.mkdir()
    rng = np.random.default_rng(5)
    for index in range(3):
        pixels = np.clip(np.linspace(40, 220, 56)[:, None] + rng.normal(0, 20, (56, 48 + 6 * index)), 0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(films / f"{index}.png")
    return films


def _predict(capsys, *argv: str) -> tuple[list[dict], str]:
    assert main(["predict", "--json", *argv]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _copy(checkpoint: Path, folder: Path) -> Path:
    path = folder / "model.pt"
    path.write_bytes(checkpoint.read_bytes())
    return path


def test_first_predict_exports_and_scores_as_torch(tiny_checkpoint, fresh, capsys) -> None:
    checkpoint = _copy(tiny_checkpoint, fresh.parent)
    files = sorted(str(p) for p in fresh.glob("*.png"))
    torch_rows, _ = _predict(capsys, "--checkpoint", str(checkpoint), "--engine", "torch", *files)
    assert not export_path(checkpoint, file_sha256(checkpoint)).exists()
    rows, err = _predict(capsys, "--checkpoint", str(checkpoint), *files)
    assert err.count("exporting it to ONNX") == 1 and "verified and written" in err
    export = export_path(checkpoint, file_sha256(checkpoint))
    assert export.is_file() and export.parent == fresh.parent / "cache" / "onnx"
    assert list(records_dir().glob(f"{file_sha256(checkpoint)}-*.json"))  # recorded as verified, as export-onnx does
    for want, got in zip(torch_rows, rows, strict=True):
        assert got["label"] == want["label"] and got["refused"] == want["refused"]
        np.testing.assert_allclose(list(got["probabilities"].values()), list(want["probabilities"].values()), atol=1e-4)
    again, err = _predict(capsys, "--checkpoint", str(checkpoint), *files)
    assert err == "" and _timeless(again) == _timeless(rows)  # found: no notice, the same numbers
    assert isinstance(load_engine(str(checkpoint)), OnnxModel)


def test_a_tampered_export_is_refused_and_rebuilt(tiny_checkpoint, fresh, capsys) -> None:
    checkpoint = _copy(tiny_checkpoint, fresh.parent)
    film = str(fresh / "0.png")
    rows, _ = _predict(capsys, "--checkpoint", str(checkpoint), film)
    export = export_path(checkpoint, file_sha256(checkpoint))
    export.write_bytes(export.read_bytes() + b"\0")  # no record vouches for these bytes
    notes: list[str] = []
    model = load_or_export(checkpoint, [film], notes.append)
    assert "is ignored" in notes[0] and "exporting it to ONNX" in notes[0] and len(notes) == 2
    assert isinstance(model, OnnxModel) and model.onnx_path == str(export)
    again, err = _predict(capsys, "--checkpoint", str(checkpoint), film)
    assert err == "" and _timeless(again) == _timeless(rows)


def test_an_export_that_cannot_be_made_falls_back_to_torch_once_told(tiny_checkpoint, fresh, monkeypatch, capsys):
    from xray_core.inference.onnx import export

    def disagree(*args, **kwargs):
        raise ValueError("the ONNX export disagrees with torch: {...}; nothing written")

    monkeypatch.setattr(export, "export_onnx", disagree)
    checkpoint = _copy(tiny_checkpoint, fresh.parent)
    film = str(fresh / "0.png")
    rows, err = _predict(capsys, "--checkpoint", str(checkpoint), film)
    assert "automatic ONNX export failed" in err and "disagrees" in err and "scoring with torch" in err
    assert rows[0]["label"]
    rows, err = _predict(capsys, "--checkpoint", str(checkpoint), film)  # not tried again: one line, torch
    assert "failed earlier" in err and "exporting" not in err and rows[0]["label"]
    with pytest.raises(OnnxUnavailable, match="failed earlier"):
        load_or_export(checkpoint)


def test_no_automatic_export_when_turned_off(tiny_checkpoint, fresh, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XRAY_ONNX_AUTO", "0")
    checkpoint = _copy(tiny_checkpoint, fresh.parent)
    _, err = _predict(capsys, "--checkpoint", str(checkpoint), str(fresh / "0.png"))
    assert err == "" and not export_path(checkpoint, file_sha256(checkpoint)).exists()


def _timeless(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "elapsed_ms"} for row in rows]
