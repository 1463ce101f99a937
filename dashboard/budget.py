"""Process-wide caches with a byte budget, and the per-session upload budget (numbers: ``config.SERVER_BUDGET``).

``st.cache_resource(max_entries=N)`` bounds entries, not bytes: 24 decoded 7,000 x 7,000 films are 4.7 GB. A
:class:`ByteBudgetCache` evicts the least recently used entries until the arrays it holds fit its budget, and
computes each key once at a time (two sessions opening one film share one decode). Shared caches hold content
only, keyed by content: nothing user-specific (a file name, a user) ever goes in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

import numpy as np

from xray_core import config

T = TypeVar("T")


def array_bytes(value: Any, depth: int = 3) -> int:
    """Bytes of the numpy arrays in ``value`` (arrays, dataclasses, tuples, lists, dict values; ``depth`` levels)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if depth <= 0:
        return 0
    if is_dataclass(value) and not isinstance(value, type):
        return sum(array_bytes(getattr(value, f.name), depth - 1) for f in fields(value))
    if isinstance(value, dict):
        return sum(array_bytes(v, depth - 1) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(array_bytes(v, depth - 1) for v in value)
    return 0


class ByteBudgetCache:
    """A thread-safe least-recently-used map whose values' arrays total at most ``budget()`` bytes.

    ``budget`` is read at each insertion, so the configured number is the one place it lives. A value larger
    than the whole budget is returned but not kept.
    """

    def __init__(self, budget: Callable[[], int]) -> None:
        self._budget = budget
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}

    def get(self, key: Any, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, else ``compute()`` (once for concurrent callers of one key), kept if it fits."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
            value = compute()
            self._put(key, value)
        with self._lock:
            self._key_locks.pop(key, None)
        return value

    def _put(self, key: Any, value: Any) -> None:
        size, budget = array_bytes(value), self._budget()
        with self._lock:
            if size > budget:
                return
            self._entries[key] = (value, size)
            while self.nbytes > budget:
                self._entries.popitem(last=False)

    @property
    def nbytes(self) -> int:
        return sum(size for _, size in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> list[Any]:
        with self._lock:
            return [value for value, _ in self._entries.values()]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def upload_problem(sizes: Iterable[int]) -> str:
    """'' when files of these byte ``sizes`` fit this session's upload budget, else what to do about it."""
    total, budget = sum(sizes), config.SERVER_BUDGET.session_upload_bytes
    if total <= budget:
        return ""
    return (
        f"These uploads total {total / config.MIB:,.0f} MB, above this server's {budget / config.MIB:,.0f} MB per "
        "session. Remove some files (or split the batch into smaller ones) and try again."
    )


def session_upload_sizes(session_state: Any, keys: Iterable[str]) -> list[int]:
    """Byte sizes of every file held by the uploaders ``keys`` of one session (one file or a list per key)."""
    sizes = []
    for key in keys:
        held = session_state.get(key)
        for file in held if isinstance(held, list) else [held] if held is not None else []:
            sizes.append(int(getattr(file, "size", 0)))
    return sizes


UPLOADERS = ("dx_upload", "batch_files", "cmp_prior", "cmp_current")  # every uploader of the app, by widget key
