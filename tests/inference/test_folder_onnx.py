"""Folder scoring on the ONNX engine: the same rows as one-film predict, decoding workers that import no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xray_core.config import CLASS_NAMES
from xray_core.inference import folder
from xray_core.inference.onnx.engine import load_onnx
from xray_core.inference.onnx.export import export_onnx
from xray_core.io.image import XrayImage
from xray_core.io.prefetch import read_ahead
from xray_core.io.reader import read_image


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """11 generated chest-like PNGs/JPEGs of varied sizes over two levels, one corrupt file."""
    rng = np.random.default_rng(3)
    root = tmp_path / "films"
    for index in range(11):
        sub = root / ("", "deeper")[index % 2]
        sub.mkdir(parents=True, exist_ok=True)
        rows = np.linspace(40, 220, 50 + 7 * index)[:, None]
        pixels = np.clip(rows + 25 * rng.standard_normal((50 + 7 * index, 90 - 3 * index)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(sub / f"f{index:02d}.{('png', 'jpg')[index % 3 == 0]}")
    (root / "deeper" / "broken.jpg").write_bytes(b"\xff\xd8\xff truncated")
    return root


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint: Path, tmp_path_factory):
    directory = tmp_path_factory.mktemp("onnx_exports")
    films = [XrayImage(np.random.default_rng(seed).random((60, 70), dtype=np.float32)) for seed in range(3)]
    export_onnx(tiny_checkpoint, films, directory)
    return load_onnx(tiny_checkpoint, directory)


def test_folder_rows_equal_one_film_predict(tree: Path, onnx_model, tmp_path: Path) -> None:
    """Folder mode (batches of 4, two decoding processes) gives each film the probabilities, label, OOD score and
    refusal that scoring that film alone gives: batching changes no result."""
    out = tmp_path / "results.parquet"
    counts = folder.score_folder(onnx_model, tree, out, recursive=True, batch_size=4, workers=2, chunk=5)
    assert counts["scored"] == 11 and counts["errors"] == 1
    assert folder.merge(out) == 12
    table = pd.read_parquet(out).set_index("file")
    assert "truncated" in table.loc["deeper/broken.jpg", "error"] or "JPEG" in table.loc["deeper/broken.jpg", "error"]
    for name in folder.list_films(tree, recursive=True):
        if name.endswith("broken.jpg"):
            continue
        alone = onnx_model.predict_batch([read_image(tree / name, name=name)], batch_size=1)[0]
        row = table.loc[name]
        got = np.array([row[f"p_{label}"] for label in CLASS_NAMES])
        want = np.array([alone.probabilities[label] for label in CLASS_NAMES])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=name)
        assert row["label"] == alone.label and bool(row["refused"]) == alone.refused
        assert row["ood_score"] == pytest.approx(alone.ood_score, rel=1e-6)


def test_read_ahead_keeps_order_and_turns_failures_into_errors(tree: Path) -> None:
    names = folder.list_films(tree, recursive=True) + ["missing.png"]
    for workers in (0, 2):
        got = list(read_ahead(tree, names, workers=workers, chunk=3))
        assert [name for name, _ in got] == names
        assert all(isinstance(item, XrayImage) for name, item in got if name.startswith(("f", "deeper/f")))
        assert [name for name, item in got if not isinstance(item, XrayImage)] == ["deeper/broken.jpg", "missing.png"]
        assert "missing.png" in str(got[-1][1])


def test_folder_command_on_onnx_never_imports_torch(tree: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """``predict DIR --out`` with the ONNX engine and decoding workers: torch stays out of every process."""
    directory = tmp_path / "exports"
    films = [XrayImage(np.random.default_rng(seed).random((60, 70), dtype=np.float32)) for seed in range(3)]
    export_onnx(tiny_checkpoint, films, directory)
    out = tmp_path / "results.parquet"
    code = (
        "import sys, runpy\n"
        "sys.argv = ['xray_core'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('xray_core', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    print('torch' in sys.modules, 'pydicom' in sys.modules, file=sys.stderr)\n"
        "    raise\n"
    )
    command = [sys.executable, "-c", code, "predict", str(tree), "--recursive", "--out", str(out)]
    command += ["--checkpoint", str(tiny_checkpoint), "--engine", "onnx", "--workers", "2", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, env={**_env(), "XRAY_ONNX_DIR": str(directory)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert json.loads(lines[-2])["scored"] == 11
    assert lines[-1].split()[:2] == ["False", "False"], lines[-1]  # no torch, no pydicom (no DICOM here)
    assert len(pd.read_parquet(out)) == 12


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_read_ahead_reads_in_process_when_main_is_a_script(tree: Path, monkeypatch) -> None:
    """Under Streamlit ``__main__`` is the app script (no importable name): spawned workers would run it again."""
    import types

    from xray_core.io import prefetch

    script = types.ModuleType("__main__")
    script.__file__ = str(tree / "app.py")  # what Streamlit's script runner installs
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert not prefetch.spawn_safe()
    import concurrent.futures

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started with a script as __main__")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    names = sorted(p.name for p in tree.iterdir())[:3]
    assert [name for name, _ in prefetch.read_ahead(tree, names, workers=2)] == names
