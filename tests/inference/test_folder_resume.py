"""Folder resume keys on the model and the file's state: another checkpoint, a changed file or an error row is
scored again; two runs never write one table at once; the output must be a folder-scoring Parquet table."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _checkpoints import tiny_checkpoint
from PIL import Image

from xray_core.inference import folder
from xray_core.models.checkpoint import load_checkpoint


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    root = tmp_path / "films"
    root.mkdir()
    for index in range(5):
        Image.fromarray(rng.integers(0, 256, (48, 40)).astype(np.uint8)).save(root / f"f{index}.png")
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    directory = tmp_path_factory.mktemp("models")
    return [load_checkpoint(tiny_checkpoint(directory / f"{v}.pt", v, seed=i)) for i, v in enumerate(("a", "b"))]


def _run(model, tree: Path, out: Path) -> dict[str, int]:
    counts = folder.score_folder(model, tree, out, batch_size=4, workers=0)
    folder.merge(out)
    return counts


def test_rows_carry_the_model_and_the_file_state(tree, models, tmp_path):
    out = tmp_path / "t.parquet"
    _run(models[0], tree, out)
    table = pd.read_parquet(out).set_index("file")
    assert set(table["model_sha256"]) == {models[0].sha256} and set(table["model_version"]) == {"a"}
    assert table.loc["f0.png", "size"] == os.stat(tree / "f0.png").st_size
    assert table.loc["f0.png", "mtime_ns"] == os.stat(tree / "f0.png").st_mtime_ns


def test_another_checkpoint_rescores_everything(tree, models, tmp_path):
    out = tmp_path / "t.parquet"
    _run(models[0], tree, out)
    again = _run(models[1], tree, out)
    assert again["skipped"] == 0 and again["scored"] == 5 and again["errors"] == 1
    assert set(pd.read_parquet(out)["model_sha256"]) == {models[1].sha256}


def test_only_a_changed_file_and_the_error_row_are_scored_again(tree, models, tmp_path, monkeypatch):
    out = tmp_path / "t.parquet"
    _run(models[0], tree, out)
    stat = os.stat(tree / "f2.png")
    os.utime(tree / "f2.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # rewritten since it was scored
    seen: list[list[str]] = []
    real = folder.decoded
    monkeypatch.setattr(folder, "decoded", lambda root, files, workers: seen.append(files) or real(root, files, 0))
    again = _run(models[0], tree, out)
    assert seen == [["broken.png", "f2.png"]]  # the error row is retried, the unchanged films are not
    assert (again["skipped"], again["scored"], again["errors"]) == (4, 1, 1)
    assert len(pd.read_parquet(out)) == 6


def test_a_second_run_on_the_same_table_is_refused_while_one_runs(tree, models, tmp_path):
    out = tmp_path / "t.parquet"
    busy = pytest.raises(folder.OutputError, match="another folder run is writing this table")
    with folder.output_lock(out), busy, folder.output_lock(out):
        pass
    with folder.output_lock(out):  # released: the next run goes ahead
        _run(models[0], tree, out)
    assert not list(tmp_path.glob(".*.lock"))


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("t.csv", None, "expected --out ending in .parquet"),
        ("t.parquet", b"file,label\n", "exists and is not a Parquet table"),
        ("t.parquet", "table", "without a 'file' column"),
    ],
)
def test_the_output_must_be_a_folder_scoring_table(tmp_path, name, content, message):
    out = tmp_path / name
    if content == "table":
        pd.DataFrame({"x": [1]}).to_parquet(out)
    elif content is not None:
        out.write_bytes(content)
    with pytest.raises(folder.OutputError, match=message):
        folder.check_output(out)
