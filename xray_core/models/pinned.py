"""Pinned hashes of the shipped weights: ``weights/SHA256SUMS``, one ``<sha256>  <file name>`` line per file.

A signed file's own SHA-256 sits inside the file it protects, so it catches corruption but not a replaced file.
The list beside the shipped weights is the record the repository owns: it is committed with them, reviewed in
every diff that changes them, and checked whenever a file is loaded from ``weights/`` (files loaded from other
folders are checked by their embedded hash only). After a release replaces a file, regenerate it with
``python -m xray_core sign-weights`` (``make sign-weights``); the format is ``sha256sum``'s, so
``cd weights && sha256sum -c SHA256SUMS`` checks it too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from xray_core.config import DEFAULT_CHECKPOINT
from xray_core.files import atomic_path

WEIGHTS_DIR = DEFAULT_CHECKPOINT.parent  # the shipped weights
SUMS_NAME = "SHA256SUMS"
SHIPPED_SUFFIXES = (".pt",)  # every weight file in the folder is pinned
SIGN_COMMAND = "python -m xray_core sign-weights"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def shipped_files(folder: str | Path = WEIGHTS_DIR) -> list[Path]:
    """The weight files ``folder`` ships, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix in SHIPPED_SUFFIXES)


def read_sums(folder: str | Path = WEIGHTS_DIR) -> dict[str, str]:
    """``{file name: hex SHA-256}`` from ``folder/SHA256SUMS`` (empty when it is missing)."""
    sums = Path(folder) / SUMS_NAME
    if not sums.is_file():
        return {}
    pinned = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            pinned[name.lstrip("*")] = digest.lower()  # '*' marks binary mode in sha256sum's format
    return pinned


def write_sums(folder: str | Path = WEIGHTS_DIR) -> dict[str, str]:
    """Pin every shipped file of ``folder`` in ``folder/SHA256SUMS`` (atomically); returns what was written.
    Callers verify each file's embedded hash first: a list pins what it is given."""
    pinned = {path.name: file_sha256(path) for path in shipped_files(folder)}
    _write_sums(Path(folder), pinned)
    return pinned


def pin(path: str | Path, sha256: str) -> None:
    """Set ``path``'s line in its folder's SHA256SUMS: the signed-file writer calls it when it has just written a
    shipped file (``update_meta`` on ``weights/xray_resnet.pt``), so the code's own writes stay loadable."""
    path = Path(path)
    _write_sums(path.parent, {**read_sums(path.parent), path.name: sha256})


def _write_sums(folder: Path, pinned: dict[str, str]) -> None:
    with atomic_path(folder / SUMS_NAME) as tmp:
        tmp.write_text("".join(f"{pinned[name]}  {name}\n" for name in sorted(pinned)))


def is_shipped(path: str | Path) -> bool:
    """True when ``path`` lies in the shipped weights folder (symbolic links resolved)."""
    return Path(path).resolve().parent == Path(WEIGHTS_DIR).resolve()


def check_pinned(path: str | Path, error: type[ValueError], sha256: str | None = None) -> None:
    """Raise ``error`` saying what to do when ``path`` is in ``weights/`` and does not match its pinned line;
    nothing for files elsewhere. ``sha256``: the file's hash when the caller has it already."""
    path = Path(path)
    if not is_shipped(path):
        return
    expected = read_sums(path.parent).get(path.name)
    if expected is None:
        raise error(
            f"{path.name} is in {path.parent} but not pinned in its {SUMS_NAME}: if it ships, run "
            f"'{SIGN_COMMAND}' and commit {SUMS_NAME} with it; otherwise load it from another folder"
        )
    actual = sha256 or file_sha256(path)
    if actual != expected:
        raise error(
            f"{path.name} does not match its pinned SHA-256 in {path.parent / SUMS_NAME} (pinned {expected[:12]}…, "
            f"file {actual[:12]}…). A new release: run '{SIGN_COMMAND}' and commit {SUMS_NAME} with the file. "
            f"Otherwise the file was replaced or damaged: restore it (git checkout {path.parent.name}/{path.name})"
        )


__all__ = [
    "SIGN_COMMAND",
    "SUMS_NAME",
    "WEIGHTS_DIR",
    "check_pinned",
    "file_sha256",
    "is_shipped",
    "pin",
    "read_sums",
    "shipped_files",
    "write_sums",
]
