"""Pixels for the screen: window/level, zoom, fitting, thumbnails, outlines and PNG encoding.

Display only: the model always sees the image as read. Inputs are H x W float32 in [0, 1] (0 = black) as in
:class:`~xray_core.io.image.XrayImage`; display arrays are uint8, H x W (gray) or H x W x 3 (RGB).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from xray_core.io.image import XrayImage


def needs_window(image: XrayImage) -> bool:
    """Whether the image is DICOM or deeper than 8 bits (where a display window matters most)."""
    return image.meta.get("format") == "DICOM" or int(image.meta.get("bit_depth") or 8) > 8


def default_window(image: XrayImage) -> tuple[float, float]:
    """(level, width) in [0, 1] display units: the full range for 8-bit rasters, else the 0.5th-99.5th percentile.

    A 12-bit film stored in 16 bits would otherwise show as a nearly black rectangle.
    """
    if not needs_window(image):
        return 0.5, 1.0
    low, high = (float(v) for v in np.percentile(image.pixels[::4, ::4], (0.5, 99.5)))
    if high - low < 1e-3:
        return 0.5, 1.0
    return (low + high) / 2, high - low


def apply_window(pixels: np.ndarray, level: float, width: float, invert: bool = False) -> np.ndarray:
    """Linear window of H x W float [0, 1] pixels: ``level - width/2`` -> 0, ``level + width/2`` -> 255; uint8."""
    width = max(float(width), 1e-3)
    scaled = (np.asarray(pixels, np.float32) - (level - width / 2)) / width
    display = np.clip(scaled, 0.0, 1.0)
    if invert:
        display = 1.0 - display
    return np.round(display * 255.0).astype(np.uint8)


def zoom_crop(array: np.ndarray, zoom: float, center_x: float = 0.5, center_y: float = 0.5) -> np.ndarray:
    """The 1/zoom-sized window of an H x W (x C) array centred at fractional (center_x, center_y), kept inside."""
    if zoom <= 1.0:
        return array
    height, width = array.shape[:2]
    crop_h, crop_w = max(1, round(height / zoom)), max(1, round(width / zoom))
    top = int(np.clip(round(center_y * height - crop_h / 2), 0, height - crop_h))
    left = int(np.clip(round(center_x * width - crop_w / 2), 0, width - crop_w))
    return array[top : top + crop_h, left : left + crop_w]


def fit(array: np.ndarray, side: int) -> np.ndarray:
    """uint8 H x W (x C) array shrunk (area filter, aspect kept) so its longest side is at most ``side``.

    Never enlarged: the browser scales up, and sending more pixels than the film has only costs bandwidth.
    """
    scale = side / max(array.shape[:2])
    if scale >= 1:
        return array
    size = (max(1, round(array.shape[1] * scale)), max(1, round(array.shape[0] * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)


def shrink(array: np.ndarray, side: int) -> np.ndarray:
    """H x W float or bool array with its longest side at most ``side`` (float: area mean; bool: nearest).

    What a shared cache keeps of a film-size map or mask: the same shape as :func:`fit` gives the film.
    """
    if max(array.shape[:2]) <= side:
        return array
    if array.dtype == bool:
        return fit(array.view(np.uint8), side).astype(bool)
    return fit(np.asarray(array, np.float32), side)


def resize_to(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """H x W bool or uint8 ``array`` resized (nearest) to ``shape[:2]``: an outline onto a zoomed display."""
    if array.shape[:2] == tuple(shape[:2]):
        return array
    resized = cv2.resize(
        array.view(np.uint8) if array.dtype == bool else array, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST
    )
    return resized.astype(bool) if array.dtype == bool else resized


def thumbnail(pixels: np.ndarray, side: int = 192, square: bool = False) -> np.ndarray:
    """uint8 copy of H x W [0, 1] pixels whose longest side is at most ``side``; ``square`` pads it with black."""
    small = np.round(np.clip(shrink(pixels, side), 0, 1) * 255).astype(np.uint8)  # shrunk first: no film-size copy
    if not square or small.shape[0] == small.shape[1]:
        return small
    size = max(small.shape)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    padded = np.zeros((size, size), np.uint8)
    padded[top : top + small.shape[0], left : left + small.shape[1]] = small
    return padded


def outline_width(shape: tuple[int, ...]) -> int:
    """Line width in pixels that survives shrinking a film to the screen: about 0.4 % of its shorter side."""
    return max(1, round(min(shape[:2]) / 250))


def paint(rgb: np.ndarray, where: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """A copy of H x W x 3 uint8 ``rgb`` with the pixels of H x W bool ``where`` set to ``color``."""
    painted = rgb.copy()
    painted[np.asarray(where, dtype=bool)] = color
    return painted


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of a uint8 H x W or H x W x 3 array."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()
