"""``python -m xray_core similar``: the JSON contract, the explicit index build, refusals and a missing dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _checkpoints import tiny_checkpoint
from _factories import png_bytes

from xray_core.cli.main import main


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    return str(tiny_checkpoint(tmp_path / "tiny.pt", "cli-similar"))


def test_similar_json_lists_the_k_nearest_training_films(checkpoint, tiny_dataset, capsys) -> None:
    film = tiny_dataset / "images" / "001.png"
    code = main(["similar", str(film), "--k", "3", "--json", "--checkpoint", checkpoint, "--data", str(tiny_dataset)])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3
    assert all(set(row) == {"file", "label", "source", "age_group", "distance"} for row in rows)
    assert rows[0]["file"] == "images/001.png" and rows[0]["distance"] < 1e-3  # a training film finds itself
    assert [row["distance"] for row in rows] == sorted(row["distance"] for row in rows)
    assert all(not row["file"].startswith("/") for row in rows)  # relative to the data folder


def test_build_index_then_reuse_it(checkpoint, tiny_dataset, capsys) -> None:
    assert main(["similar", "--build-index", "--checkpoint", checkpoint, "--data", str(tiny_dataset)]) == 0
    assert "building the similar-case index over 48 training films" in capsys.readouterr().err
    film = str(tiny_dataset / "images" / "002.png")
    assert main(["similar", film, "--checkpoint", checkpoint, "--data", str(tiny_dataset)]) == 0
    captured = capsys.readouterr()
    assert "building" not in captured.err  # reused, not rebuilt per request
    assert "of 6 similar films are labelled" in captured.out


def test_a_refused_film_gets_no_similar_cases(checkpoint, tiny_dataset, tmp_path, capsys) -> None:
    flat = tmp_path / "flat.png"
    flat.write_bytes(png_bytes(np.full((64, 64), 128, np.uint8)))
    code = main(["similar", str(flat), "--json", "--checkpoint", checkpoint, "--data", str(tiny_dataset)])
    captured = capsys.readouterr()
    assert code == 1 and json.loads(captured.out) == [] and "uniform_image" in captured.err


def test_a_missing_dataset_is_stated_not_a_crash(checkpoint, tmp_path, capsys) -> None:
    code = main(["similar", "--build-index", "--checkpoint", checkpoint, "--data", str(tmp_path / "absent")])
    assert code == 2 and "XRAY_DATA_DIR" in capsys.readouterr().err


def test_similar_needs_a_file_or_build_index(checkpoint, capsys) -> None:
    assert main(["similar", "--checkpoint", checkpoint]) == 2
    assert "--build-index" in capsys.readouterr().err
