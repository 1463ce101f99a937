"""``grid_box``: the crop box from the segmenter's own grid is within 2 px of the box of the film-size post-processed
mask (noisy generated maps with two lungs, a speck and a hole; films larger and smaller than the grid, other aspect
ratios). On the segmenter's real, smooth maps it is the same box (bench/bench_segmenter.py: 502 films, 0 px)."""

from __future__ import annotations

import numpy as np
import pytest

from xray_core.inference.lungs.masks import grid_box, probability_to_mask
from xray_core.models.resize import box_from_mask, cam_to_image

SETTINGS = {"components": 2, "fill_holes": True}


def _lungs(size: int, seed: int) -> np.ndarray:
    """An S x S probability map: two soft lung blobs, a hole in one, a small far speck, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    left = np.exp(-(((x - 0.3) / 0.12) ** 2 + ((y - 0.5) / 0.25) ** 2))
    right = np.exp(-(((x - 0.7 - 0.05 * rng.random()) / 0.12) ** 2 + ((y - 0.5) / 0.25) ** 2))
    hole = np.exp(-(((x - 0.3) / 0.03) ** 2 + ((y - 0.5) / 0.03) ** 2))
    speck = 0.9 * np.exp(-(((x - 0.05) / 0.015) ** 2 + ((y - 0.05) / 0.015) ** 2))
    grid = np.clip(left + right - hole + speck + 0.05 * rng.standard_normal((size, size)), 0, 1)
    return grid.astype(np.float32)


@pytest.mark.parametrize("shape", [(384, 320), (224, 224), (96, 140), (512, 256)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_box_is_within_2_px_of_the_film_size_box(shape: tuple[int, int], seed: int) -> None:
    grid = _lungs(128, seed)
    expected = box_from_mask(probability_to_mask(cam_to_image(grid, *shape), 0.5, SETTINGS), 0.08)
    actual = grid_box(grid, *shape, 0.5, SETTINGS, 0.08)
    assert max(abs(a - b) for a, b in zip(actual, expected, strict=True)) <= 2


def test_no_lungs_gives_the_whole_film() -> None:
    assert grid_box(np.zeros((128, 128), np.float32), 300, 250, 0.5, SETTINGS, 0.08) == (0, 300, 0, 250)
