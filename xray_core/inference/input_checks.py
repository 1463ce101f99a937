"""Cheap input-level checks run before any probability is shown: does this image look like a chest radiograph?

They complement the feature-space Mahalanobis distance of :mod:`xray_core.inference.ood`, which sees what the classifier
sees and can be fooled by images whose deep features happen to fall near the radiographs' (validation found
the 'moon' photo and smooth vertical gradients inside its threshold). Three checks, each with its own message:

* **nearly uniform**: pixel standard deviation below :data:`MIN_STD` (blank, constant or fully saturated).
* **extreme aspect ratio**: longest / shortest side above :data:`MAX_ASPECT` (the corpus never exceeds 3.2).
* **image statistics unlike chest radiographs**: twelve global statistics of the image squashed to 64 x 64
  (brightness, contrast, skew, black and white fractions, left-right mirror symmetry, mediastinum-vs-lung
  contrast, vertical trend, edge strength, fine detail, histogram entropy, frame contrast). Their mean and
  precision were fitted on train-split radiographs and the threshold is the 99.5th percentile of
  validation-split radiographs (fitted at the end of training, or by ``python -m xray_core input-stats``, and
  stored in the checkpoint, so they are covered by its hash); the test split is never used. The score is a
  Mahalanobis distance in that 12-d space.

Limitation: the statistics were fitted on 8-bit JPEG radiographs; films from other pipelines (16-bit DICOM with
an unusual window, heavy post-processing) may score higher. The user can still ask to see the prediction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import cv2
import numpy as np

from xray_core.inference.decisions import Decision
from xray_core.inference.wording import worded
from xray_core.io.image import XrayImage
from xray_core.models.records import InputStats
from xray_core.models.resize import resize_square  # numpy only: the ONNX engine runs these checks without torch

MIN_STD = 0.02  # [0, 1] units at 64 x 64; 99.5 % of train radiographs are above 0.1
MAX_ASPECT = 4.0  # the corpus's most elongated film is 3.2 : 1
DEFAULT_PERCENTILE = 99.5  # of validation radiographs' statistics scores: about 0.5 % false refusals
STATS_SIDE = 64  # statistics are computed on the image squashed to this square
FEATURE_NAMES: tuple[str, ...] = (
    "mean",
    "std",
    "skewness",
    "black_fraction",
    "white_fraction",
    "mirror_symmetry",
    "mediastinum_contrast",
    "vertical_trend",
    "log_edge_strength",
    "log_fine_detail",
    "entropy",
    "frame_contrast",
)


def image_statistics(pixels: np.ndarray) -> np.ndarray:
    """The 12 :data:`FEATURE_NAMES` of an H x W float image in [0, 1], as float64 (12,)."""
    x = resize_square(np.asarray(pixels, dtype=np.float32), STATS_SIDE).astype(np.float64)
    side, mean, std = STATS_SIDE, float(x.mean()), float(x.std())
    unit = max(std, 1e-3)
    z = (x - mean) / unit
    rows = slice(side // 4, 3 * side // 4)
    centre = x[rows, int(0.42 * side) : int(0.58 * side)].mean()
    lungs = (
        x[rows, int(0.15 * side) : int(0.35 * side)].mean() + x[rows, int(0.65 * side) : int(0.85 * side)].mean()
    ) / 2
    edges = np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=0)).mean()
    detail = np.abs(x - cv2.GaussianBlur(x, (0, 0), 1.5)).mean()
    histogram = np.histogram(x, 32, (0.0, 1.0))[0] / x.size
    frame = np.ones_like(x, dtype=bool)
    frame[side // 10 : -side // 10, side // 10 : -side // 10] = False
    return np.array(
        [
            mean,
            std,
            float((z**3).mean()),
            float((x < 0.05).mean()),
            float((x > 0.95).mean()),
            float((z * z[:, ::-1]).mean()),
            (centre - lungs) / unit,
            (x[2 * side // 3 :].mean() - x[: side // 3].mean()) / unit,
            np.log(edges / unit + 1e-4),
            np.log(detail / unit + 1e-4),
            float(-(histogram[histogram > 0] * np.log(histogram[histogram > 0])).sum()),
            (x[frame].mean() - x[~frame].mean()) / unit,
        ]
    )


def fit(
    train_pixels: Iterable[np.ndarray], val_pixels: Iterable[np.ndarray], percentile: float = DEFAULT_PERCENTILE
) -> InputStats:
    """Fit mean and precision on train radiographs and the threshold on val radiographs.

    Each item is an H x W float image in [0, 1] (any size) or a uint8 image (divided by 255).
    """
    train = np.stack([image_statistics(_unit(p)) for p in train_pixels])
    val = np.stack([image_statistics(_unit(p)) for p in val_pixels])
    covariance = np.cov(train, rowvar=False) + 1e-6 * np.eye(train.shape[1])
    unfitted = InputStats(mean=train.mean(axis=0), precision=np.linalg.inv(covariance), threshold=np.inf)
    val_scores = unfitted.score(val)
    detail = {
        "method": "mahalanobis-image-statistics",
        "features": list(FEATURE_NAMES),
        "side": STATS_SIDE,
        "percentile": percentile,
        "n_train": len(train),
        "n_val": len(val),
    }
    return dataclasses.replace(
        unfitted,
        threshold=float(np.percentile(val_scores, percentile)),
        val_score_median=float(np.median(val_scores)),
        detail=detail,
    )


def radiograph_score(image: XrayImage, stats: InputStats | None) -> float | None:
    """The image-statistics distance of one image (None without statistics)."""
    return None if stats is None else float(stats.score(image_statistics(image.pixels))[0])


def input_checks(image: XrayImage, stats: InputStats | None) -> list[Decision]:
    """Why this image is not a chest radiograph (empty list: no reason found), each with its numbers.

    ``stats``: the image statistics from :func:`fit` that travel in the checkpoint (None: that check is skipped).
    Pixels are already float32 in [0, 1] (:class:`XrayImage` normalises them), so 8-bit and float films agree.
    """
    height, width = image.pixels.shape[:2]
    aspect = max(height, width) / max(min(height, width), 1)
    if aspect > MAX_ASPECT:
        return [worded("extreme_aspect", aspect, MAX_ASPECT)]
    values = image_statistics(image.pixels)
    if values[1] < MIN_STD:
        return [worded("uniform_image", float(values[1]), MIN_STD)]
    if stats is None:
        return []
    score = float(stats.score(values)[0])
    if score > stats.threshold:
        return [worded("image_statistics", score, stats.threshold)]
    return []


def _unit(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels)
    return pixels.astype(np.float32) / 255.0 if pixels.dtype == np.uint8 else pixels.astype(np.float32)


__all__ = [
    "FEATURE_NAMES",
    "MAX_ASPECT",
    "MIN_STD",
    "fit",
    "image_statistics",
    "input_checks",
    "radiograph_score",
]
