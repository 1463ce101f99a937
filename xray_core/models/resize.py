"""The numpy half of preprocessing: resizing and the network input as an array, without importing torch.

:mod:`xray_core.models.preprocessing` builds its tensors from these functions, and the ONNX engine
(:mod:`xray_core.inference.onnx_engine`) feeds :func:`to_array` to ONNX Runtime, so both engines see the
same numbers (tests check ``to_array`` against ``to_tensor``). Axis order: H x W in, (C, S, S) out.
"""

from __future__ import annotations

import cv2
import numpy as np

from xray_core.config import Preprocessing

INTERPOLATIONS = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
    "nearest": cv2.INTER_NEAREST,
}


def resize(pixels: np.ndarray, height: int, width: int, downscale: str = "area") -> np.ndarray:
    """Resize H x W to ``height x width``: ``downscale`` on shrinking axes, linear on growing ones."""
    if downscale not in INTERPOLATIONS:
        raise ValueError(f"Unknown interpolation {downscale!r}; expected one of {', '.join(INTERPOLATIONS)}")
    if pixels.ndim != 2 or 0 in pixels.shape:
        raise ValueError(f"Expected a non-empty H x W image, got shape {pixels.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"Target size must be positive, got {height} x {width}")
    source_h, source_w = pixels.shape
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if (source_h, source_w) == (height, width):
        return pixels.copy()
    shrink = INTERPOLATIONS[downscale]
    if (height < source_h and width > source_w) or (height > source_h and width < source_w):
        # One axis shrinks while the other grows: one pass per axis so each gets its own filter.
        tall = cv2.resize(pixels, (source_w, height), interpolation=shrink if height < source_h else cv2.INTER_LINEAR)
        return cv2.resize(tall, (width, height), interpolation=shrink if width < source_w else cv2.INTER_LINEAR)
    interpolation = shrink if (height < source_h or width < source_w) else cv2.INTER_LINEAR
    return cv2.resize(pixels, (width, height), interpolation=interpolation)


def resize_square(pixels: np.ndarray, size: int, downscale: str = "area") -> np.ndarray:
    """Squash-resize a whole H x W float image to ``size x size`` float32 (area shrinking, linear enlarging)."""
    return resize(pixels, size, size, downscale)


def unit_float(pixels: np.ndarray) -> np.ndarray:
    """H x W uint8 (divided by 255) or float in [0, 1] → float32 clipped to [0, 1]."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if not np.issubdtype(pixels.dtype, np.floating):
        raise ValueError(f"Expected uint8 or float pixels in [0, 1], got dtype {pixels.dtype}")
    return np.clip(np.nan_to_num(pixels.astype(np.float32)), 0.0, 1.0)


def to_array(pixels: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """H x W image (float in [0, 1] or uint8) → normalised float32 (C, S, S): ``to_tensor`` without torch.

    Whole-film preprocessing only: a lung crop needs the segmenter, which runs on torch.
    """
    if prep.geometry != "squash":
        raise ValueError(f"Unsupported geometry {prep.geometry!r}; only 'squash' is implemented")
    if prep.crop != "none":
        raise ValueError(f"to_array does not crop (preprocessing crop={prep.crop!r}); use preprocessing.to_tensor")
    square = resize_square(unit_float(pixels), prep.image_size, prep.interpolation)
    out = (square[None] - np.float32(prep.mean)) / np.float32(prep.std)  # float32 throughout, as torch computes it
    return out if prep.in_channels == 1 else np.ascontiguousarray(np.repeat(out, prep.in_channels, axis=0))


__all__ = ["INTERPOLATIONS", "resize", "resize_square", "to_array", "unit_float"]
