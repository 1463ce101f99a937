"""Read PNG, JPEG, TIFF and DICOM radiographs into one grayscale float array plus safe metadata.

Axis order is (rows, columns) = (height, width); values are float32 in [0, 1] with 0 = black (air),
whatever the source photometry. Integer rasters are scaled by their nominal range (8-bit by 255,
16-bit by 65535); float and other integer rasters, and DICOM after its Modality and VOI LUTs, by their
own min/max (a constant image becomes all zeros). Every failure raises :class:`XrayInputError`.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np
import pydicom
from PIL import Image, ImageOps
from pydicom.dataset import FileMetaDataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from xray_core.config import DEFAULT_MAX_PIXELS

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".dicom")
MIN_SIDE = 8  # smaller images carry no usable anatomy (and break resizing)
_EXPECTED = "expected PNG, JPEG, TIFF or DICOM"
_DICOM_EXTENSIONS = (".dcm", ".dicom")
_RASTER_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PIL_FORMATS = ("PNG", "JPEG", "TIFF")  # never let Pillow try its other (less audited) decoders
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601
_NOMINAL_MAX = {"b1": 1.0, "u1": 255.0, "u2": 65535.0}  # by dtype kind + size: bool, uint8, uint16 (any byte order)
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# Technical DICOM attributes copied into meta. A whitelist: patient, study, institution, date and UID fields never are.
_DICOM_FIELDS = {
    "Modality": "modality", "ViewPosition": "view_position", "BodyPartExamined": "body_part",
    "BitsAllocated": "bits_allocated", "PixelRepresentation": "pixel_representation",
    "RescaleSlope": "rescale_slope", "RescaleIntercept": "rescale_intercept", "WindowCenter": "window_center",
    "WindowWidth": "window_width", "VOILUTFunction": "voi_lut_function", "PixelSpacing": "pixel_spacing",
    "ImagerPixelSpacing": "imager_pixel_spacing", "Manufacturer": "manufacturer",
    "ManufacturerModelName": "manufacturer_model",
}
_DECODER_ERRORS = (
    OSError, ValueError, SyntaxError, struct.error, EOFError, IndexError, KeyError, AttributeError, TypeError,
    MemoryError, NotImplementedError, RuntimeError, zlib.error, InvalidDicomError, BytesLengthException,
    Warning,  # decoder warnings, when a caller turns warnings into errors
)


class XrayInputError(ValueError):
    """The input is not a readable radiograph; the message names it, says why, and what is accepted."""


@dataclass(frozen=True, eq=False)
class XrayImage:
    """A decoded radiograph: ``pixels`` float32 (H, W) in [0, 1], 0 = black; ``meta`` JSON-able, no patient data."""

    pixels: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def to_uint8(self) -> np.ndarray:
        """The pixels as uint8 (H, W), 0..255."""
        return np.round(np.clip(self.pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def is_supported_name(name: str) -> bool:
    """Whether a file name has one of :data:`SUPPORTED_EXTENSIONS` (case-insensitive)."""
    return Path(str(name)).suffix.lower() in SUPPORTED_EXTENSIONS


def read_image(source: Source, *, name: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> XrayImage:
    """Decode a path, bytes or binary file object (e.g. a Streamlit upload) into an :class:`XrayImage`.

    ``name`` overrides the label used in messages and ``meta["name"]``. Images with more than
    ``max_pixels`` pixels are refused from their header, before any pixel is decoded.
    """
    data, label = _load(source, name, max_bytes=max_pixels * 8 + (1 << 24))
    kind = _sniff(data[:132], label)
    if kind == "raster":
        return _read_raster(data, label, max_pixels)
    return _read_dicom(data, label, max_pixels, force=kind == "dicom-forced")


def read_image_header(source: Source, *, name: str | None = None) -> dict[str, Any]:
    """Width, height, format, bit_depth and mode from the header alone (no pixel decoding)."""
    if not isinstance(source, (str, os.PathLike)):
        data, label = _load(source, name, max_bytes=None)
        return _header(io.BytesIO(data), label)
    label = name or Path(source).name or str(source)
    try:
        stream = open(source, "rb")
    except OSError as exc:
        raise XrayInputError(f"{label}: cannot open the file ({exc.strerror or exc}); {_EXPECTED}") from exc
    with stream:
        return _header(stream, label)


def _header(stream: BinaryIO, label: str) -> dict[str, Any]:
    """Header fields of a seekable stream, via Pillow's lazy open or pydicom's stop_before_pixels."""
    with _decoding(label, "the header"):
        kind = _sniff(stream.read(132), label)
        stream.seek(0)
        if kind != "raster":
            ds = pydicom.dcmread(stream, stop_before_pixels=True, force=kind == "dicom-forced")
            bits = ds.get("BitsStored") or ds.get("BitsAllocated") or 0
            mode = str(ds.get("PhotometricInterpretation", ""))
            return {"width": int(ds.Columns), "height": int(ds.Rows), "format": "DICOM", "bit_depth": int(bits),
                    "mode": mode}
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(stream, formats=_PIL_FORMATS)
        width, height = img.size
        # read_image applies the EXIF rotation; a PNG's getexif() would decode the pixels, so only JPEG/TIFF
        if img.format != "PNG" and img.getexif().get(0x0112) in (5, 6, 7, 8):
            width, height = height, width
        return {"width": width, "height": height, "format": _pil_format(img), "bit_depth": _pil_bit_depth(img),
                "mode": img.mode}


def _load(source: Source, name: str | None, max_bytes: int | None) -> tuple[bytes, str]:
    """All bytes of the source (refused beyond ``max_bytes``) and the label used in messages."""
    limit = -1 if max_bytes is None else max_bytes + 1
    if isinstance(source, (str, os.PathLike)):
        label = name or Path(source).name or str(source)
        try:
            with open(source, "rb") as handle:
                data = handle.read(limit)
        except OSError as exc:
            raise XrayInputError(f"{label}: cannot open the file ({exc.strerror or exc}); {_EXPECTED}") from exc
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "<bytes>"
    else:
        stream_name = getattr(source, "name", None)
        label = name or (os.path.basename(stream_name) if isinstance(stream_name, str) else "") or "<stream>"
        if not hasattr(source, "read"):
            raise XrayInputError(f"{label}: cannot read a {type(source).__name__}; expected a path, bytes or a file")
        with _decoding(label, "the upload"):  # getvalue() ignores the position left by an earlier read()
            data = source.getvalue() if hasattr(source, "getvalue") else source.read(limit)
    if not isinstance(data, (bytes, bytearray)):
        raise XrayInputError(f"{label}: the file object returned text; expected a binary file (opened with 'rb')")
    if max_bytes is not None and len(data) > max_bytes:
        raise XrayInputError(f"{label}: the file is larger than any image within the pixel limit; {_EXPECTED}")
    return bytes(data), label


def _sniff(head: bytes, label: str) -> str:
    """'dicom', 'raster' or 'dicom-forced' (no preamble but a DICOM extension), from content first."""
    extension = Path(label).suffix.lower()
    if not head:
        raise XrayInputError(f"{label}: the file is empty (0 bytes); {_EXPECTED}")
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(_RASTER_MAGIC):
        return "raster"
    if extension in _DICOM_EXTENSIONS:
        return "dicom-forced"
    if extension and extension not in SUPPORTED_EXTENSIONS:
        raise XrayInputError(f"{label}: unsupported file type '{extension}'; {_EXPECTED} "
                             f"({', '.join(SUPPORTED_EXTENSIONS)}); BMP, GIF, WebP and PDF are not accepted")
    raise XrayInputError(f"{label}: the content is not a PNG, JPEG, TIFF or DICOM image; {_EXPECTED}")


@contextmanager
def _decoding(label: str, what: str) -> Iterator[None]:
    """Turn any decoder failure into one XrayInputError naming the input."""
    try:
        yield
    except XrayInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise XrayInputError(f"{label}: the image is too large to decode safely ({exc}); "
                             "expected a smaller image") from exc
    except _DECODER_ERRORS as exc:
        reason = "unrecognised image data" if isinstance(exc, Image.UnidentifiedImageError) else str(exc)
        raise XrayInputError(f"{label}: cannot read {what}, it is corrupt, truncated or of an unsupported kind "
                             f"({type(exc).__name__}: {reason}); {_EXPECTED}") from exc


def _check_size(label: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse degenerate and decompression-bomb sizes, from the header."""
    if width < MIN_SIDE or height < MIN_SIDE:
        raise XrayInputError(f"{label}: the image is {width} x {height} pixels; "
                             f"expected at least {MIN_SIDE} x {MIN_SIDE}")
    if width * height > max_pixels:
        raise XrayInputError(f"{label}: the image is {width} x {height} pixels ({width * height / 1e6:.1f} "
                             f"megapixels), above the {max_pixels / 1e6:g}-megapixel limit; expected a smaller image")


def _read_raster(data: bytes, label: str, max_pixels: int) -> XrayImage:
    """PNG, JPEG or TIFF through Pillow: header and size check first, then a full (non-truncated) decode."""
    with _decoding(label, "the image"):
        with warnings.catch_warnings():  # a bomb warning must stop the read, not scroll by in a log
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=_PIL_FORMATS)
        image_format, mode, bit_depth = _pil_format(img), img.mode, _pil_bit_depth(img)
        if image_format != "JPEG" and getattr(img, "n_frames", 1) > 1:
            raise XrayInputError(f"{label}: the {image_format} holds {img.n_frames} frames; "
                                 "expected a single image (save one frame)")
        _check_size(label, img.width, img.height, max_pixels)
        img.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES must stay False)
        ImageOps.exif_transpose(img, in_place=True)  # phone photos of films carry a rotation tag
        values, from_color, nominal_max = _pil_values(img)
    pixels, stored_range = _to_unit(label, values, nominal_max)
    return XrayImage(pixels, {"name": label, "format": image_format, "width": pixels.shape[1],
                              "height": pixels.shape[0], "bit_depth": bit_depth, "photometric": mode,
                              "converted_from_color": from_color, "stored_range": stored_range})


def _pil_format(img: Image.Image) -> str:
    return "JPEG" if img.format == "MPO" else str(img.format)  # MPO: a JPEG with extra pictures; use the first


def _pil_bit_depth(img: Image.Image) -> int:
    if img.mode.startswith("I;16"):
        return 16
    if img.mode == "I" and img.format == "TIFF":
        bits = img.tag_v2.get(258)
        return int(bits[0]) if bits else 32
    return {"1": 1, "I": 32, "F": 32}.get(img.mode, 8)


def _pil_values(img: Image.Image) -> tuple[np.ndarray, bool, float | None]:
    """Stored values (H, W), whether they came from colour (alpha is dropped), and their nominal maximum."""
    if img.mode in ("1", "L", "LA", "I", "F") or img.mode.startswith("I;16"):
        values = np.asarray(img)[..., 0] if img.mode == "LA" else np.asarray(img)
        return values, False, _NOMINAL_MAX.get(f"{values.dtype.kind}{values.dtype.itemsize}")
    rgb = img if img.mode in ("RGB", "RGBA") else img.convert("RGBA" if img.mode in ("P", "PA") else "RGB")
    return np.asarray(rgb)[..., :3] @ _LUMA, True, 255.0  # Pillow reads colour as 8 bits per channel


def _to_unit(label: str, values: np.ndarray, nominal_max: float | None) -> tuple[np.ndarray, list[float]]:
    """float32 in [0, 1]: divided by ``nominal_max``, or min/max-scaled when it is None; plus [min, max] stored."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise XrayInputError(f"{label}: the image contains NaN or infinite values; expected finite pixel values")
    low, high = float(values.min()), float(values.max())
    if nominal_max is not None:
        pixels = values.astype(np.float32) / np.float32(nominal_max)
    elif high > low:
        pixels = ((values.astype(np.float64 if values.dtype == np.float64 else np.float32) - low) / (high - low))
    else:
        pixels = np.zeros(values.shape, np.float32)
    return np.clip(pixels, 0.0, 1.0).astype(np.float32, copy=False), [low, high]


def _read_dicom(data: bytes, label: str, max_pixels: int, force: bool) -> XrayImage:
    """Single-frame grayscale DICOM: Modality LUT, then VOI LUT / window, min/max to [0, 1], MONOCHROME1 inverted."""
    with _decoding(label, "the DICOM data"):
        ds = pydicom.dcmread(io.BytesIO(data), force=force)
        photometric = _check_dicom(ds, label, max_pixels)
        stored = _dicom_pixels(ds, label)
        values = apply_modality_lut(stored, ds)
        if "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds):
            values = apply_voi_lut(values, ds)
        meta = _dicom_meta(ds, label, photometric)
    pixels, _ = _to_unit(label, np.asarray(values), None)
    if photometric == "MONOCHROME1":  # stored bright = air; flip so air is dark like MONOCHROME2
        pixels = 1.0 - pixels
    meta["stored_range"] = [float(stored.min()), float(stored.max())]
    return XrayImage(pixels, meta)


def _check_dicom(ds: pydicom.Dataset, label: str, max_pixels: int) -> str:
    """Refuse what one grayscale image cannot represent; return the photometric interpretation."""
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        raise XrayInputError(f"{label}: no pixel data (a DICOM report or structured document, or not DICOM at "
                             "all); expected a DICOM image")
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > 1:
        raise XrayInputError(f"{label}: multi-frame DICOM ({frames} frames) is not supported; "
                             "expected a single-frame grayscale DICOM")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if int(ds.get("SamplesPerPixel") or 1) != 1 or not photometric.startswith("MONOCHROME"):
        raise XrayInputError(f"{label}: colour DICOM ({photometric}) is not supported; "
                             "expected a grayscale (MONOCHROME1/MONOCHROME2) DICOM")
    _check_size(label, int(ds.get("Columns") or 0), int(ds.get("Rows") or 0), max_pixels)
    return photometric


def _dicom_pixels(ds: pydicom.Dataset, label: str) -> np.ndarray:
    """The stored pixel array (H, W), before any LUT."""
    if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):  # a bare dataset: native pixels, as it was read
        implicit_vr, little_endian = ds.original_encoding
        ds.file_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit_vr else (
            ExplicitVRLittleEndian if little_endian else ExplicitVRBigEndian)
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        return ds.pixel_array
    except _DECODER_ERRORS as exc:
        if syntax.is_compressed:
            raise XrayInputError(f"{label}: cannot decode compressed DICOM pixel data ({syntax.name}: {exc}); "
                                 "expected an uncompressed DICOM, or install a decoder (pylibjpeg, python-gdcm)"
                                 ) from exc
        raise


def _dicom_meta(ds: pydicom.Dataset, label: str, photometric: str) -> dict[str, Any]:
    """Only whitelisted technical fields: never names, IDs, dates, institutions or UIDs."""
    meta: dict[str, Any] = {"name": label, "format": "DICOM", "width": int(ds.Columns), "height": int(ds.Rows),
                            "bit_depth": int(ds.get("BitsStored") or ds.get("BitsAllocated") or 0),
                            "photometric": photometric, "converted_from_color": False,
                            "transfer_syntax": ds.file_meta.TransferSyntaxUID.name}
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


__all__ = ["SUPPORTED_EXTENSIONS", "XrayImage", "XrayInputError", "is_supported_name", "read_image",
           "read_image_header"]
