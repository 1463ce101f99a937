"""The torch-free half of lung segmentation: where the segmenter lives, probability → mask, the identity check.

:mod:`xray_core.inference.lungs.segment` (torch U-Net) and :mod:`xray_core.inference.onnx.segmenter` (ONNX Runtime) both
turn the network's lung probability, already resized to the film's own size, into a mask with
:func:`probability_to_mask`, and both refuse a segmenter other than the one a lung-cropped model was trained with
in the words of :func:`segmenter_mismatch`: one implementation, so the two engines cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from xray_core.config import REPO_ROOT
from xray_core.models.resize import Box, box_from_mask, cam_to_image

DEFAULT_SEGMENTER = REPO_ROOT / "weights" / "lung_unet.pt"
MIN_SECOND_LUNG = 0.05  # a second component smaller than this share of the largest is a speck, not a lung


def default_segmenter() -> Path:
    """The shipped lung segmenter: ``$XRAY_SEGMENTER`` or ``weights/lung_unet.pt``."""
    return Path(os.environ.get("XRAY_SEGMENTER") or DEFAULT_SEGMENTER)


def postprocess(mask: np.ndarray, components: int = 2, fill: bool = True) -> np.ndarray:
    """Keep the ``components`` largest 8-connected regions (a runner-up under MIN_SECOND_LUNG of the largest is
    dropped) and fill their holes. H x W bool in, H x W bool out; an empty mask stays empty."""
    mask = np.asarray(mask, dtype=bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.copy()
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = np.argsort(areas)[::-1][:components]
    chosen = np.zeros(count, dtype=bool)  # a lookup table by label: np.isin sorted every pixel
    chosen[[int(i) + 1 for i in order if areas[i] >= MIN_SECOND_LUNG * areas[order[0]]]] = True
    kept = chosen[labels]
    return fill_holes(kept) if fill else kept


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_fill_holes`` (background 4-connected to the border stays, the rest is filled) with
    OpenCV's labelling: the same mask, 4-5x faster on a 2,048 px film, where scipy took 150 ms per film."""
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return mask.copy()
    _, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    outside = np.zeros(int(labels.max()) + 1, dtype=bool)
    outside[border] = True
    outside[0] = False  # label 0: the mask's own pixels
    return ~outside[labels]


def probability_to_mask(probability: np.ndarray, threshold: float, settings: Mapping[str, Any]) -> np.ndarray:
    """H x W lung probability at the film's size → H x W bool mask: ``>= threshold``, then :func:`postprocess`
    with the segmenter's ``postprocess`` settings (``components``, ``fill_holes``)."""
    return postprocess(
        np.asarray(probability) >= threshold,
        components=int(settings.get("components", 2)),
        fill=bool(settings.get("fill_holes", True)),
    )


def grid_box(grid: np.ndarray, height: int, width: int, threshold: float, settings: Mapping[str, Any],
             margin: float) -> Box:  # fmt: skip
    """The crop box of an H x W film from its S x S lung probability ``grid``, without post-processing at the
    film's size: the components are chosen on the grid (:func:`postprocess`, holes left alone: they cannot move a
    bounding box), then the film-size threshold is boxed inside them (grown by one grid pixel).

    ``bench/bench_segmenter.py`` measured the same boxes as :func:`probability_to_mask` then ``box_from_mask`` on
    all 502 external and test films (0 px; on noisy generated maps up to 2 px, which the export checks on its
    verification films), at about half the post-processing time; masks (lung-masked models, outlines) still come
    from :func:`probability_to_mask`.
    """
    grid = np.asarray(grid, dtype=np.float32)
    kept = postprocess(grid >= threshold, components=int(settings.get("components", 2)), fill=False)
    grown = cv2.dilate(kept.astype(np.uint8), np.ones((3, 3), np.uint8))
    inside = cv2.resize(grown, (int(width), int(height)), interpolation=cv2.INTER_NEAREST) > 0
    return box_from_mask((cam_to_image(grid, height, width) >= threshold) & inside, margin)


def segmenter_mismatch(expected_sha256: str, path: str | Path, actual_sha256: str) -> str:
    """What to say when a lung-cropped model meets a segmenter other than the one its boxes came from."""
    return (
        f"This model was trained on lung boxes from segmenter {expected_sha256[:12]}, but "
        f"{path} is {actual_sha256[:12]}; install the matching weights/lung_unet.pt"
    )


__all__ = [
    "DEFAULT_SEGMENTER",
    "MIN_SECOND_LUNG",
    "default_segmenter",
    "fill_holes",
    "grid_box",
    "postprocess",
    "probability_to_mask",
    "segmenter_mismatch",
]
