"""Atomic writes that several processes may race on: each writer's temporary file is its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from xray_core.data import cache
from xray_core.files import atomic_path, temporary_sibling


def test_temporary_names_differ_and_keep_the_suffix(tmp_path):
    names = {temporary_sibling(tmp_path / "pixels.npy") for _ in range(50)}
    assert len(names) == 50
    assert all(name.suffix == ".npy" and name.parent == tmp_path for name in names)


def test_interleaved_writers_of_one_file_both_succeed(tmp_path):
    target = tmp_path / "sub" / "cache.bin"
    with atomic_path(target) as first:
        first.write_bytes(b"first")
        with atomic_path(target) as second:
            second.write_bytes(b"second")
        assert target.read_bytes() == b"second"
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["cache.bin"]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "model.pt"
    try:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_two_builders_of_one_pixel_cache_do_not_break_each_other(tmp_path, monkeypatch):
    """The race two training ranks ran into: the other rank finishes its write between our save and our move."""
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    for index in range(3):
        Image.fromarray(np.full((20, 16), index * 40, np.uint8)).save(tmp_path / f"{index}.png")
    table = pd.DataFrame({"path": [str(tmp_path / f"{index}.png") for index in range(3)]})
    real_save, calls = np.save, []

    def save_then_let_the_other_rank_finish(file, array):
        real_save(file, array)
        calls.append(file)
        if len(calls) == 1:
            cache.cached_pixels(table, 8, workers=1, progress=False)

    monkeypatch.setattr(cache.np, "save", save_then_let_the_other_rank_finish)
    pixels = cache.cached_pixels(table, 8, workers=1, progress=False)
    assert pixels.shape == (3, 8, 8) and len(calls) == 2
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".npy"]
