"""The similar-case index on disk: one ``.npz`` per checkpoint SHA-256 under :func:`xray_core.config.cache_dir`.

The header records the checkpoint's SHA-256, the training table's fingerprint and a ``features_key`` (the hash of
the weights and the preprocessing, which alone decide the features). A checkpoint whose metadata changed but not
its weights (a refitted temperature, operating point or age probe) gets a new SHA-256 and so a new index file,
but its features are copied from the older file with the same ``features_key`` instead of recomputed: minutes
of forward passes saved, and the index still follows the checkpoint hash.

The header also holds ``content_sha256``, the hash of every column, so a damaged file is rebuilt rather than
shown. That hash catches corruption, not someone who rewrites the cache (they can recompute it): what is *shown*
is held to the training table by the caller, which requires the stored table columns to equal the table's
(:func:`xray_core.inference.similar.search.load_index`), and to relative paths inside the data folder (:func:`inside`).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from xray_core.config import cache_dir
from xray_core.files import atomic_path
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.signed import weights_sha256

INDEX_FORMAT = 3  # bump when the file's layout changes: older files are rebuilt (3: content_sha256)
COLUMNS = ("features", "files", "labels", "sources", "age_groups")
_UNREADABLE = (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError)  # a truncated .npz is a bad zip


@dataclass
class SimilarIndex:
    """(N, D) float32 unit-length ``features`` of the training films and their table columns, one row each."""

    features: np.ndarray
    files: np.ndarray  # relative to ``root``
    labels: np.ndarray
    sources: np.ndarray
    age_groups: np.ndarray
    checkpoint_sha256: str
    fingerprint: str
    root: str = ""
    features_key: str = ""

    def __len__(self) -> int:
        return len(self.files)


def index_path(loaded: LoadedModel) -> Path:
    """Where the index of ``loaded`` lives: one file per checkpoint SHA-256."""
    return Path(cache_dir()) / f"similar-{loaded.sha256[:24]}.npz"


def features_key(loaded: LoadedModel) -> str:
    """SHA-256 of the weights and the preprocessing: equal keys give equal features."""
    digest = hashlib.sha256(weights_sha256(loaded.model.state_dict()).encode())
    digest.update(json.dumps(loaded.preprocessing.to_dict(), sort_keys=True).encode())
    return digest.hexdigest()


def inside(file: str) -> bool:
    """True for a relative path that stays inside the folder it is relative to (no absolute path, no '..' out)."""
    if not file or os.path.isabs(file) or os.path.splitdrive(file)[0]:
        return False
    return not os.path.normpath(file).startswith(os.pardir)


def content_sha256(index: SimilarIndex) -> str:
    """SHA-256 over every column's dtype, shape and bytes, in ``COLUMNS`` order."""
    digest = hashlib.sha256()
    for name in COLUMNS:
        column = np.ascontiguousarray(getattr(index, name))
        digest.update(f"{name}|{column.dtype.str}|{column.shape}|".encode())
        digest.update(column.tobytes())
    return digest.hexdigest()


def _header(file: Path) -> dict | None:
    try:
        with np.load(file, allow_pickle=False) as stored:
            header = json.loads(str(stored["header"]))
    except _UNREADABLE:
        return None  # unreadable or partial: rebuilt
    return header if header.get("format") == INDEX_FORMAT else None


def load_file(file: Path) -> SimilarIndex | None:
    """The index stored in ``file``, or None when it is missing, unreadable, of another format, when its columns do
    not hash to the header's ``content_sha256``, a file path leaves the data folder, or the features are not one
    finite row per film (a rewriter can recompute the hash; a short array would mis-pair films and distances)."""
    header = _header(file)
    if header is None:
        return None
    try:
        with np.load(file, allow_pickle=False) as stored:
            columns = {name: stored[name] for name in COLUMNS}
    except _UNREADABLE:
        return None
    index = SimilarIndex(
        **columns,
        checkpoint_sha256=header["checkpoint_sha256"],
        fingerprint=header["fingerprint"],
        features_key=header.get("features_key", ""),
    )
    if header.get("content_sha256") != content_sha256(index) or not all(inside(str(f)) for f in index.files):
        return None
    return index if _well_formed(index) else None


def _well_formed(index: SimilarIndex) -> bool:
    """(N, D) finite float32 features and N entries in every table column."""
    features, rows = index.features, len(index.files)
    if features.dtype != np.float32 or features.ndim != 2 or len(features) != rows:
        return False
    columns = (index.labels, index.sources, index.age_groups)
    return all(column.shape == (rows,) for column in columns) and bool(np.isfinite(features).all())


def save_file(file: Path, index: SimilarIndex) -> None:
    """Write ``index`` atomically (a concurrent reader sees the old file or the new one)."""
    header = {
        "format": INDEX_FORMAT,
        "checkpoint_sha256": index.checkpoint_sha256,
        "fingerprint": index.fingerprint,
        "features_key": index.features_key,
        "content_sha256": content_sha256(index),
    }
    with atomic_path(file) as tmp:
        np.savez(tmp, header=np.array(json.dumps(header)), **{name: getattr(index, name) for name in COLUMNS})


def reuse_features(loaded: LoadedModel, fingerprint: str) -> SimilarIndex | None:
    """Another checkpoint's index with this one's weights, preprocessing and training table, re-keyed and saved
    under this checkpoint's SHA-256; None when there is none."""
    key = features_key(loaded)
    for file in sorted(Path(cache_dir()).glob("similar-*.npz")):
        header = _header(file)
        if header and header.get("features_key") == key and header.get("fingerprint") == fingerprint:
            stored = load_file(file)
            if stored is not None:
                index = replace(stored, checkpoint_sha256=loaded.sha256)
                save_file(index_path(loaded), index)
                return index
    return None


__all__ = [
    "INDEX_FORMAT",
    "SimilarIndex",
    "content_sha256",
    "features_key",
    "index_path",
    "inside",
    "load_file",
    "reuse_features",
    "save_file",
]
