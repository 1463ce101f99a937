"""The "natural photos" and "other non-radiographs" families: sample images bundled with installed packages.

Photographs from scikit-image, scikit-learn and matplotlib, and microscopy, a fundus photo, a CT phantom, logos and
synthetic figures from scikit-image, all made grayscale PNG. Nothing is downloaded: a sample that would need a
download (or a newer package) is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from xray_core.evaluation.reliability.files import Case, encode

PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "clock",
    "moon",
    "rocket",
    "hubble_deep_field",
    "brick",
    "grass",
    "gravel",
    "page",
    "text",
)
FIGURES = (
    "cell",
    "immunohistochemistry",
    "retina",
    "microaneurysms",
    "checkerboard",
    "binary_blobs",
    "horse",
    "shepp_logan_phantom",
    "logo",
    "colorwheel",
)


def _gray_uint8(array: Any) -> np.ndarray:
    """uint8 (H, W) luma of a sample: uint8 as is, bool and [0, 1] floats scaled by 255, colour via BT.601."""
    array = np.asarray(array)
    scale = 255.0 if array.dtype == bool or (array.dtype.kind == "f" and float(array.max()) <= 1.0) else 1.0
    values = array.astype(np.float64) * scale
    if values.ndim == 3:
        values = values[..., :3] @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _bundled(loaders: dict[str, Callable[[], Any]], family: str) -> list[Case]:
    """Grayscale PNGs of whichever bundled sample images load offline (missing ones are skipped)."""
    cases = []
    for name, load in loaders.items():
        try:
            array = _gray_uint8(load())
        except Exception:  # a sample that needs a download (pooch) or a newer package: skip it
            continue
        cases.append(Case(family, f"{name}.png", encode(array, "PNG"), "valid"))
    return cases


def photo_cases() -> list[Case]:
    """Natural photographs shipped inside installed packages, made grayscale."""
    import matplotlib
    import skimage.data as samples
    from sklearn.datasets import load_sample_image

    loaders: dict[str, Callable[[], Any]] = {name: getattr(samples, name) for name in PHOTOS}
    loaders["motorcycle"] = lambda: samples.stereo_motorcycle()[0]
    loaders["china"] = lambda: load_sample_image("china.jpg")
    loaders["flower"] = lambda: load_sample_image("flower.jpg")
    hopper = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    loaders["grace_hopper"] = lambda: np.asarray(Image.open(hopper))
    return _bundled(loaders, "natural photos")


def figure_cases() -> list[Case]:
    """Non-photographic non-radiographs bundled with scikit-image: microscopy, fundus, phantom, figures."""
    import skimage.data as samples

    return _bundled({name: getattr(samples, name) for name in FIGURES}, "other non-radiographs")


__all__ = ["FIGURES", "PHOTOS", "figure_cases", "photo_cases"]
