"""Getting bytes in: paths, bytes and file objects (e.g. a Streamlit upload), sniffing the format from the content,
and turning any decoder failure into one :class:`~xray_core.io.image.XrayInputError` that names the input.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from xray_core.io.image import XrayInputError

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".dicom")
EXPECTED = "expected PNG, JPEG, TIFF or DICOM"
_DICOM_EXTENSIONS = (".dcm", ".dicom")
_RASTER_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: Everything a decoder (Pillow, pydicom and its pixel-data plugins) is known to raise on bad data. pydicom's own
#: exception classes are added by :mod:`~xray_core.io.dicom` (``DICOM_ERRORS``): importing pydicom costs about a
#: second, and a PNG or JPEG never needs it.
DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    AttributeError,
    TypeError,
    MemoryError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    Warning,  # decoder warnings, when a caller turns warnings into errors
)


def is_supported_name(name: str) -> bool:
    """Whether a file name has one of :data:`SUPPORTED_EXTENSIONS` (case-insensitive)."""
    return Path(str(name)).suffix.lower() in SUPPORTED_EXTENSIONS


def source_label(source: Source, name: str | None) -> str:
    """The name used in messages and ``meta["name"]``: ``name``, else the file name, else a placeholder."""
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name or str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    stream_name = getattr(source, "name", None)
    return (os.path.basename(stream_name) if isinstance(stream_name, str) else "") or "<stream>"


def load_bytes(source: Source, name: str | None, max_bytes: int | None) -> tuple[bytes, str]:
    """All bytes of the source (refused beyond ``max_bytes``) and the label used in messages."""
    limit = -1 if max_bytes is None else max_bytes + 1
    label = source_label(source, name)
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as handle:
                data = handle.read(limit)
        except OSError as exc:
            raise XrayInputError(f"{label}: cannot open the file ({exc.strerror or exc}); {EXPECTED}") from exc
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        if not hasattr(source, "read"):
            raise XrayInputError(f"{label}: cannot read a {type(source).__name__}; expected a path, bytes or a file")
        with decoding(label, "the upload"):  # getvalue() ignores the position left by an earlier read()
            data = source.getvalue() if hasattr(source, "getvalue") else source.read(limit)
    if not isinstance(data, (bytes, bytearray)):
        raise XrayInputError(f"{label}: the file object returned text; expected a binary file (opened with 'rb')")
    if max_bytes is not None and len(data) > max_bytes:
        raise XrayInputError(f"{label}: the file is larger than any image within the pixel limit; {EXPECTED}")
    return bytes(data), label


def sniff(head: bytes, label: str) -> str:
    """'dicom', 'raster' or 'dicom-forced' (no preamble but a DICOM extension), from content first."""
    extension = Path(label).suffix.lower()
    if not head:
        raise XrayInputError(f"{label}: the file is empty (0 bytes); {EXPECTED}")
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(_RASTER_MAGIC):
        return "raster"
    if extension in _DICOM_EXTENSIONS:
        return "dicom-forced"
    if extension and extension not in SUPPORTED_EXTENSIONS:
        raise XrayInputError(
            f"{label}: unsupported file type '{extension}'; {EXPECTED} "
            f"({', '.join(SUPPORTED_EXTENSIONS)}); BMP, GIF, WebP and PDF are not accepted"
        )
    raise XrayInputError(f"{label}: the content is not a PNG, JPEG, TIFF or DICOM image; {EXPECTED}")


@contextmanager
def decoding(label: str, what: str, errors: tuple[type[BaseException], ...] = DECODER_ERRORS) -> Iterator[None]:
    """Turn any decoder failure (``errors``: the classes to catch) into one XrayInputError naming the input."""
    try:
        yield
    except XrayInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise XrayInputError(
            f"{label}: the image is too large to decode safely ({exc}); expected a smaller image"
        ) from exc
    except errors as exc:
        reason = "unrecognised image data" if isinstance(exc, Image.UnidentifiedImageError) else str(exc)
        raise XrayInputError(
            f"{label}: cannot read {what}, it is corrupt, truncated or of an unsupported kind "
            f"({type(exc).__name__}: {reason}); {EXPECTED}"
        ) from exc


__all__ = [
    "DECODER_ERRORS",
    "EXPECTED",
    "SUPPORTED_EXTENSIONS",
    "Source",
    "decoding",
    "is_supported_name",
    "load_bytes",
    "sniff",
    "source_label",
]
