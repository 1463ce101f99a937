"""One scan row per image: header metadata, pixel statistics, a perceptual hash and an inversion score.

Pixel statistics are computed on a small grayscale copy (longest side <= :data:`ANALYSIS_SIDE` px, values in
[0, 1], 0 = black): 8-bit JPEG and PNG files are decoded by Pillow with JPEG ``draft()`` (DCT-domain
downscaling, several times faster than a full decode); TIFF, 16-bit, DICOM and EXIF-rotated files go through
:func:`xray_core.io.reader.read_image`, so they are read exactly as the model reads them. Parallelism and the
on-disk cache live in :mod:`xray_core.data.scan`; this module handles one file at a time.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from xray_core.config import DEFAULT_MAX_PIXELS
from xray_core.io.image import MIN_SIDE
from xray_core.io.reader import read_image, read_image_header

ANALYSIS_SIDE = 96  # longest side of the copy that intensity statistics and the hash are computed on
PHASH_SIDE = 16  # phash keeps PHASH_SIDE**2 = 256 DCT coefficients (bits)
HIST_BINS = 32  # equal-width bins over [0, 1]; stored as fractions of the pixels
COLOR_THRESHOLD = 0.04  # mean (max - min) over RGB channels, in [0, 1]: above it the content is coloured

_FAST_FORMATS = ("JPEG", "PNG")  # decoded here with Pillow; everything else goes through read_image
_EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr", "PA", "La", "RGBa"}
_COLOR_MODES = {"P", "RGB", "RGBA", "CMYK", "YCbCr", "PA", "RGBa", "HSV", "LAB"}


def pixel_statistics(gray: np.ndarray) -> dict[str, Any]:
    """Intensity statistics, perceptual hash and inversion score of a 2-D uint8 array (0 = black, 255 = white).

    Statistics are reported in [0, 1]; percentiles are nearest-rank values on the 1/255 grid (computed from
    a 256-bin histogram, which is several times faster than sorting). ``hist``: :data:`HIST_BINS` fractions.
    """
    counts = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256) / 255.0
    fractions = counts / counts.sum()
    mean = float(fractions @ levels)
    cumulative = np.cumsum(fractions)
    p1, p50, p99 = (levels[min(255, int(np.searchsorted(cumulative, q - 1e-9)))] for q in (0.01, 0.5, 0.99))
    return {
        "mean": mean,
        "std": float(np.sqrt(max(0.0, fractions @ levels**2 - mean**2))),
        "p1": float(p1),
        "p50": float(p50),
        "p99": float(p99),
        "hist": fractions.reshape(HIST_BINS, -1).sum(axis=1).astype(np.float32),
        "phash": phash(gray),
        "inversion_score": inversion_score(gray),
    }


def phash(gray: np.ndarray) -> str:
    """256-bit perceptual hash as 64 hex digits: the 16 x 16 lowest DCT frequencies of a 32 x 32 area squash,
    one bit per coefficient above their median.

    Chest films are so alike that a 64-bit difference hash puts distinct images a median 3 bits apart; with
    this hash, distinct films of the real corpus are at least ~42 bits apart, while re-encoded, squashed,
    brightened or downscaled copies stay within 10 bits (crops of more than a few percent are not caught).
    """
    small = cv2.resize(gray.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:PHASH_SIDE, :PHASH_SIDE].ravel()
    return np.packbits(low > np.median(low[1:])).tobytes().hex()


def inversion_score(gray: np.ndarray) -> float:
    """(corner mean - centre mean) + (lung-field mean - mediastinum mean), in [-2, 2], on a 20 x 20 area grid.

    On the standard view (bones bright) the air outside the body darkens the corners and the mediastinum is
    brighter than the lungs, so radiographs score strongly negative (real corpus: median -0.54, maximum 0.13
    over 600 films) and an inverted film scores the opposite (see ``INVERTED_SCORE`` in ``xray_core.data.quality``).
    """
    grid = cv2.resize(gray.astype(np.float32), (20, 20), interpolation=cv2.INTER_AREA) / 255.0
    corners = (grid[:2, :2].mean() + grid[:2, -2:].mean() + grid[-2:, :2].mean() + grid[-2:, -2:].mean()) / 4
    centre = grid[5:15, 5:15].mean()
    lungs = (grid[5:12, 3:8].mean() + grid[5:12, 12:17].mean()) / 2
    mediastinum = grid[5:12, 9:11].mean()
    return float((corners - centre) + (lungs - mediastinum))


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(pixels, np.float32) * 255.0), 0, 255).astype(np.uint8)


def _shrink(gray: np.ndarray) -> np.ndarray:
    """Area-downscale so the longest side is at most ANALYSIS_SIDE (never upscale)."""
    h, w = gray.shape
    scale = ANALYSIS_SIDE / max(h, w)
    if scale >= 1:
        return gray
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _open_fast(path: str) -> Image.Image | None:
    """Pillow handle for the fast path (single-frame 8-bit JPEG or PNG without an EXIF rotation), else None."""
    try:
        image = Image.open(path, formats=_FAST_FORMATS)
    except UnidentifiedImageError:
        return None
    rotated = image.format != "PNG" and image.getexif().get(0x0112, 1) != 1  # read_image would rotate it
    if image.mode in _EIGHT_BIT_MODES and getattr(image, "n_frames", 1) == 1 and not rotated:
        return image
    image.close()
    return None


def _scan_pil(image: Image.Image, pixels: bool) -> dict[str, Any]:
    """Fast path; ``draft()`` makes JPEG decode at 1/2 to 1/8 scale. Size limits as in ``read_image``."""
    width, height = image.size
    row: dict[str, Any] = {
        "width": width,
        "height": height,
        "format": "JPEG" if image.format == "MPO" else image.format,
        "mode": image.mode,
        "bit_depth": 1 if image.mode == "1" else 8,
        "is_color": image.mode in _COLOR_MODES,
    }
    if not pixels:
        return row
    if min(width, height) < MIN_SIDE or width * height > DEFAULT_MAX_PIXELS:
        raise ValueError(
            f"the image is {width} x {height} pixels; expected at least {MIN_SIDE} px a side "
            f"and at most {DEFAULT_MAX_PIXELS:,} pixels"
        )
    image.draft("RGB" if row["is_color"] else "L", (ANALYSIS_SIDE, ANALYSIS_SIDE))
    if row["is_color"]:
        rgb = np.asarray(image.convert("RGB"))
        row["colorfulness"] = float((rgb.max(axis=2) - rgb.min(axis=2)).mean() / 255.0)
        row["is_color"] = row["colorfulness"] > COLOR_THRESHOLD
        image = Image.fromarray(rgb)
    row.update(pixel_statistics(_shrink(np.asarray(image.convert("L")))))
    return row


def _scan_reader(path: str, pixels: bool) -> dict[str, Any]:
    """TIFF, 16-bit, DICOM and the rest: the project's reader, so values match what the model sees."""
    if not pixels:
        header = read_image_header(path)
        mode = str(header.get("mode", ""))
        row = {key: header.get(key) for key in ("width", "height", "format", "bit_depth")}
        return {**row, "mode": mode, "is_color": mode in _COLOR_MODES}
    image = read_image(path)
    meta = image.meta
    row = {key: meta.get(key) for key in ("width", "height", "format", "bit_depth")}
    row.update(mode=str(meta.get("photometric") or ""), is_color=bool(meta.get("converted_from_color", False)))
    # Shrink before quantising: area averaging in float keeps 16-bit detail that uint8 would lose.
    row.update(pixel_statistics(_to_uint8(_shrink(np.asarray(image.pixels, np.float32)))))
    return row


def scan_file(path: str, pixels: bool = True) -> dict[str, Any]:
    """One scan row for one file; an unreadable file gives a row whose ``error`` says why, never an exception."""
    row: dict[str, Any] = {"path": path, "error": ""}
    try:
        image = _open_fast(path)
        if image is None:
            row.update(_scan_reader(path, pixels))
        else:
            with image:
                row.update(_scan_pil(image, pixels))
    except Exception as error:
        row["error"] = f"{type(error).__name__}: {error}".strip()
    row["has_pixels"] = bool(pixels and not row["error"])
    return row


__all__ = ["ANALYSIS_SIDE", "HIST_BINS", "inversion_score", "phash", "pixel_statistics", "scan_file"]
