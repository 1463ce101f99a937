"""Decode each image once: a dataset table becomes an in-memory uint8 array (N, S, S).

Training at 128-192 px on a 2-core CPU cannot afford to decode and resize
JPEGs every epoch. Images go through the same ``read_image`` and
``resize_square`` as inference, are quantised to uint8 and stored in one
``.npy`` file under :func:`xray_core.config.cache_dir`, keyed by the files'
paths, sizes and modification times and the target size.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from xray_core.config import cache_dir
from xray_core.files import atomic_path
from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image
from xray_core.models.resize import crop_to_box, resize_square


def _decode(args: tuple[str, int, tuple[int, ...] | None]) -> tuple[np.ndarray, str]:
    path, size, box = args
    try:
        pixels = read_image(path).pixels
        if box is not None and box[1] > box[0]:  # (0, 0, 0, 0): no box known, the whole film
            pixels = crop_to_box(pixels, box)
        pixels = resize_square(pixels, size)
        return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8), ""
    except XrayInputError as error:
        return np.zeros((size, size), np.uint8), str(error)


def _key(paths: Sequence[str], size: int, boxes: np.ndarray | None = None) -> str:
    digest = hashlib.sha256(str(size).encode())
    if boxes is not None:
        digest.update(np.ascontiguousarray(boxes, dtype=np.int64).tobytes())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def decode_images(
    paths: Sequence[str], size: int, workers: int = 0, progress: bool = True, boxes: np.ndarray | None = None
) -> np.ndarray:
    """Decode, crop to ``boxes`` (N x 4 top, bottom, left, right; None: whole films) and squash-resize every
    path to (N, size, size) uint8, in parallel, with a progress bar.

    Unreadable files raise :class:`XrayInputError` listing the first few failures.
    """
    workers = workers or os.cpu_count() or 1
    crops = [None] * len(paths) if boxes is None else [tuple(int(v) for v in box) for box in boxes]
    jobs = [(str(p), size, box) for p, box in zip(paths, crops, strict=True)]
    chunk = max(1, len(jobs) // (workers * 16))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(
            tqdm(
                pool.map(_decode, jobs, chunksize=chunk),
                total=len(jobs),
                disable=not progress,
                desc=f"decoding at {size}px",
                unit="img",
            )
        )
    failures = [f"{path}: {error}" for (path, _, _), (_, error) in zip(jobs, results, strict=True) if error]
    if failures:
        raise XrayInputError(f"{len(failures)} image(s) could not be read, e.g. " + "; ".join(failures[:3]))
    if not results:
        return np.zeros((0, size, size), np.uint8)
    return np.stack([pixels for pixels, _ in results])


def cached_pixels(
    table: pd.DataFrame, size: int, workers: int = 0, progress: bool = True, boxes: np.ndarray | None = None
) -> np.ndarray:
    """:func:`decode_images` for ``table['path']``, reusing an on-disk cache when nothing changed."""
    paths = table["path"].astype(str).tolist()
    file = Path(cache_dir()) / f"pixels-{size}-{_key(paths, size, boxes)}.npy"
    if file.is_file():
        return np.load(file)
    pixels = decode_images(paths, size, workers=workers, progress=progress, boxes=boxes)
    with atomic_path(file) as tmp:  # training ranks may build the same cache at once
        np.save(tmp, pixels)
    return pixels


__all__ = ["cached_pixels", "decode_images"]
