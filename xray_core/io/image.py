"""The decoded radiograph (:class:`XrayImage`), the one exception readers raise, and the size limits.

``XrayImage`` normalises its pixels where it is built: whatever array it is given, it holds float32
(H, W) in [0, 1], C-contiguous, so an 8-bit and a float copy of one film get the same checks and probabilities
and nothing downstream needs its own conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_SIDE = 8  # smaller images carry no usable anatomy (and break resizing)
_ACCEPTED = "expected a 2-D (H, W) array of uint8, uint16, bool, or float in [0, 1]"


class XrayInputError(ValueError):
    """The input is not a readable radiograph; the message names it, says why, and what is accepted."""


class NotAChestRadiograph(XrayInputError):
    """The DICOM header says the film is not a frontal chest radiograph (:mod:`~xray_core.io.dicom_scope`).

    ``code`` is ``dicom_modality``, ``dicom_image_type``, ``dicom_view`` or ``dicom_body_part``; ``field`` and
    ``value`` are the header field and the value that decided.
    """

    def __init__(self, message: str, code: str, field: str, value: str) -> None:
        super().__init__(message)
        self.code, self.field, self.value = code, field, value

    def __reduce__(self) -> tuple:  # decoding workers send it back to the parent process pickled
        return type(self), (str(self), self.code, self.field, self.value)


@dataclass(frozen=True, eq=False)
class XrayImage:
    """A radiograph: ``pixels`` float32 (H, W) in [0, 1], 0 = black, C-contiguous; ``meta`` JSON-able, no patient data.

    ``pixels`` may be given as any of these; it is converted once, here:

    * ``uint8``: divided by 255.
    * ``uint16``: divided by 2**bits - 1, where bits is ``meta["bit_depth"]`` when it is 1..16 (a 12-bit film
      stored in 16-bit words), else 16; stored values above that range are clipped to 1.
    * ``bool``: False = 0.0, True = 1.0.
    * float (16, 32 or 64 bit): clipped to [0, 1]. NaN or infinite values are **refused** with
      :class:`XrayInputError` (a silent replacement would invent anatomy).

    Anything else (colour or stacked arrays, signed or 32-bit integers, empty arrays) raises XrayInputError.
    """

    pixels: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        meta = {} if self.meta is None else self.meta
        label = str(meta.get("name") or "image")
        object.__setattr__(self, "meta", meta)
        object.__setattr__(self, "pixels", normalise_pixels(self.pixels, meta.get("bit_depth"), label))

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def to_uint8(self) -> np.ndarray:
        """The pixels as uint8 (H, W), 0..255."""
        return np.round(np.clip(self.pixels, 0.0, 1.0) * 255.0).astype(np.uint8)  # clip: pixels may be edited in place


def normalise_pixels(pixels: Any, bit_depth: Any = None, label: str = "image") -> np.ndarray:
    """``pixels`` as float32 (H, W) in [0, 1], C-contiguous; the rules are :class:`XrayImage`'s.

    An array that already meets them is returned as is (no copy).
    """
    array = np.asarray(pixels)
    if array.ndim != 2 or array.size == 0:
        raise XrayInputError(
            f"{label}: pixel array of shape {array.shape}; {_ACCEPTED} (convert colour to grayscale and pass one frame)"
        )
    kind = array.dtype.kind
    if kind == "b":
        return np.ascontiguousarray(array, dtype=np.float32)
    if kind == "u" and array.dtype.itemsize <= 2:
        return _scale_unsigned(array, _full_scale(array.dtype.itemsize * 8, bit_depth))
    if kind != "f":
        raise XrayInputError(f"{label}: pixel array of type {array.dtype}; {_ACCEPTED} (scale it to [0, 1] first)")
    low, high = float(array.min()), float(array.max())  # NaN propagates through min/max: no temporary mask
    if not (np.isfinite(low) and np.isfinite(high)):
        raise XrayInputError(f"{label}: the image contains NaN or infinite values; expected finite pixel values")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if low < 0.0 or high > 1.0:
        array = np.clip(array, 0.0, 1.0)
    return array


def _full_scale(container_bits: int, bit_depth: Any) -> float:
    """2**bits - 1 for the declared bit depth when it fits the container (uint16 only), else for the container."""
    declared = bit_depth if isinstance(bit_depth, (int, np.integer)) and not isinstance(bit_depth, bool) else None
    if container_bits == 16 and declared is not None and 1 <= int(declared) <= 16:
        return float(2 ** int(declared) - 1)
    return float(2**container_bits - 1)


def _scale_unsigned(array: np.ndarray, full_scale: float) -> np.ndarray:
    """uint8/uint16 divided by ``full_scale`` in float32 (bit-identical to ``(array / full_scale).astype(float32)``
    for 8 and 16 bits), clipped at 1."""
    pixels = array.astype(np.float32)  # always a fresh C-contiguous array: safe to modify in place
    pixels /= np.float32(full_scale)
    np.minimum(pixels, 1.0, out=pixels)
    return pixels


def check_size(label: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse degenerate and decompression-bomb sizes, from the header (before any pixel is decoded)."""
    if width < MIN_SIDE or height < MIN_SIDE:
        raise XrayInputError(
            f"{label}: the image is {width} x {height} pixels; expected at least {MIN_SIDE} x {MIN_SIDE}"
        )
    if width * height > max_pixels:
        raise XrayInputError(
            f"{label}: the image is {width} x {height} pixels ({width * height / 1e6:.1f} "
            f"megapixels), above the {max_pixels / 1e6:g}-megapixel limit; expected a smaller image"
        )


def scale_by_range(label: str, values: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Values without a nominal range (float or 32-bit rasters, DICOM after its LUTs) min/max-scaled to [0, 1]
    as float32, and their stored [min, max]. A constant image becomes all zeros; NaN/inf are refused."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise XrayInputError(f"{label}: the image contains NaN or infinite values; expected finite pixel values")
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, np.float32), [low, high]
    pixels = (values.astype(np.float64 if values.dtype == np.float64 else np.float32) - low) / (high - low)
    return np.clip(pixels, 0.0, 1.0).astype(np.float32, copy=False), [low, high]


__all__ = [
    "MIN_SIDE",
    "NotAChestRadiograph",
    "XrayImage",
    "XrayInputError",
    "check_size",
    "normalise_pixels",
    "scale_by_range",
]
