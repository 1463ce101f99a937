"""Atomic file writes that several processes may race on (two training ranks building one cache, two sessions
exporting one model): each writer gets its own temporary name beside the target and moves it into place with
``os.replace``, so a reader sees the old file or a whole new one and no writer deletes another's temporary file."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_sibling(path: str | Path) -> Path:
    """A name beside ``path`` no other process or thread will pick; it keeps ``path``'s suffix because some
    writers (``np.save``, ``np.savez``) append theirs when it is missing."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(6)}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a private temporary path; when the block ends without error it replaces ``path`` atomically,
    otherwise it is removed. The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
