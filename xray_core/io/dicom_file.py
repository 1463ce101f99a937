"""Opening DICOM bytes without letting them grow: the file meta first, a deflated dataset inflated within a bound.

pydicom's ``dcmread`` inflates a dataset in the Deflated Explicit VR Little Endian transfer syntax
(1.2.840.10008.1.2.1.99) with one unbounded ``zlib.decompress`` before it reads a single element: zeros deflate
about 1,000:1, so a 1 MB upload took 2 GB of memory (measured). Here the transfer syntax is read from the file meta
first; a deflated dataset is inflated by a ``zlib.decompressobj`` asked for at most :data:`HEADER_BYTES`, which
must hold the header up to the pixel data, then for at most the one frame that header declares (within the
reader's pixel limit) plus :data:`ELEMENT_HEADROOM`. Anything longer is refused, so memory stays bounded by the
size of the film the file says it holds, whatever it really inflates to.
"""

from __future__ import annotations

import io
import warnings
import zlib
from typing import BinaryIO

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.filereader import read_dataset, read_preamble
from pydicom.uid import DeflatedExplicitVRLittleEndian

from xray_core.io.image import XrayInputError, check_size
from xray_core.io.source import DECODER_ERRORS

#: What a DICOM read may raise on bad data: the generic decoder errors plus pydicom's own.
DICOM_ERRORS = (*DECODER_ERRORS, InvalidDicomError, BytesLengthException)
HEADER_BYTES = 1 << 20  # inflated bytes within which a deflated DICOM must declare Rows and Columns
ELEMENT_HEADROOM = 8 << 20  # inflated bytes allowed beyond one frame's pixel data (overlays, private elements)
_PIXEL_TAGS = {0x7FE00008, 0x7FE00009, 0x7FE00010}
_DEFLATED = "a deflated (1.2.840.10008.1.2.1.99) DICOM"


def open_dataset(
    stream: BinaryIO, label: str, max_pixels: int, force: bool, stop_before_pixels: bool = False
) -> Dataset:
    """The dataset in a seekable DICOM ``stream``; a deflated one inflated within bounds (call inside ``decoding``)."""
    preamble = read_preamble(stream, force)
    meta = FileMetaDataset(read_dataset(stream, False, True, stop_when=lambda tag, vr, length: tag >> 16 != 2))
    if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        stream.seek(0)
        return pydicom.dcmread(stream, force=force, stop_before_pixels=stop_before_pixels)
    inflated = inflate(memoryview(stream.read()), label, max_pixels, header_only=stop_before_pixels)
    body = read_dataset(io.BytesIO(inflated), False, True, stop_when=_at_pixels if stop_before_pixels else None)
    dataset = FileDataset(label, body, preamble, meta, is_implicit_VR=False, is_little_endian=True)
    dataset.set_original_encoding(False, True, body.get("SpecificCharacterSet", "ISO_IR 6"))
    return dataset


def inflate(deflated: memoryview, label: str, max_pixels: int, header_only: bool = False) -> bytes:
    """A raw deflate stream inflated no further than its header's declared frame plus headroom (see the module)."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    head = inflater.decompress(deflated, HEADER_BYTES)
    if header_only or inflater.eof:
        return head
    limit = _frame_bytes(head, label, max_pixels) + ELEMENT_HEADROOM
    rest = inflater.decompress(inflater.unconsumed_tail, limit - len(head) + 1)
    if len(head) + len(rest) > limit:
        raise XrayInputError(
            f"{label}: {_DEFLATED} that inflates to more than its declared image needs ({limit / 2**20:.0f} MB: a "
            "deflate bomb?); refused; expected a DICOM whose data matches its Rows x Columns"
        )
    return head + rest


def _frame_bytes(head: bytes, label: str, max_pixels: int) -> int:
    """Bytes of one frame as declared in the inflated ``head`` (size checked against ``max_pixels``)."""
    with warnings.catch_warnings():  # the head is cut mid-element on purpose; pydicom warns and keeps what it read
        warnings.simplefilter("ignore")
        try:
            header = read_dataset(io.BytesIO(head), False, True, stop_when=_at_pixels)
            rows, columns = int(header.get("Rows") or 0), int(header.get("Columns") or 0)
            sample_bytes = (int(header.get("BitsAllocated") or 16) + 7) // 8 * int(header.get("SamplesPerPixel") or 1)
        except DICOM_ERRORS:
            rows = columns = sample_bytes = 0
    if not (rows and columns):
        raise XrayInputError(
            f"{label}: {_DEFLATED} that does not declare Rows and Columns within its first "
            f"{HEADER_BYTES // 2**20} MB; refused; expected an uncompressed, JPEG or RLE DICOM (re-export it)"
        )
    check_size(label, columns, rows, max_pixels)
    return rows * columns * min(sample_bytes, 8)


def _at_pixels(tag: int, vr: str | None, length: int) -> bool:
    return tag in _PIXEL_TAGS


__all__ = ["DICOM_ERRORS", "ELEMENT_HEADROOM", "HEADER_BYTES", "inflate", "open_dataset"]
