"""Scan every image of a dataset table, in parallel, with an on-disk cache: one row per image.

One row per image (see :data:`SCAN_COLUMNS`), built by :func:`xray_core.data.image_stats.scan_file`. Scanning
runs in a process pool over all cores, and results are cached on disk per dataset root, keyed by path, file size
and ``mtime_ns``: re-opening a dataset only ``stat()``s its files, and a changed file is rescanned.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xray_core.config import cache_dir
from xray_core.data.image_stats import scan_file
from xray_core.files import atomic_path

Progress = Callable[[int, int], None]

SCAN_COLUMNS = (
    "path",
    "width",
    "height",
    "aspect",
    "format",
    "bit_depth",
    "mode",
    "is_color",
    "mean",
    "std",
    "p1",
    "p50",
    "p99",
    "hist",
    "error",
)
EXTRA_COLUMNS = ("phash", "colorfulness", "inversion_score", "has_pixels")
# Bump when a column or a statistic's definition changes: the version is part of the cache file's name, so old
# caches are then ignored. 3: the ``dhash`` column was dropped.
CACHE_VERSION = 3

_KEY_COLUMNS = ("size_bytes", "mtime_ns")
# Header reads cost ~0.1 ms of CPU per file: below this many files, starting a pool and shipping rows back
# costs more wall time than the second core saves (measured: 600 headers, 2.1 s pooled vs 0.3 s CPU in-process).
_HEADER_POOL_MIN = 20_000


def _scan_chunk(paths: Sequence[str], pixels: bool) -> list[dict[str, Any]]:
    return [scan_file(path, pixels) for path in paths]


def _run(paths: Sequence[str], pixels: bool, workers: int, report: Callable[[int], None]) -> list[dict[str, Any]]:
    """Scan ``paths`` in chunks over a process pool (in-process when small or ``workers == 1``)."""
    if workers <= 1 or len(paths) < (64 if pixels else _HEADER_POOL_MIN):
        rows, step = [], 32 if pixels else 512
        for start in range(0, len(paths), step):
            rows.extend(_scan_chunk(paths[start : start + step], pixels))
            report(len(rows))
        return rows
    size = int(np.clip(len(paths) // (workers * 8), 8, 256))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    results: dict[int, list[dict[str, Any]]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_scan_chunk, chunk, pixels): index for index, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            report(sum(len(rows) for rows in results.values()))
    return [row for index in range(len(chunks)) for row in results[index]]


def _file_keys(paths: Sequence[str]) -> pd.DataFrame:
    """Size and mtime_ns of each path (-1 for a missing file): the cache key next to the path."""
    keys = []
    for path in paths:
        try:
            stat = os.stat(path)
            keys.append((stat.st_size, stat.st_mtime_ns))
        except OSError:
            keys.append((-1, -1))
    sizes, mtimes = zip(*keys) if keys else ((), ())
    return pd.DataFrame(
        {"path": list(paths), "size_bytes": np.array(sizes, np.int64), "mtime_ns": np.array(mtimes, np.int64)}
    )


def _cache_file(paths: Sequence[str]) -> Path:
    """One cache file per dataset root (the deepest folder holding every path)."""
    root = os.path.commonpath([os.path.abspath(folder) for folder in {os.path.dirname(p) for p in paths}])
    digest = hashlib.sha256(root.encode()).hexdigest()[:16]
    return cache_dir() / "stats" / f"scan-v{CACHE_VERSION}-{digest}.parquet"


def _isin(paths: pd.Series, others: pd.Series) -> np.ndarray:
    """``paths.isin(others)`` through Python lists and a set: 20x faster than Arrow-string isin on 16k paths."""
    known = set(others.tolist())
    return np.fromiter((path in known for path in paths.tolist()), bool, len(paths))


def _read_cache(file: Path) -> pd.DataFrame | None:
    try:
        return pd.read_parquet(file)
    except Exception:
        return None


def _write_cache(file: Path, old: pd.DataFrame | None, new: pd.DataFrame) -> None:
    """Merge new rows over the old ones (other tables under the same root keep theirs); atomic replace."""
    keep = new[new["error"] == ""]
    if old is not None:
        keep = pd.concat([old[~_isin(old["path"], new["path"])], keep], ignore_index=True)
    with atomic_path(file) as tmp:
        keep.to_parquet(tmp, index=False)


def _reusable(keys: pd.DataFrame, cached: pd.DataFrame | None, pixels: bool) -> pd.DataFrame:
    """Cached rows whose path, size and mtime_ns still match (and that hold pixel statistics if needed)."""
    if cached is None or cached.empty:
        return cached.iloc[:0] if cached is not None else pd.DataFrame(columns=["path", *_KEY_COLUMNS])
    hits = keys[keys["size_bytes"] >= 0].merge(cached, on=["path", *_KEY_COLUMNS], how="inner")
    return hits[hits["has_pixels"].astype(bool)] if pixels else hits


def _finish(rows: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Column order, dtypes and input order; ``hist`` becomes a list (or None) per row."""
    rows = rows.reindex(columns=[*SCAN_COLUMNS, *EXTRA_COLUMNS, *_KEY_COLUMNS]).drop_duplicates("path")
    rows = rows.set_index("path").reindex(list(order)).reset_index()
    for column in ("width", "height", "bit_depth", *_KEY_COLUMNS):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype("Int64")
    rows["aspect"] = (rows["width"] / rows["height"]).astype(float)
    for column in ("format", "mode", "phash", "error"):
        rows[column] = rows[column].fillna("").astype(str)
    for column in ("is_color", "has_pixels"):
        rows[column] = rows[column].eq(True)  # NaN (not scanned) -> False
    rows["hist"] = _hist_lists(rows["hist"].tolist())
    return rows


def _hist_lists(values: list[Any]) -> list[list[float] | None]:
    """Histograms as lists (None where missing), converted in one ``tolist()``: 16k separate calls take ~0.5 s."""
    present = [index for index, h in enumerate(values) if h is not None and np.ndim(h) == 1]
    result: list[list[float] | None] = [None] * len(values)
    if present:
        for index, hist in zip(present, np.stack([values[i] for i in present]).astype(float).tolist()):
            result[index] = hist
    return result


def _paths_of(table: pd.DataFrame | Iterable[str | os.PathLike]) -> list[str]:
    paths = table["path"].tolist() if isinstance(table, pd.DataFrame) else table
    return list(dict.fromkeys(map(str, paths)))


def scan_images(
    table: pd.DataFrame | Iterable[str | os.PathLike],
    *,
    pixels: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Scan every image of a dataset table (or a list of paths): one row per distinct path, in input order.

    Dashboard-facing. Columns: :data:`SCAN_COLUMNS` then :data:`EXTRA_COLUMNS`, ``size_bytes``, ``mtime_ns``.
    ``pixels=False`` reads headers only (pixel columns stay empty unless a cached earlier scan has them;
    ``is_color`` then means "stored with colour channels"). ``workers``: processes (default: all cores).
    ``progress(done, total)`` is called as images complete (cached ones count as done at once).
    ``cache``: reuse and update the on-disk cache under ``cache_dir()/stats``.
    """
    paths = _paths_of(table)
    if not paths:
        return _finish(pd.DataFrame(columns=["path"]), [])
    keys = _file_keys(paths)
    file = _cache_file(paths) if cache else None
    cached = _read_cache(file) if file is not None else None
    reused = _reusable(keys, cached, pixels)
    missing = keys.loc[keys["size_bytes"] < 0, "path"].tolist()
    todo = keys.loc[(keys["size_bytes"] >= 0).to_numpy() & ~_isin(keys["path"], reused["path"])]
    total, done = len(paths), len(reused) + len(missing)
    report = (lambda n: progress(done + n, total)) if progress else (lambda n: None)
    report(0)
    fresh = pd.DataFrame(
        _run(todo["path"].tolist(), pixels, workers or os.cpu_count() or 1, report),
        columns=["path", "error"] if todo.empty else None,
    )
    if not fresh.empty:
        fresh = fresh.merge(todo, on="path", how="left")
    gone = pd.DataFrame({"path": missing, "error": "FileNotFoundError: no such file", "has_pixels": False})
    if file is not None and not fresh.empty:
        _write_cache(file, cached, fresh)
    return _finish(pd.concat([df for df in (reused, fresh, gone) if not df.empty], ignore_index=True), paths)


__all__ = ["EXTRA_COLUMNS", "SCAN_COLUMNS", "scan_images"]
