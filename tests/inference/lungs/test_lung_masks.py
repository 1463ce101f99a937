"""The torch-free half of lung segmentation: probability → mask and the segmenter identity message."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from xray_core.inference.lungs.masks import fill_holes, postprocess, probability_to_mask, segmenter_mismatch


def test_probability_to_mask_thresholds_then_postprocesses() -> None:
    probability = np.zeros((30, 30), np.float32)
    probability[1:11, 1:11] = 0.9  # a lung with a hole just under the threshold
    probability[4, 4] = 0.49
    probability[1:10, 15:24] = 0.5  # the other lung, exactly at the threshold
    probability[26:28, 26:28] = 0.99  # a speck
    mask = probability_to_mask(probability, 0.5, {"components": 2, "fill_holes": True})
    assert mask.dtype == bool and mask.sum() == 100 + 81 and mask[4, 4] and not mask[26:28, 26:28].any()
    unfilled = probability_to_mask(probability, 0.5, {"components": 1, "fill_holes": False})
    assert unfilled.sum() == 99 and not unfilled[4, 4]
    np.testing.assert_array_equal(probability_to_mask(probability, 0.5, {}), postprocess(probability >= 0.5))


def test_fill_holes_equals_scipys_on_random_and_edge_masks() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(0)
    masks = [rng.random((40, 53)) < p for p in (0.3, 0.5, 0.6, 0.7, 0.9)]  # many holes, some touching the border
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7], ring[4, 4] = True, False
    corner = np.zeros((6, 6), bool)
    corner[:3, 3], corner[3, :4] = True, True  # background walled off but touching the border: not a hole
    diamond = np.zeros((5, 5), bool)
    diamond[1, 2] = diamond[2, 1] = diamond[2, 3] = diamond[3, 2] = True  # the centre meets outside diagonally only
    masks += [
        ring,
        corner,
        np.zeros((5, 7), bool),
        np.ones((5, 7), bool),
        np.zeros((0, 3), bool),
        np.ones((1, 1), bool),
    ]
    for mask in masks:
        np.testing.assert_array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))
    assert fill_holes(ring)[4, 4] and fill_holes(ring).sum() == 25 and not fill_holes(corner)[0, 0]
    assert fill_holes(diamond)[2, 2]  # 4-connected background only, as scipy's default structure


def test_segmenter_mismatch_names_both_segmenters_and_what_to_do() -> None:
    message = segmenter_mismatch("a" * 64, "weights/lung_unet.pt", "b" * 64)
    assert "a" * 12 in message and "b" * 12 in message and "install the matching weights/lung_unet.pt" in message


def test_the_torch_free_modules_import_no_torch() -> None:
    modules = "xray_core.inference.lungs.masks, xray_core.inference.onnx.segmenter"
    code = f"import sys, {modules}\nprint('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
