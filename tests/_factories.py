"""Tiny in-memory image files for tests: PNG, JPEG, TIFF and DICOM bytes built from numpy arrays.

Arrays are (H, W) grayscale or (H, W, C) colour; dtype decides the bit depth (uint8 -> 8-bit, uint16 -> 16-bit).
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import pydicom
import tifffile
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

#: Identifying values written into every generated DICOM; they must never reach XrayImage.meta.
PATIENT_FIELDS = {
    "PatientName": "Doe^John",
    "PatientID": "12345",
    "PatientBirthDate": "19700101",
    "InstitutionName": "Saint Example Hospital",
    "AccessionNumber": "ACC98765",
    "StudyDate": "20240229",
    "ReferringPhysicianName": "House^Gregory",
}


def gradient(height: int = 32, width: int = 48, high: int = 255, dtype: Any = np.uint8) -> np.ndarray:
    """A (height, width) ramp from 0 to ``high`` in row-major order."""
    return np.linspace(0, high, height * width).round().astype(dtype).reshape(height, width)


def pil_bytes(image: Image.Image, fmt: str, **save_args: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_args)
    return buffer.getvalue()


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    """PNG of a uint8 (8-bit) or uint16 (16-bit) array; ``mode`` converts first (e.g. 'P', 'LA', 'RGBA')."""
    image = Image.fromarray(array)
    return pil_bytes(image.convert(mode) if mode else image, "PNG")


def jpeg_bytes(array: np.ndarray, quality: int = 95, **save_args: Any) -> bytes:
    return pil_bytes(Image.fromarray(array), "JPEG", quality=quality, **save_args)


def tiff_bytes(array: np.ndarray) -> bytes:
    """TIFF written by tifffile (not Pillow), any dtype it supports: uint8, uint16, float32..."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array)
    return buffer.getvalue()


def png_header_bytes(width: int, height: int, bit_depth: int = 1, color_type: int = 0) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but whose pixel data is empty (a bomb-check probe)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def dicom_bytes(
    array: np.ndarray,
    photometric: str = "MONOCHROME2",
    window: tuple[float, float] | None = None,
    slope: float = 1,
    intercept: float = 0,
    frames: int = 1,
    samples: int = 1,
    with_pixels: bool = True,
    preamble: bool = True,
    transfer_syntax: str = ExplicitVRLittleEndian,
    bits_stored: int | None = None,
    rows_columns: tuple[int, int] | None = None,
) -> bytes:
    """A DICOM CR of a uint8/uint16/int16 (H, W) array, with the PATIENT_FIELDS and PA chest technical fields.

    ``window`` is (center, width) in rescaled units; ``samples=3`` writes an RGB image; ``frames`` repeats the
    array; a compressed ``transfer_syntax`` encapsulates the raw bytes (which no codec can decode);
    ``preamble=False`` writes a bare dataset (no 128-byte preamble, no 'DICM', no file meta);
    ``rows_columns`` overrides the declared size (e.g. to claim a huge image with tiny pixel data).
    """
    array = np.ascontiguousarray(array)
    ds = Dataset()
    for keyword, value in PATIENT_FIELDS.items():
        setattr(ds, keyword, value)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", "PA", "CHEST"
    ds.Rows, ds.Columns = rows_columns or array.shape[:2]
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "RGB" if samples > 1 and photometric.startswith("MONO") else photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
        array = np.repeat(array[..., None], samples, axis=-1) if array.ndim == 2 else array
    bits = array.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored = bits, bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(array.dtype.kind == "i")
    if frames > 1:
        ds.NumberOfFrames = frames
    if slope != 1 or intercept != 0:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = slope, intercept, "HU"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if with_pixels:
        raw = array.tobytes() * frames
        ds.PixelData = encapsulate([raw]) if UID(transfer_syntax).is_compressed else raw
    return _write_dicom(ds, preamble, transfer_syntax)


def _write_dicom(ds: Dataset, preamble: bool, transfer_syntax: str) -> bytes:
    buffer = io.BytesIO()
    if not preamble:
        pydicom.dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
        return buffer.getvalue()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def onnx_predict_in_a_fresh_process(checkpoint, film, env: dict) -> tuple[dict, list, str]:
    """``predict --json --engine onnx`` in a new interpreter: ({'code', 'torch' imported?}, JSON rows, stderr)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\nfrom xray_core.cli.main import main\n"
        f"code = main(['predict', '--json', '--engine', 'onnx', '--checkpoint', {str(checkpoint)!r}, {str(film)!r}])\n"
        "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]), json.loads("\n".join(lines[:-1])), done.stderr
