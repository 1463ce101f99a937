"""Building blocks of the reliability inputs: the :class:`Case` record, file encoders and a synthetic film.

Every case is a file as a user would upload it: a name (its extension matters) and bytes, made in memory. The
encoders cover PNG/JPEG/TIFF/BMP/GIF/WEBP/PDF through Pillow, any-dtype and multi-page TIFF through tifffile,
chest DICOM with its odd and broken variants through pydicom, and bare PNG/TIFF headers that claim any size.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid


@dataclass(frozen=True)
class Case:
    """One input file: ``expect`` is 'valid' (must decode), 'error' (must raise XrayInputError) or 'any'."""

    family: str
    name: str
    data: bytes
    expect: str = "any"


def encode(array: np.ndarray, fmt: str, mode: str | None = None, **save_args: Any) -> bytes:
    """PNG/JPEG/TIFF/BMP/GIF/WEBP/PDF bytes of an array through Pillow (``mode`` converts first)."""
    image = Image.fromarray(array)
    buffer = io.BytesIO()
    (image.convert(mode) if mode else image).save(buffer, fmt, **save_args)
    return buffer.getvalue()


def tiff(array: np.ndarray, pages: int = 1) -> bytes:
    """TIFF via tifffile (any dtype, several pages)."""
    import tifffile

    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for _ in range(pages):
            writer.write(array, contiguous=False)
    return buffer.getvalue()


def dicom(
    array: np.ndarray,
    photometric: str = "MONOCHROME2",
    frames: int = 1,
    samples: int = 1,
    pixels: bool = True,
    preamble: bool = True,
    compressed: bool = False,
    rows_columns: tuple[int, int] | None = None,
    **header: str,
) -> bytes:
    """A chest CR DICOM of a uint8/uint16 (H, W) array; the options make the odd and broken variants, ``header``
    overrides fields (e.g. ``Modality="CT"``, ``ViewPosition="LL"``)."""
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Doe^Jane", "PID-0042", "19600101"
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", "PA", "CHEST"
    ds.Rows, ds.Columns = rows_columns or array.shape[:2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, "RGB" if samples > 1 else photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
        array = np.repeat(array[..., None], samples, axis=-1)
    ds.BitsAllocated = ds.BitsStored = array.dtype.itemsize * 8
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    for keyword, value in header.items():  # last: an override wins over every default above
        setattr(ds, keyword, value)
    if pixels:
        raw = np.ascontiguousarray(array).tobytes() * frames
        ds.PixelData = encapsulate([raw]) if compressed else raw
    buffer = io.BytesIO()
    if not preamble:
        pydicom.dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
        return buffer.getvalue()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit if compressed else ExplicitVRLittleEndian
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def deflated_dicom(array: np.ndarray, zeros: int = 0, **header: str) -> bytes:
    """:func:`dicom` of ``array`` in the Deflated Explicit VR Little Endian transfer syntax; ``header`` overrides
    fields (e.g. ``Modality="CT"``). ``zeros`` > 0 makes a deflate bomb: pixel data of that many zero bytes
    whatever Rows x Columns say, about a thousandth of that on disk (deflate's ratio on zeros)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = pydicom.dcmread(io.BytesIO(dicom(array, **header)))
    pixels = b"" if zeros else ds.PixelData + bytes(len(ds.PixelData) % 2)
    del ds.PixelData
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    out, body = DicomBytesIO(), DicomBytesIO()
    out.write(bytes(128) + b"DICM")
    write_file_meta_info(out, ds.file_meta)
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    element = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, zeros or len(pixels)) + pixels
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = compressor.compress(body.getvalue()) + compressor.compress(element) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = 1 << 24  # after a full flush a compressed block of zeros stands alone: repeat it instead of compressing
    repeated = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH) if zeros >= block else b""
    tail = compressor.compress(bytes(zeros % block)) + compressor.flush()
    return out.getvalue() + stream + repeated * (zeros // block) + tail


def png_header(width: int, height: int, payload: bytes = b"") -> bytes:
    """A PNG claiming ``width`` x ``height`` (8-bit gray) with ``payload`` as its compressed IDAT data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", payload) + chunk(b"IEND", b"")


def tiff_header(width: int, height: int) -> bytes:
    """A little-endian 8-bit grayscale TIFF claiming ``width`` x ``height`` with a 16-byte strip."""
    entries = [
        (256, 4, width),
        (257, 4, height),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 8 + 2 + 8 * 12 + 4),
        (278, 4, height),
        (279, 4, 16),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in entries
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + bytes(16)


def tiff_pages(pages: int, side: int = 16) -> bytes:
    """A little-endian 8-bit TIFF of ``pages`` ``side`` x ``side`` pages sharing one strip: about 100 bytes a page
    (40,000 pages in 4 MB), written directly because an encoder takes seconds for that many."""
    strip = bytes(index % 256 for index in range(side * side))
    tags = [(256, 3, side), (257, 3, side), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (278, 3, side)]
    tags.append((279, 4, len(strip)))
    first, size = 8 + len(strip), 2 + 12 * len(tags) + 4
    directory = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", tag, kind, 1, v) for tag, kind, v in tags)
    out = bytearray(b"II*\x00" + struct.pack("<I", first) + strip)
    for page in range(pages):
        out += directory + struct.pack("<I", first + (page + 1) * size if page + 1 < pages else 0)
    return bytes(out)


def film(height: int = 96, width: int = 80, seed: int = 0) -> np.ndarray:
    """A chest-film-like uint8 image: dark lungs either side of a bright mediastinum, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    values = 0.3 + 0.45 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.2 * y + rng.normal(0, 0.04, (height, width))
    return np.clip(values * 255, 0, 255).astype(np.uint8)


__all__ = ["Case", "deflated_dicom", "dicom", "encode", "film", "png_header", "tiff", "tiff_header", "tiff_pages"]
