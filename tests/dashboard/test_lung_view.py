"""What the Diagnose page may claim about the lungs: the heatmap's share inside them, and the shortcut flag."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.lung_view import OUTSIDE_LIMIT, Lungs, draw, figures


def _mask() -> np.ndarray:
    mask = np.zeros((20, 20), bool)
    mask[4:16, 2:9] = mask[4:16, 11:18] = True  # two lungs
    return mask


def test_a_map_inside_the_lungs_is_no_shortcut():
    cam = _mask().astype(np.float32)
    result = figures(_mask(), cam, flat=False)
    assert result["inside_lungs"] == pytest.approx(1.0) and not result["shortcut"]
    assert result["lung_area"] == pytest.approx(_mask().mean())


def test_a_map_below_the_lungs_is_flagged_as_a_likely_shortcut():
    cam = np.zeros((20, 20), np.float32)
    cam[17:, :] = 1.0  # the abdomen
    cam[5, 5] = 0.5
    result = figures(_mask(), cam, flat=False)
    assert result["inside_lungs"] < OUTSIDE_LIMIT and result["shortcut"]


def test_no_claims_for_a_flat_map_or_a_film_without_lungs():
    cam = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    assert figures(_mask(), cam, flat=True)["inside_lungs"] is None
    empty = figures(np.zeros((20, 20), bool), cam, flat=False)
    assert empty["inside_lungs"] is None and not empty["shortcut"] and empty["lung_area"] == 0


def test_draw_paints_the_outline_only_when_there_is_one():
    rgb = np.zeros((20, 20, 3), np.uint8)
    assert draw(rgb, Lungs(problem="none")) is rgb
    outline = np.zeros((20, 20), bool)
    outline[4, 2:9] = True
    painted = draw(rgb, Lungs(_mask(), outline, {"version": "x"}))
    assert painted[4, 2:9].any(axis=1).all() and painted[10, 10].sum() == 0
