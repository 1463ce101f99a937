"""Uploaded files in, image files out: ZIP archives opened in memory within limits, everything else sorted.

A batch upload is a list of (name, bytes). ZIPs among them are expanded here, never written to disk, under limits
that keep one upload from exhausting the server: a number of members (checked from the archive's end record
before its directory is parsed: 300,000 members took 5.8 s and 168 MB just to open), a number of images, a total
of uncompressed bytes and a compression ratio per member (a ZIP bomb declares a tiny compressed size). Files of
other types and members that cannot be extracted (encrypted, bad CRC, corrupt data, an unknown compression
method) are not errors but ``skipped`` messages naming them, at most :data:`MAX_ZIP_MESSAGES` per archive and one
line for the rest, so one stray PDF or broken member never spoils a batch.
"""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from xray_core.io.source import SUPPORTED_EXTENSIONS, is_supported_name

MAX_ZIP_FILES = 500  # images taken from one batch ZIP
MAX_ZIP_BYTES = 512 * 1024 * 1024  # uncompressed bytes taken from one batch ZIP
MAX_ZIP_RATIO = 200  # uncompressed / compressed size of one member; above it, a ZIP bomb is assumed
MAX_ZIP_MEMBERS = 5_000  # members (files, folders, macOS extras) one ZIP may declare: its directory is parsed whole
MAX_ZIP_MESSAGES = 20  # skipped-member messages per ZIP; the rest are counted in one line
_DIRECTORY_ENTRY_BYTES = 512  # a member's central-directory entry: 46 bytes plus name, extra field and comment
#: What extracting one member may raise: bad CRC (BadZipFile), encryption (RuntimeError), an unknown compression
#: method (NotImplementedError), corrupt deflate, bzip2 or LZMA data.
_MEMBER_ERRORS = (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, lzma.LZMAError, EOFError, OSError)


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
    """A member's bytes, read no further than its declared size plus one (a lying header is refused); raises
    :class:`ZipLimitError` naming the member when it cannot be extracted."""
    if info.flag_bits & 0x1:
        raise ZipLimitError(f"{label}/{info.filename}: encrypted (password-protected); add it to the ZIP unencrypted")
    try:
        with archive.open(info) as member:
            content = member.read(info.file_size + 1)
    except _MEMBER_ERRORS as error:
        raise ZipLimitError(
            f"{label}/{info.filename}: cannot be extracted ({type(error).__name__}: {error}); it is corrupt or "
            "compressed with an unsupported method; re-create the ZIP with standard (deflate) compression"
        ) from error
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

    Raises :class:`ZipLimitError` for an unreadable archive or a broken limit: the whole archive is refused. A
    member that cannot be extracted is one ``skipped`` message; the others are still read.
    """
    result, total, unreadable, others = Expanded(), 0, [], []
    with _open_archive(data, label) as archive:
        for info in archive.infolist():
            if not _wanted_member(info.filename):
                continue
            if not is_supported_name(info.filename):
                others.append(f"{label}/{info.filename}: not an image type ({', '.join(SUPPORTED_EXTENSIONS)})")
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
            try:
                result.files.append((f"{label}/{info.filename}", _read_member(archive, info, label)))
            except ZipLimitError as error:
                unreadable.append(str(error))
    result.skipped = _summarised(unreadable + others, label)  # unreadable images first: they matter more
    return result


def _open_archive(data: bytes, label: str) -> zipfile.ZipFile:
    """The archive, after its end record has shown a directory within :data:`MAX_ZIP_MEMBERS`."""
    members, directory_bytes = _declared_directory(data)
    if members > MAX_ZIP_MEMBERS or directory_bytes > MAX_ZIP_MEMBERS * _DIRECTORY_ENTRY_BYTES:
        raise ZipLimitError(
            f"{label}: {members:,} members, above the {MAX_ZIP_MEMBERS:,}-member limit per ZIP; refused without "
            "opening it; upload a ZIP of the images only, or split it into smaller ZIPs"
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as error:
        raise ZipLimitError(
            f"{label}: not a readable ZIP archive ({error}); upload a .zip of PNG, JPEG, TIFF or DICOM files"
        ) from error


def _declared_directory(data: bytes) -> tuple[int, int]:
    """(members, central-directory bytes) from the end-of-central-directory record, ZIP64 included; (0, 0) when
    there is none (``zipfile`` then says why the archive is unreadable)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or end + 22 > len(data):
        return 0, 0
    members, directory_bytes = struct.unpack_from("<HI", data, end + 10)
    locator = end - 20
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        record = struct.unpack_from("<Q", data, locator + 8)[0]
        if record + 56 <= len(data) and data[record : record + 4] == b"PK\x06\x06":
            members, directory_bytes = struct.unpack_from("<QQ", data, record + 32)
    return members, directory_bytes


def _summarised(messages: list[str], label: str) -> list[str]:
    """The first :data:`MAX_ZIP_MESSAGES` messages and one line counting the rest."""
    if len(messages) <= MAX_ZIP_MESSAGES:
        return messages
    rest = len(messages) - MAX_ZIP_MESSAGES
    return messages[:MAX_ZIP_MESSAGES] + [f"{label}: {rest:,} more members skipped (not images, or unreadable)"]


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
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_MESSAGES",
    "MAX_ZIP_RATIO",
    "Expanded",
    "ZipLimitError",
    "expand_uploads",
    "extract_zip",
]
