"""Uploaded files in, image files out: ZIP archives opened in memory within limits, everything else sorted.

A batch upload is a list of (name, bytes). ZIPs among them are expanded here, never written to disk, under three
limits that keep one upload from exhausting the server: a number of images, a total of uncompressed bytes and a
compression ratio per member (a ZIP bomb declares a tiny compressed size). Files of other types are not errors
but ``skipped`` messages, so one stray PDF never spoils a batch.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from xray_core.io.source import SUPPORTED_EXTENSIONS, is_supported_name

MAX_ZIP_FILES = 500  # images taken from one batch ZIP
MAX_ZIP_BYTES = 512 * 1024 * 1024  # uncompressed bytes taken from one batch ZIP
MAX_ZIP_RATIO = 200  # uncompressed / compressed size of one member; above it, a ZIP bomb is assumed


class ZipLimitError(ValueError):
    """A ZIP that is unreadable or exceeds the extraction limits; the message says which and what to do."""


@dataclass
class Expanded:
    """Uploaded items after ZIPs are opened: ``files`` (name, bytes) to analyse and ``skipped`` messages."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _wanted_member(name: str) -> bool:
    """False for folders and for hidden or macOS resource-fork members (``.DS_Store``, ``__MACOSX/``)."""
    parts = PurePosixPath(name).parts
    return not (name.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in parts))


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> bytes:
    """A member's bytes, read no further than its declared size plus one (a lying header is refused)."""
    with archive.open(info) as member:
        content = member.read(info.file_size + 1)
    if len(content) > info.file_size:
        raise ZipLimitError(f"{label}/{info.filename}: larger than its header says; refused")
    return content


def extract_zip(
    data: bytes,
    *,
    label: str = "upload.zip",
    max_files: int = MAX_ZIP_FILES,
    max_bytes: int = MAX_ZIP_BYTES,
    max_ratio: int = MAX_ZIP_RATIO,
) -> Expanded:
    """Image members of a ZIP (read into memory, never written to disk), within the limits; others are skipped.

    Raises :class:`ZipLimitError` for an unreadable archive or a broken limit: the whole archive is refused.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ZipLimitError(
            f"{label}: not a readable ZIP archive ({error}); upload a .zip of PNG, JPEG, TIFF or DICOM files"
        ) from error
    result, total = Expanded(), 0
    with archive:
        for info in archive.infolist():
            if not _wanted_member(info.filename):
                continue
            if not is_supported_name(info.filename):
                result.skipped.append(f"{label}/{info.filename}: not an image type ({', '.join(SUPPORTED_EXTENSIONS)})")
                continue
            if len(result.files) >= max_files:
                raise ZipLimitError(f"{label}: more than {max_files} images; split the archive into smaller ZIPs")
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise ZipLimitError(
                    f"{label}/{info.filename}: compression ratio above {max_ratio}:1 (a ZIP bomb?); refused"
                )
            total += info.file_size
            if total > max_bytes:
                raise ZipLimitError(
                    f"{label}: more than {max_bytes // 2**20} MB uncompressed; split the archive into smaller ZIPs"
                )
            result.files.append((f"{label}/{info.filename}", _read_member(archive, info, label)))
    return result


def expand_uploads(
    items: Iterable[tuple[str, bytes]],
    *,
    max_files: int = MAX_ZIP_FILES,
    max_bytes: int = MAX_ZIP_BYTES,
    max_ratio: int = MAX_ZIP_RATIO,
) -> Expanded:
    """Open ZIPs among uploaded (name, bytes) items; names made unique; unsupported types listed as skipped.

    The ZIP limits apply to each archive; a refused archive becomes one ``skipped`` message.
    """
    result = Expanded()
    for name, data in items:
        if name.lower().endswith(".zip"):
            try:
                inner = extract_zip(data, label=name, max_files=max_files, max_bytes=max_bytes, max_ratio=max_ratio)
            except ZipLimitError as error:
                result.skipped.append(str(error))
                continue
            result.files.extend(inner.files)
            result.skipped.extend(inner.skipped)
        elif is_supported_name(name):
            result.files.append((name, data))
        else:
            result.skipped.append(f"{name}: unsupported file type; expected PNG, JPEG, TIFF, DICOM or ZIP")
    seen: dict[str, int] = {}
    for index, (name, data) in enumerate(result.files):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # two uploads called x.png: the table needs one row each, told apart
            result.files[index] = (f"{name} ({seen[name]})", data)
    return result


__all__ = [
    "MAX_ZIP_BYTES",
    "MAX_ZIP_FILES",
    "MAX_ZIP_RATIO",
    "Expanded",
    "ZipLimitError",
    "expand_uploads",
    "extract_zip",
]
