"""PNG, JPEG and TIFF through Pillow: header and size check first, then a full (never truncated) decode.

8-bit, 16-bit and 1-bit rasters are handed to :class:`~xray_core.io.image.XrayImage` as stored (it divides by
255 / 65535); colour becomes ITU-R BT.601 luma; float and 32-bit integer rasters have no nominal range and are
min/max-scaled.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps

from xray_core.io.image import XrayImage, XrayInputError, check_size, scale_by_range
from xray_core.io.source import decoding

_PIL_FORMATS = ("PNG", "JPEG", "TIFF")  # never let Pillow try its other (less audited) decoders
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601
_NOMINAL = ("b1", "u1", "u2")  # dtype kind + size XrayImage scales by nominal range: bool, uint8, uint16
#: TIFF pages looked at to word a refusal: Pillow's ``n_frames`` walks every page, superlinearly (40,000 pages in a
#: 12 MB file took 10.5 s), so pages are counted by seeking no further than this.
MAX_PAGES_COUNTED = 8


def read_raster(data: bytes, label: str, max_pixels: int) -> XrayImage:
    """Decode PNG/JPEG/TIFF bytes; EXIF rotation applied, multi-frame files refused."""
    with decoding(label, "the image"):
        img = _open(io.BytesIO(data))
        image_format, mode, bit_depth = _pil_format(img), img.mode, _pil_bit_depth(img)
        frames = _frame_count(img) if image_format != "JPEG" else "1"
        if frames != "1":
            raise XrayInputError(
                f"{label}: the {image_format} holds {frames} frames; expected a single image (save one frame)"
            )
        check_size(label, img.width, img.height, max_pixels)
        img.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES must stay False)
        ImageOps.exif_transpose(img, in_place=True)  # phone photos of films carry a rotation tag
        values, from_color = _pil_values(img)
    if from_color or f"{values.dtype.kind}{values.dtype.itemsize}" in _NOMINAL:
        stored_range = [float(values.min()), float(values.max())]
        pixels = values / np.float32(255.0) if from_color else values  # Pillow reads colour as 8 bits per channel
    else:
        pixels, stored_range = scale_by_range(label, values)
    return XrayImage(
        pixels,
        {
            "name": label,
            "format": image_format,
            "width": pixels.shape[1],
            "height": pixels.shape[0],
            "bit_depth": bit_depth,
            "photometric": mode,
            "converted_from_color": from_color,
            "stored_range": stored_range,
        },
    )


def raster_header(stream: BinaryIO, label: str) -> dict[str, Any]:
    """Width, height, format, bit_depth and mode via Pillow's lazy open (call inside :func:`decoding`)."""
    img = _open(stream)
    width, height = img.size
    # read_image applies the EXIF rotation; a PNG's getexif() would decode the pixels, so only JPEG/TIFF
    if img.format != "PNG" and img.getexif().get(0x0112) in (5, 6, 7, 8):
        width, height = height, width
    return {
        "width": width,
        "height": height,
        "format": _pil_format(img),
        "bit_depth": _pil_bit_depth(img),
        "mode": img.mode,
    }


def _open(stream: BinaryIO) -> Image.Image:
    with warnings.catch_warnings():  # a bomb warning must stop the read, not scroll by in a log
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(stream, formats=_PIL_FORMATS)


def _frame_count(img: Image.Image) -> str:
    """The number of frames as words: exact up to :data:`MAX_PAGES_COUNTED`, "more than N" beyond (TIFF pages
    are visited one seek at a time, never all; a PNG states its frame count in one chunk)."""
    if img.format != "TIFF":
        return str(getattr(img, "n_frames", 1))
    for page in range(1, MAX_PAGES_COUNTED + 1):
        try:
            img.seek(page)
        except EOFError:
            img.seek(0)
            return str(page)
    return f"more than {MAX_PAGES_COUNTED}"


def _pil_format(img: Image.Image) -> str:
    return "JPEG" if img.format == "MPO" else str(img.format)  # MPO: a JPEG with extra pictures; use the first


def _pil_bit_depth(img: Image.Image) -> int:
    if img.mode.startswith("I;16"):
        return 16
    if img.mode == "I" and img.format == "TIFF":
        bits = img.tag_v2.get(258)
        return int(bits[0]) if bits else 32
    return {"1": 1, "I": 32, "F": 32}.get(img.mode, 8)


def _pil_values(img: Image.Image) -> tuple[np.ndarray, bool]:
    """Stored values (H, W) and whether they came from colour (alpha is dropped; luma of 8-bit channels, 0..255)."""
    if img.mode in ("1", "L", "LA", "I", "F") or img.mode.startswith("I;16"):
        return (np.asarray(img)[..., 0] if img.mode == "LA" else np.asarray(img)), False
    rgb = img if img.mode in ("RGB", "RGBA") else img.convert("RGBA" if img.mode in ("P", "PA") else "RGB")
    return np.asarray(rgb)[..., :3] @ _LUMA, True
