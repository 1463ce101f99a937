"""Folder-scale scoring: a tree of films in, one Parquet table out, resumable and shardable (issue 14).

Files are listed once (sorted relative paths), sharded by rank (``RANK``/``WORLD_SIZE`` from ``torchrun``) and
decoded ahead in worker processes (:mod:`xray_core.io.prefetch`: no torch import, which a DataLoader cost the
ONNX engine; issue 14); every decoded film goes through the one read-and-predict loop
(:func:`~xray_core.inference.batch.predict_sources`). Rows are written in chunks of ``chunk`` to part files
beside the output (``<out>.parts/``), each written atomically, so a kill loses at most the chunk in flight and a
rerun skips every file already in a part or in the output. At the end rank 0 merges the parts into ``out`` (one
row per file, sorted) and removes them. A film that cannot be read is a row with its ``error``; a refused film is
a row with ``refused`` true and its decisions: nothing aborts the run. Memory stays bounded: a batch in flight,
the decoding workers' bounded prefetch and one chunk of rows.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xray_core.files import atomic_path
from xray_core.inference.batch import Scored, predict_sources
from xray_core.io import XrayImage, XrayInputError
from xray_core.io.prefetch import read_ahead
from xray_core.io.source import is_supported_name

CHUNK = 256  # rows per part file: the most a kill can lose


def list_films(root: str | Path, recursive: bool = False) -> list[str]:
    """Relative POSIX paths of the supported files under ``root`` (all depths with ``recursive``), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder; pass a folder of PNG, JPEG, TIFF or DICOM files")
    found = root.rglob("*") if recursive else root.iterdir()
    return sorted(p.relative_to(root).as_posix() for p in found if p.is_file() and is_supported_name(p.name))


def shard(files: Sequence[str], rank: int, world_size: int) -> list[str]:
    """This rank's share: every ``world_size``-th file from ``rank`` (deterministic, so reruns agree)."""
    return list(files[rank::world_size])


def parts_dir(out: str | Path) -> Path:
    return Path(f"{out}.parts")


def scored_files(out: str | Path) -> set[str]:
    """Files already in ``out`` or in its part files (read only the ``file`` column)."""
    tables = [Path(out)] if Path(out).is_file() else []
    tables += sorted(parts_dir(out).glob("*.parquet")) if parts_dir(out).is_dir() else []
    return {name for table in tables for name in pd.read_parquet(table, columns=["file"])["file"]}


def to_row(scored: Scored) -> dict[str, Any]:
    """One flat table row: ``file``, ``label``, ``p_<class>`` per class, scalar fields, lists/dicts as JSON."""
    if scored.prediction is None:
        return {"file": scored.name, "error": scored.error}
    row: dict[str, Any] = {"file": scored.name, "error": ""}
    for key, value in scored.prediction.to_dict().items():
        if key == "name":
            continue
        if key == "probabilities":
            row.update({f"p_{name}": float(p) for name, p in value.items()})
        elif isinstance(value, dict | list | tuple):
            row[key] = json.dumps(value)
        else:
            row[key] = value
    return row


def score_folder(
    model: Any,
    root: str | Path,
    out: str | Path,
    recursive: bool = False,
    batch_size: int = 32,
    workers: int = 2,
    chunk: int = CHUNK,
    rank: int = 0,
    world_size: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Score this rank's not-yet-scored films under ``root`` into part files of ``out``; returns counts
    (``total`` films in the tree, ``skipped`` already scored, ``scored``, ``refused``, ``errors`` this run).

    ``model``: a ``LoadedModel`` (torch) or an ``OnnxModel``. ``progress(done, todo)`` after each batch.
    Call :func:`merge` afterwards (rank 0, once every rank is done) to write ``out`` itself.
    """
    files = list_films(root, recursive)
    mine = shard(files, rank, world_size)
    done = scored_files(out)
    todo = [name for name in mine if name not in done]
    counts = {"total": len(files), "skipped": len(mine) - len(todo), "scored": 0, "refused": 0, "errors": 0}
    rows: list[dict[str, Any]] = []
    stamp = f"rank{rank:03d}-{time.time_ns()}"
    report = None if progress is None else (lambda done: progress(done, len(todo)))
    for scored in predict_sources(model, decoded(root, todo, workers), batch_size, report):
        rows.append(to_row(scored))
        counts["scored"] += scored.prediction is not None
        counts["refused"] += scored.prediction is not None and scored.prediction.refused
        counts["errors"] += scored.prediction is None
        if len(rows) >= chunk:
            _write_part(out, f"{stamp}-{counts['scored'] + counts['errors']:09d}", rows)
            rows = []
    if rows:
        _write_part(out, f"{stamp}-{counts['scored'] + counts['errors']:09d}", rows)
    return counts


def decoded(root: str | Path, files: Sequence[str], workers: int) -> Iterator[tuple[str, XrayImage | XrayInputError]]:
    """``(relative path, image or the error reading it)`` in order; ``workers`` > 0 decodes in that many worker
    processes (:func:`~xray_core.io.prefetch.read_ahead`, bounded prefetch, no torch import), 0 decodes here."""
    return read_ahead(root, list(files), workers)


def _write_part(out: str | Path, stem: str, rows: list[dict[str, Any]]) -> None:
    folder = parts_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{stem}.parquet") as tmp:  # a part is either whole or absent
        pd.DataFrame(rows).to_parquet(tmp, index=False)


def merge(out: str | Path) -> int:
    """Fold the part files into ``out`` (one row per file, the latest kept, sorted by file), atomically, then
    remove the parts; returns the number of rows in ``out``."""
    out = Path(out)
    tables = ([pd.read_parquet(out)] if out.is_file() else []) + [
        pd.read_parquet(part) for part in sorted(parts_dir(out).glob("*.parquet"))
    ]
    if not tables:
        return 0
    table = pd.concat(tables, ignore_index=True).drop_duplicates("file", keep="last").sort_values("file")
    with atomic_path(out) as tmp:
        table.reset_index(drop=True).to_parquet(tmp, index=False)
    for part in parts_dir(out).glob("*.parquet"):
        part.unlink()
    if parts_dir(out).is_dir() and not any(parts_dir(out).iterdir()):
        parts_dir(out).rmdir()
    return len(table)


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) from the ``RANK``/``WORLD_SIZE`` variables ``torchrun`` sets; (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def wait_for_all_ranks() -> None:
    """A gloo barrier across the ``torchrun`` group (MASTER_ADDR/PORT from its environment), then leave it."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    dist.barrier()
    dist.destroy_process_group()


__all__ = [
    "CHUNK",
    "decoded",
    "distributed_rank",
    "list_films",
    "merge",
    "parts_dir",
    "score_folder",
    "scored_files",
    "shard",
    "to_row",
    "wait_for_all_ranks",
]
