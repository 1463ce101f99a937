"""Folder-scale scoring: listing, sharding, rows for errors, chunked parts, resume, merge, torchrun."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xray_core.config import CLASS_NAMES
from xray_core.inference import folder
from xray_core.models.checkpoint import load_checkpoint


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """9 generated PNGs over three levels, one corrupt PNG and a text file (not a film)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "films"
    for index in range(9):
        sub = root / ("", "a", "a/b")[index % 3]
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40 + index, 50)).astype(np.uint8)).save(sub / f"f{index}.png")
    (root / "a" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "notes.txt").write_text("not a film")
    return root


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Path):
    return load_checkpoint(tiny_checkpoint)


def test_list_films_recursive_and_not(tree: Path) -> None:
    assert folder.list_films(tree) == ["f0.png", "f3.png", "f6.png"]
    everything = folder.list_films(tree, recursive=True)
    assert len(everything) == 10 and "a/broken.png" in everything and "notes.txt" not in everything
    assert everything == sorted(everything)


def test_shards_cover_every_file_once() -> None:
    files = [f"{i}.png" for i in range(11)]
    shards = [folder.shard(files, rank, 3) for rank in range(3)]
    assert sorted(sum(shards, [])) == sorted(files) and all(shards)


def test_scores_a_tree_with_error_rows_and_merges(tree: Path, model, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    counts = folder.score_folder(model, tree, out, recursive=True, batch_size=4, workers=0, chunk=3)
    assert counts == {"total": 10, "skipped": 0, "scored": 9, "refused": counts["refused"], "errors": 1}
    assert len(list(folder.parts_dir(out).glob("*.parquet"))) == 4  # chunks of 3 rows: 3 + 3 + 3 + 1
    assert folder.merge(out) == 10 and not folder.parts_dir(out).exists()
    table = pd.read_parquet(out)
    assert table["file"].tolist() == folder.list_films(tree, recursive=True)
    broken = table.set_index("file").loc["a/broken.png"]
    assert "PNG" in broken["error"] and pd.isna(broken["label"])
    scored = table[table["error"] == ""]
    probabilities = scored[[f"p_{name}" for name in CLASS_NAMES]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert set(scored["refused"]) <= {True, False} and set(scored["label"]) <= set(CLASS_NAMES)


def test_resume_skips_what_a_killed_run_wrote(tree: Path, model, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"

    def kill_after_first_batch(done: int, todo: int) -> None:
        raise KeyboardInterrupt  # after the first batch of 4: one part of 3 rows written, 1 row in memory lost

    with pytest.raises(KeyboardInterrupt):
        folder.score_folder(model, tree, out, True, batch_size=4, workers=0, chunk=3, progress=kill_after_first_batch)
    assert len(folder.scored_files(out)) == 3
    counts = folder.score_folder(model, tree, out, recursive=True, batch_size=4, workers=0, chunk=2)
    assert counts["skipped"] == 3 and counts["scored"] + counts["errors"] == 7
    assert folder.merge(out) == 10
    again = folder.score_folder(model, tree, out, recursive=True, batch_size=4, workers=0)
    assert again["skipped"] == 9 and again["scored"] == 0 and again["errors"] == 1  # the error row is retried
    assert folder.merge(out) == 10


def test_decoding_workers_give_the_same_rows(tree: Path, model, tmp_path: Path) -> None:
    tables = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}.parquet"
        folder.score_folder(model, tree, out, recursive=True, batch_size=4, workers=workers)
        folder.merge(out)
        tables.append(pd.read_parquet(out).drop(columns=["elapsed_ms"]))
    pd.testing.assert_frame_equal(tables[0], tables[1])


@pytest.mark.slow
def test_torchrun_shards_and_rank_zero_merges(tree: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun ships with torch"
    out = tmp_path / "results.parquet"
    command = [torchrun, "--nproc_per_node=2", "--master_port=29531", "-m", "xray_core", "predict", str(tree)]
    command += ["--recursive", "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--engine", "torch"]
    command += ["--workers", "0", "--chunk", "2", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=500, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_parquet(out)
    assert table["file"].tolist() == folder.list_films(tree, recursive=True)
    assert '"rank": 1' in done.stderr and '"world_size": 2' in done.stderr  # both ranks scored their share
    assert not folder.parts_dir(out).exists()
