"""Folder-scale scoring: a tree of films in, one Parquet table out, resumable and shardable.

Files are listed once (sorted relative paths), sharded by rank (``RANK``/``WORLD_SIZE`` from ``torchrun``) and
decoded ahead in worker processes (:mod:`xray_core.io.prefetch`: no torch import, which a DataLoader cost the
ONNX engine); every decoded film goes through the one read-and-predict loop
(:func:`~xray_core.inference.batch.predict_sources`). Rows are written in chunks of ``chunk`` to part files
beside the output (``<out>.parts/``), each written atomically, so a kill loses at most the chunk in flight and a
rerun skips every file already scored, by the same model (``model_sha256``), in the same state (``size`` and
``mtime_ns``), without an error: another checkpoint, a changed file or an error row is scored again. At the end
rank 0 merges the parts into ``out`` (one row per file, the latest, sorted) and removes the parts it read. A film
that cannot be read is a row with its ``error``; a refused film is a row with ``refused`` true and its decisions:
nothing aborts the run. Memory stays bounded: a batch in flight, the decoding workers' bounded prefetch and one
chunk of rows. :func:`output_lock` keeps two runs from writing one table at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from xray_core.files import atomic_path
from xray_core.inference.batch import Scored, predict_sources
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.prefetch import read_ahead
from xray_core.io.source import is_supported_name
from xray_core.models.scoring import ScoringModel

CHUNK = 256  # rows per part file: the most a kill can lose
#: Columns that say which model scored a row and which state of the file it saw; resume compares them.
IDENTITY = ("model_sha256", "model_version", "size", "mtime_ns")


class OutputError(ValueError):
    """The output table cannot be used: not a .parquet path, not a folder-scoring table, or being written."""


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


def scored_files(out: str | Path) -> dict[str, tuple[str, int, int]]:
    """Files already scored without an error in ``out`` or its parts: file -> (model_sha256, size, mtime_ns) of its
    latest row. Tables written before rows carried these columns count as not scored."""
    frames = []
    for table in _tables(out):
        if set(IDENTITY) <= set(pq.read_schema(table).names):
            frames.append(pd.read_parquet(table, columns=["file", "error", "model_sha256", "size", "mtime_ns"]))
    if not frames:
        return {}
    latest = pd.concat(frames, ignore_index=True).drop_duplicates("file", keep="last")
    latest = latest[latest["error"] == ""]
    keys = zip(latest["model_sha256"], latest["size"].astype(int), latest["mtime_ns"].astype(int), strict=True)
    return dict(zip(latest["file"], keys, strict=True))


def _tables(out: str | Path) -> list[Path]:
    """``out`` (when it exists) then its part files, oldest first: later rows supersede earlier ones."""
    tables = [Path(out)] if Path(out).is_file() else []
    return tables + (sorted(parts_dir(out).glob("*.parquet")) if parts_dir(out).is_dir() else [])


def file_state(root: str | Path, name: str) -> tuple[int, int]:
    """(size, mtime_ns) of ``root/name``; (-1, -1) when it is gone (its read reports why)."""
    try:
        stat = os.stat(Path(root) / name)
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


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
    model: ScoringModel,
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
    """Score this rank's films not yet scored by ``model`` in their present state under ``root`` into part files
    of ``out``; returns counts (``total`` films in the tree, ``skipped`` already scored, ``scored``, ``refused``,
    ``errors`` this run). Every row carries :data:`IDENTITY`.

    ``model``: the torch ``LoadedModel`` or an ``OnnxModel``. ``progress(done, todo)`` after each batch.
    Call :func:`merge` afterwards (rank 0, once every rank is done) to write ``out`` itself; hold
    :func:`output_lock` around both when another process may target the same ``out``.
    """
    files = list_films(root, recursive)
    mine = shard(files, rank, world_size)
    model_sha256, done = model.sha256, scored_files(out)
    states = {name: file_state(root, name) for name in mine}
    todo = [name for name in mine if done.get(name) != (model_sha256, *states[name])]
    counts = {"total": len(files), "skipped": len(mine) - len(todo), "scored": 0, "refused": 0, "errors": 0}
    rows: list[dict[str, Any]] = []
    stamp = f"rank{rank:03d}-{time.time_ns()}"
    report = None if progress is None else (lambda done: progress(done, len(todo)))
    identity = {"model_sha256": model_sha256, "model_version": model.version}
    for scored in predict_sources(model, decoded(root, todo, workers), batch_size, report):
        size, mtime_ns = states[scored.name]
        rows.append({**to_row(scored), **identity, "size": size, "mtime_ns": mtime_ns})
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
    read = _tables(out)
    if not read:
        return 0
    table = pd.concat([pd.read_parquet(path) for path in read], ignore_index=True)
    table = table.drop_duplicates("file", keep="last").sort_values("file")
    with atomic_path(out) as tmp:
        table.reset_index(drop=True).to_parquet(tmp, index=False)
    for part in read[1:] if read[0] == out else read:  # only the parts read: one written since is kept
        part.unlink()
    if parts_dir(out).is_dir() and not any(parts_dir(out).iterdir()):
        parts_dir(out).rmdir()
    return len(table)


def check_output(out: str | Path) -> None:
    """Raise :class:`OutputError` unless ``out`` can be this run's table: a ``.parquet`` path that does not exist
    yet or holds an earlier folder-scoring table."""
    out = Path(out)
    if out.suffix.lower() != ".parquet" or out.is_dir():
        raise OutputError(f"{out}: folder scoring writes a Parquet table; expected --out ending in .parquet")
    if out.exists():
        try:
            columns = pq.read_schema(out).names
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise OutputError(f"{out}: exists and is not a Parquet table ({error}); choose another --out") from error
        if "file" not in columns:
            raise OutputError(
                f"{out}: a Parquet table without a 'file' column, not folder scores; choose another --out"
            )


@contextmanager
def output_lock(out: str | Path, rank: int = 0) -> Iterator[None]:
    """Hold this rank's lock on ``out`` (an ``flock`` on a hidden file beside it, released if the process dies);
    raises :class:`OutputError` at once when another run holds it."""
    path = Path(out).with_name(f".{Path(out).name}.rank{rank:03d}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise OutputError(
                f"{out}: another folder run is writing this table; wait for it to finish or choose another --out"
            ) from None
        if _same_file(path, descriptor):
            break  # else the previous holder removed the file between our open and lock: lock the new one
        os.close(descriptor)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(descriptor)


def _same_file(path: Path, descriptor: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False


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
    "IDENTITY",
    "OutputError",
    "check_output",
    "decoded",
    "file_state",
    "distributed_rank",
    "list_films",
    "merge",
    "output_lock",
    "parts_dir",
    "score_folder",
    "scored_files",
    "shard",
    "to_row",
    "wait_for_all_ranks",
]
