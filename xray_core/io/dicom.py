"""Single-frame grayscale DICOM, uncompressed or compressed, into float32 (H, W) in [0, 1] plus safe metadata.

Compressed pixel data (hospital exports: JPEG lossless, JPEG baseline/extended incl. 12-bit, JPEG-LS, JPEG 2000,
HTJ2K, RLE) is decoded by pydicom's pixel-data plugins: pylibjpeg with its libjpeg, openjpeg and rle plugins
(pinned in requirements.txt), Pillow for what it can. Before any decoder runs, the size the codestream itself
declares must match Rows x Columns: a small header over a huge codestream would otherwise be decoded in full.

Values: stored pixels -> Modality LUT -> VOI LUT or window (when present) -> min/max to [0, 1]; MONOCHROME1 is
inverted so that 0 = black = air, as in MONOCHROME2. Colour, multi-frame and pixel-less DICOMs are refused.

Importing this module imports pydicom (about a second on 2 cores): :mod:`~xray_core.io.reader` imports it only when
the bytes are DICOM, so PNG/JPEG/TIFF reading, ``predict`` and folder scoring of rasters never pay for it.
"""

from __future__ import annotations

import io
import struct
from typing import Any, BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import generate_frames
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
)

from xray_core.config import DEFAULT_MAX_PIXELS
from xray_core.io.dicom_file import DICOM_ERRORS, open_dataset
from xray_core.io.dicom_scope import check_chest_header
from xray_core.io.image import XrayImage, XrayInputError, check_size, scale_by_range
from xray_core.io.source import decoding

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_DECODABLE = "uncompressed, RLE, JPEG (baseline, extended, lossless), JPEG-LS, JPEG 2000 or HTJ2K"
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}  # 0xF7: JPEG-LS
# Technical DICOM attributes copied into meta. A whitelist: patient, study, institution, date and UID fields never are.
_DICOM_FIELDS = {
    "Modality": "modality",
    "ViewPosition": "view_position",
    "BodyPartExamined": "body_part",
    "BitsAllocated": "bits_allocated",
    "PixelRepresentation": "pixel_representation",
    "RescaleSlope": "rescale_slope",
    "RescaleIntercept": "rescale_intercept",
    "WindowCenter": "window_center",
    "WindowWidth": "window_width",
    "VOILUTFunction": "voi_lut_function",
    "PixelSpacing": "pixel_spacing",
    "ImagerPixelSpacing": "imager_pixel_spacing",
    "Manufacturer": "manufacturer",
    "ManufacturerModelName": "manufacturer_model",
    "LossyImageCompression": "lossy_image_compression",  # "01": lossy artefacts may mimic or hide fine findings
}


def read_dicom(data: bytes, label: str, max_pixels: int, force: bool, chest_only: bool = True) -> XrayImage:
    """Decode DICOM bytes (``force``: no preamble, trusted because of a DICOM file extension).

    ``chest_only``: refuse, from the header, what it says is not a frontal chest radiograph
    (:mod:`~xray_core.io.dicom_scope`); False reads any grayscale single-frame DICOM.
    """
    with decoding(label, "the DICOM data", DICOM_ERRORS):
        ds = open_dataset(io.BytesIO(data), label, max_pixels, force)
        if chest_only:
            check_chest_header(ds, label)
        photometric = _check_dicom(ds, label, max_pixels)
        stored = _dicom_pixels(ds, label)
        values = apply_modality_lut(stored, ds)
        if "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds):
            values = apply_voi_lut(values, ds)
        meta = _dicom_meta(ds, label, photometric)
    pixels, _ = scale_by_range(label, np.asarray(values))
    if photometric == "MONOCHROME1":  # stored bright = air; flip so air is dark like MONOCHROME2
        pixels = 1.0 - pixels
    meta["stored_range"] = [float(stored.min()), float(stored.max())]
    return XrayImage(pixels, meta)


def dicom_header(stream: BinaryIO, force: bool, label: str = "<stream>") -> dict[str, Any]:
    """Width, height, format, bit_depth and mode without reading the pixel data (nor inflating it)."""
    with decoding(label, "the header", DICOM_ERRORS):
        ds = open_dataset(stream, label, DEFAULT_MAX_PIXELS, force, stop_before_pixels=True)
        bits = ds.get("BitsStored") or ds.get("BitsAllocated") or 0
        mode = str(ds.get("PhotometricInterpretation", ""))
        size = {"width": int(ds.Columns), "height": int(ds.Rows)}
        return {**size, "format": "DICOM", "bit_depth": int(bits), "mode": mode}


def _check_dicom(ds: pydicom.Dataset, label: str, max_pixels: int) -> str:
    """Refuse what one grayscale image cannot represent; return the photometric interpretation."""
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        raise XrayInputError(
            f"{label}: no pixel data (a DICOM report or structured document, or not DICOM at "
            "all); expected a DICOM image"
        )
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > 1:
        raise XrayInputError(
            f"{label}: multi-frame DICOM ({frames} frames) is not supported; expected a single-frame grayscale DICOM"
        )
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if int(ds.get("SamplesPerPixel") or 1) != 1 or not photometric.startswith("MONOCHROME"):
        raise XrayInputError(
            f"{label}: colour DICOM ({photometric}) is not supported; "
            "expected a grayscale (MONOCHROME1/MONOCHROME2) DICOM"
        )
    check_size(label, int(ds.get("Columns") or 0), int(ds.get("Rows") or 0), max_pixels)
    return photometric


def _dicom_pixels(ds: pydicom.Dataset, label: str) -> np.ndarray:
    """The stored pixel array (H, W), before any LUT; compressed data goes through pydicom's plugins."""
    if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):  # a bare dataset: native pixels, as it was read
        implicit_vr, little_endian = ds.original_encoding
        ds.file_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian
            if implicit_vr
            else (ExplicitVRLittleEndian if little_endian else ExplicitVRBigEndian)
        )
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax.is_transfer_syntax and not syntax.is_compressed:
        return ds.pixel_array
    _check_decoder(syntax, label)
    _check_codestream(ds, syntax, label)
    try:
        return ds.pixel_array
    except DICOM_ERRORS as exc:
        reason = " ".join(str(exc).split())  # pydicom lists each plugin's failure on its own line
        raise XrayInputError(
            f"{label}: cannot decode compressed DICOM pixel data ({syntax.name}: {reason}); it is "
            f"corrupt, truncated or an unsupported variant; expected a complete DICOM, {_DECODABLE}"
        ) from exc


def _check_decoder(syntax: UID, label: str) -> None:
    """Refuse, with what to do, a compressed syntax no installed plugin can decode."""
    try:
        available = get_decoder(syntax).is_available
    except NotImplementedError:  # pydicom has no decoder for this syntax at all (e.g. JPEG XL, a private UID)
        raise XrayInputError(
            f"{label}: DICOM pixel data in transfer syntax {syntax.name} cannot be decoded; "
            f"expected {_DECODABLE} (export the image uncompressed)"
        ) from None
    if not available:
        raise XrayInputError(
            f"{label}: no decoder is installed for {syntax.name} DICOM pixel data; install the "
            "pinned pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg and pylibjpeg-rle "
            "(pip install -r requirements.txt), or expected an uncompressed DICOM"
        )


def _check_codestream(ds: pydicom.Dataset, syntax: UID, label: str) -> None:
    """Refuse a JPEG-family frame whose codestream declares another size than Rows x Columns.

    RLE needs no check: its decoders write into a buffer sized from Rows x Columns.
    """
    j2k = syntax in JPEG2000TransferSyntaxes
    if not (j2k or syntax in JPEGTransferSyntaxes or syntax in JPEGLSTransferSyntaxes):
        return
    try:
        frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    except (StopIteration, *DICOM_ERRORS):
        return  # unreadable encapsulation: the decoder reports it with its own words
    size = _codestream_size(bytes(frame[:65536]), j2k)
    rows, columns = int(ds.Rows), int(ds.Columns)
    if size is not None and size != (rows, columns):
        raise XrayInputError(
            f"{label}: the compressed image is {size[1]} x {size[0]} pixels but the DICOM header "
            f"says {columns} x {rows}; expected a consistent DICOM (re-export it)"
        )


def _codestream_size(head: bytes, j2k: bool) -> tuple[int, int] | None:
    """(rows, columns) from a JPEG 2000 SIZ or a JPEG / JPEG-LS SOF segment; None when not found."""
    if j2k:
        start = head.find(b"\xff\x4f\xff\x51")  # SOC + SIZ; after a JP2 file header when one is (wrongly) there
        if start < 0 or len(head) < start + 24:
            return None
        width, height, x_offset, y_offset = struct.unpack(">4I", head[start + 8 : start + 24])
        return height - y_offset, width - x_offset
    offset = 2 if head.startswith(b"\xff\xd8") else len(head)
    while offset + 9 <= len(head) and head[offset] == 0xFF:
        marker, length = head[offset + 1], int.from_bytes(head[offset + 2 : offset + 4], "big")
        if marker == 0xFF:  # a fill byte before the marker (ISO 10918-1 B.1.1.2)
            offset += 1
            continue
        if marker in _JPEG_SOF:
            rows, columns = struct.unpack(">2H", head[offset + 5 : offset + 9])
            return (rows, columns) if rows else None  # 0 rows: given later by a DNL marker
        offset += 2 + length
    return None


def _dicom_meta(ds: pydicom.Dataset, label: str, photometric: str) -> dict[str, Any]:
    """Only whitelisted technical fields: never names, IDs, dates, institutions or UIDs."""
    meta: dict[str, Any] = {
        "name": label,
        "format": "DICOM",
        "width": int(ds.Columns),
        "height": int(ds.Rows),
        "bit_depth": int(ds.get("BitsStored") or ds.get("BitsAllocated") or 0),
        "photometric": photometric,
        "converted_from_color": False,
        "transfer_syntax": ds.file_meta.TransferSyntaxUID.name,
    }
    for keyword, key in _DICOM_FIELDS.items():
        value = ds.get(keyword)
        if value is not None and value != "":
            meta[key] = _json_value(value)
    return meta


def _json_value(value: Any) -> Any:
    """A DICOM value as plain JSON types (DS/IS numbers, multi-values as lists, anything else as str)."""
    if isinstance(value, (list, tuple, MultiValue)):
        return [_json_value(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return float(value) if np.isfinite(value) else None
    return str(value)
