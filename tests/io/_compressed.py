"""Compressed DICOM bytes for tests, made from the uncompressed ones of ``_factories.dicom_bytes``.

RLE Lossless and JPEG 2000 use pydicom's own ``Dataset.compress`` (pydicom's RLE encoder, pylibjpeg-openjpeg's
J2K encoder). No installed package encodes JPEG Lossless (process 14, the commonest hospital export), so
:func:`jpeg_lossless` writes that codestream here: one component, predictor 1 (left), one Huffman table.
JPEG-LS would need ``pyjpegls``, which is not a dependency: it is tested on pydicom's bundled files only.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLosslessSV1

_HUFFMAN_BITS = 5  # 17 difference categories (0..16), all coded on 5 bits: simple, valid, never all ones


def compress(dicom: bytes, syntax: str, plugin: str = "", **kwargs) -> bytes:
    """``dicom`` (uncompressed) re-encoded to ``syntax`` by pydicom's encoders."""
    ds = pydicom.dcmread(io.BytesIO(dicom))
    if syntax == JPEGLosslessSV1:
        ds.PixelData = encapsulate([jpeg_lossless(ds.pixel_array, int(ds.BitsStored))])
        ds.file_meta.TransferSyntaxUID = syntax
    else:
        ds.compress(syntax, encoding_plugin=plugin, **kwargs)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def jpeg_lossless(image: np.ndarray, precision: int) -> bytes:
    """A JPEG Lossless (ISO 10918-1 process 14, selection value 1) codestream of a 2-D unsigned array."""
    rows, columns = image.shape
    categories = bytes(range(17))
    tables = bytes(_HUFFMAN_BITS - 1) + bytes([len(categories)]) + bytes(16 - _HUFFMAN_BITS) + categories
    header = (
        b"\xff\xd8"
        + _segment(
            0xC3, bytes([precision]) + rows.to_bytes(2, "big") + columns.to_bytes(2, "big") + b"\x01\x01\x11\x00"
        )
        + _segment(0xC4, b"\x00" + tables)
        + _segment(0xDA, b"\x01\x01\x00\x01\x00\x00")
    )
    return header + _entropy_coded(_differences(image.astype(np.int64), precision)) + b"\xff\xd9"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _differences(image: np.ndarray, precision: int) -> np.ndarray:
    """Sample minus prediction: left neighbour; above for a row's first sample; 2**(P-1) for the very first."""
    prediction = np.empty_like(image)
    prediction[:, 1:] = image[:, :-1]
    prediction[1:, 0] = image[:-1, 0]
    prediction[0, 0] = 1 << (precision - 1)
    return ((image - prediction + 32768) % 65536 - 32768).ravel()  # modulo 2**16, as the standard's decoder does


def _entropy_coded(differences: np.ndarray) -> bytes:
    bits: list[str] = []
    for difference in differences.tolist():
        category = int(abs(difference)).bit_length()
        bits.append(format(category, f"0{_HUFFMAN_BITS}b"))
        if 0 < category < 16:  # category 16 (difference 32768) carries no extra bits
            extra = difference if difference > 0 else difference + (1 << category) - 1
            bits.append(format(extra, f"0{category}b"))
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)  # pad the last byte with ones
    data = int(stream, 2).to_bytes(len(stream) // 8, "big") if stream else b""
    return data.replace(b"\xff", b"\xff\x00")  # byte stuffing
