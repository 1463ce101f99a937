"""Similar cases: the training films nearest to a new film in the model's own penultimate feature space.

The index holds the L2-normalised 512-d pooled features of every TRAIN-split film, built once per checkpoint
(the file is keyed by the checkpoint's SHA-256 and records the training table's fingerprint), cached on disk
under :func:`xray_core.config.cache_dir`, and rebuilt only when the checkpoint or the training table changed.

Why cosine on L2-normalised features: the pooled ReLU features' length grows with exposure and contrast, not with
what the film shows, so raw Euclidean distance ranks films by brightness first. After normalisation cosine and
Euclidean distance rank identically (``|a - b|^2 = 2 - 2 cos``); cosine distance (``1 - cos``, in [0, 2]) is
reported because it reads the same for every checkpoint. One query is one (N x 512) · (512,) product plus a
partial sort: a few milliseconds for 13,000 films (``bench/bench_similar.py``).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch

from xray_core.config import default_data_dir
from xray_core.data.dataset import DatasetError, load_dataset
from xray_core.inference.features import features_and_logits
from xray_core.inference.predict import image_batch
from xray_core.inference.similar.store import (
    SimilarIndex,
    features_key,
    index_path,
    inside,
    load_file,
    reuse_features,
    save_file,
)
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.networks import penultimate_features

DEFAULT_K = 6


class SimilarCasesUnavailable(RuntimeError):
    """No index can be built: the dataset folder is missing, unreadable or has no training films."""


@dataclass(frozen=True)
class SimilarCase:
    """One training film near the query: ``file`` relative to the data folder, ``distance`` = 1 - cosine."""

    file: str
    label: str
    source: str
    age_group: str
    distance: float
    path: str  # absolute, for reading the thumbnail; never printed or written into reports

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: file, label, source, age_group, distance (no absolute path)."""
        return {
            "file": self.file,
            "label": self.label,
            "source": self.source,
            "age_group": self.age_group,
            "distance": round(self.distance, 6),
        }


def normalise(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (all-zero rows stay zero), float32."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def query(index: SimilarIndex, feature: np.ndarray, k: int = DEFAULT_K) -> list[SimilarCase]:
    """The ``k`` training films nearest to one (D,) feature vector, nearest first (ties: table order)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    similarity = index.features @ normalise(feature).reshape(-1)
    k = min(k, len(similarity))
    if k == 0:
        return []
    nearest = np.argpartition(-similarity, k - 1)[:k] if k < len(similarity) else np.arange(len(similarity))
    nearest = nearest[np.lexsort((nearest, -similarity[nearest]))]
    return [
        SimilarCase(
            file=str(index.files[i]),
            label=str(index.labels[i]),
            source=str(index.sources[i]),
            age_group=str(index.age_groups[i]),
            distance=float(max(0.0, 1.0 - similarity[i])),
            path=_under(index.root, str(index.files[i])),
        )
        for i in nearest
    ]


def _under(root: str, file: str) -> str:
    """``root/file`` for a relative ``file`` inside ``root``; anything else is refused, never read or shown."""
    if not inside(file):
        raise ValueError(f"similar-case index entry {file!r} is not a path inside the data folder; rebuild the index")
    return os.path.join(root, file)


def image_feature(loaded: LoadedModel, image: XrayImage) -> np.ndarray:
    """(D,) penultimate features of one film, through the same preprocessing as prediction."""
    with torch.inference_mode():
        features, _ = penultimate_features(loaded.model, image_batch(loaded, [image]))
    return features[0].numpy()


def similar_cases(loaded: LoadedModel, image: XrayImage, index: SimilarIndex, k: int = DEFAULT_K) -> list[SimilarCase]:
    """The ``k`` training films nearest to ``image``. Callers show them for accepted (not refused) films only."""
    if index.checkpoint_sha256 != loaded.sha256:
        raise ValueError("this similar-case index belongs to another checkpoint; load the index for this model")
    return query(index, image_feature(loaded, image), k)


def summary(cases: list[SimilarCase]) -> dict[str, Any]:
    """The most common label among ``cases`` as data: {"label", "count", "k"} ("5 of 6 were viral");
    a tie goes to the label of the nearer film. {"label": None, "count": 0, "k": 0} for no cases."""
    if not cases:
        return {"label": None, "count": 0, "k": 0}
    counts = Counter(case.label for case in cases)
    best = max(counts.values())
    label = next(case.label for case in cases if counts[case.label] == best)
    return {"label": label, "count": best, "k": len(cases)}


def thumbnail(case: SimilarCase, side: int = 160) -> np.ndarray:
    """The case's film as uint8 H x W with its longer side ``side`` (aspect kept)."""
    pixels = read_image(case.path).pixels
    scale = side / max(pixels.shape)
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return np.clip(np.rint(small * 255), 0, 255).astype(np.uint8)


def _train_table(data_dir: Path) -> tuple[pd.DataFrame, Path, np.ndarray]:
    """The train split, the data folder and each film's path relative to it; films outside the folder are left
    out (the index shows only relative paths inside the data folder)."""
    if not data_dir.exists():
        raise SimilarCasesUnavailable(
            f"No dataset at {data_dir}: similar cases need the training films. Set XRAY_DATA_DIR to the corpus "
            "folder (the one holding manifest.csv)."
        )
    try:
        table = load_dataset(data_dir)
    except DatasetError as error:
        raise SimilarCasesUnavailable(f"The dataset at {data_dir} cannot be read: {error}") from error
    root = data_dir if data_dir.is_dir() else data_dir.parent
    train = table[table["split"] == "train"].reset_index(drop=True)
    files = np.array([os.path.relpath(p, root) for p in train["path"].astype(str)], dtype=str)
    kept = np.array([inside(file) for file in files], dtype=bool)
    train, files = train[kept].reset_index(drop=True), files[kept]
    if train.empty:
        raise SimilarCasesUnavailable(f"The dataset at {data_dir} has no 'train' films to compare with.")
    return train, root, files


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    values = table[name] if name in table else pd.Series([""] * len(table))
    return np.asarray(values.fillna("").astype(str).tolist(), dtype=str)  # never object arrays: no pickle


def _fingerprint(files: np.ndarray, labels: np.ndarray, sources: np.ndarray, age_groups: np.ndarray) -> str:
    digest = hashlib.sha256()
    for row in zip(files, labels, sources, age_groups, strict=True):
        digest.update(("|".join(str(value) for value in row) + "\n").encode())
    return digest.hexdigest()


def _table_fingerprint(files: np.ndarray, table: pd.DataFrame) -> str:
    return _fingerprint(files, *(_column(table, c) for c in ("label", "source", "age_group")))


def _usable(stored: SimilarIndex | None, loaded: LoadedModel, fingerprint: str) -> bool:
    """A stored index serves ``loaded`` over this training table only when its header says so and its own
    columns (the ones shown) hash to the table's fingerprint: a header cannot vouch for rewritten columns."""
    if stored is None or stored.checkpoint_sha256 != loaded.sha256 or stored.fingerprint != fingerprint:
        return False
    return _fingerprint(stored.files, stored.labels, stored.sources, stored.age_groups) == fingerprint


def index_is_current(loaded: LoadedModel, data_dir: str | Path | None = None) -> bool:
    """True when this checkpoint's index is on disk and matches the training table (loading it would not build)."""
    file = index_path(loaded)
    if not file.is_file():
        return False
    try:
        train, _, files = _train_table(Path(data_dir or default_data_dir()).expanduser())
    except SimilarCasesUnavailable:
        return False
    return _usable(load_file(file), loaded, _table_fingerprint(files, train))


def load_index(
    loaded: LoadedModel,
    data_dir: str | Path | None = None,
    rebuild: bool = False,
    progress: bool = False,
    on_build: Callable[[int], None] | None = None,
) -> SimilarIndex:
    """The similar-case index of ``loaded`` over the train split of ``data_dir`` (default: the corpus).

    Reused from disk when it was built for this checkpoint's SHA-256 and this training table (its stored columns
    equal the table's; a damaged or rewritten file is rebuilt); otherwise built (a forward pass over every training
    film; ``on_build(n_films)`` is called first) and saved. Only films inside ``data_dir`` are indexed.
    Raises :class:`SimilarCasesUnavailable` with what to do when the dataset is missing.
    """
    train, root, files = _train_table(Path(data_dir or default_data_dir()).expanduser())
    fingerprint = _table_fingerprint(files, train)
    file = index_path(loaded)
    stored = None if rebuild or not file.is_file() else load_file(file)
    if not _usable(stored, loaded, fingerprint):
        stored = None if rebuild else reuse_features(loaded, fingerprint)  # same weights, new metadata
    if _usable(stored, loaded, fingerprint):
        stored.root = str(root)
        return stored
    if on_build is not None:
        on_build(len(train))
    features, _ = features_and_logits(loaded, train, progress=progress)
    index = SimilarIndex(
        features=normalise(features),
        files=files,
        labels=_column(train, "label"),
        sources=_column(train, "source"),
        age_groups=_column(train, "age_group"),
        checkpoint_sha256=loaded.sha256,
        fingerprint=fingerprint,
        root=str(root),
        features_key=features_key(loaded),
    )
    save_file(file, index)
    return index


__all__ = [
    "DEFAULT_K",
    "SimilarCase",
    "SimilarCasesUnavailable",
    "image_feature",
    "index_is_current",
    "load_index",
    "normalise",
    "query",
    "similar_cases",
    "summary",
    "thumbnail",
]
