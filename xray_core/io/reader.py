"""Read PNG, JPEG, TIFF and DICOM radiographs into one grayscale float array plus safe metadata.

Axis order is (rows, columns) = (height, width); values are float32 in [0, 1] with 0 = black (air),
whatever the source photometry. Integer rasters are scaled by their nominal range (8-bit by 255,
16-bit by 65535); float and other integer rasters, and DICOM after its Modality and VOI LUTs, by their
own min/max (a constant image becomes all zeros). Every failure raises :class:`XrayInputError`.

This module only dispatches: :mod:`~xray_core.io.raster` reads PNG/JPEG/TIFF, :mod:`~xray_core.io.dicom`
DICOM (compressed too), :mod:`~xray_core.io.image` holds :class:`XrayImage` and the limits, and
:mod:`~xray_core.io.source` turns paths, bytes and uploads into bytes. The names below stay importable from
here for existing callers. :mod:`~xray_core.io.dicom` (and with it pydicom, about a second to import) loads only
when the content is DICOM: PNG/JPEG/TIFF never pay for it.
"""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO

from xray_core.config import DEFAULT_MAX_PIXELS
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.raster import raster_header, read_raster
from xray_core.io.source import (
    EXPECTED,
    Source,
    decoding,
    load_bytes,
    sniff,
    source_label,
)


def read_image(
    source: Source, *, name: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS, chest_only: bool = True
) -> XrayImage:
    """Decode a path, bytes or binary file object (e.g. a Streamlit upload) into an :class:`XrayImage`.

    ``name`` overrides the label used in messages and ``meta["name"]``. Images with more than
    ``max_pixels`` pixels are refused from their header, before any pixel is decoded. A DICOM whose header says
    it is not a frontal chest radiograph (a CT slice, a lateral view, a knee) raises
    :class:`~xray_core.io.dicom_scope.NotAChestRadiograph` unless ``chest_only`` is False.
    """
    data, label = load_bytes(source, name, max_bytes=max_pixels * 8 + (1 << 24))
    kind = sniff(data[:132], label)
    if kind == "raster":
        return read_raster(data, label, max_pixels)
    from xray_core.io.dicom import read_dicom

    return read_dicom(data, label, max_pixels, force=kind == "dicom-forced", chest_only=chest_only)


def read_image_header(source: Source, *, name: str | None = None) -> dict[str, Any]:
    """Width, height, format, bit_depth and mode from the header alone (no pixel decoding)."""
    if not isinstance(source, (str, os.PathLike)):
        data, label = load_bytes(source, name, max_bytes=None)
        return _header(io.BytesIO(data), label)
    label = source_label(source, name)
    try:
        with open(source, "rb") as stream:
            return _header(stream, label)  # any OSError inside is already an XrayInputError
    except OSError as exc:
        raise XrayInputError(f"{label}: cannot open the file ({exc.strerror or exc}); {EXPECTED}") from exc


def _header(stream: BinaryIO, label: str) -> dict[str, Any]:
    """Header fields of a seekable stream, via Pillow's lazy open or pydicom's stop_before_pixels."""
    with decoding(label, "the header"):
        kind = sniff(stream.read(132), label)
        stream.seek(0)
        if kind == "raster":
            return raster_header(stream, label)
    from xray_core.io.dicom import dicom_header

    return dicom_header(stream, force=kind == "dicom-forced", label=label)


__all__ = ["read_image", "read_image_header"]
