"""Lung-cropped input (issue 12): the one place a film becomes the model's input when the checkpoint crops.

A checkpoint whose ``Preprocessing.crop`` is "lungs" sees only the lung segmenter's bounding box (plus a margin):
the same box at training, prediction and explanation time, from the segmenter whose SHA-256 the preprocessing
records, so a retrained segmenter cannot silently change what the classifier sees.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from xray_core.config import Preprocessing, cache_dir
from xray_core.inference.lung_masks import segmenter_mismatch
from xray_core.inference.lungs import load_segmenter, segment, segment_batch
from xray_core.io.reader import XrayImage, XrayInputError, read_image
from xray_core.models.preprocessing import Box, box_from_mask, to_tensor
from xray_core.models.unet import LoadedSegmenter, SegmenterError

BATCH = 64  # films per segmenter forward pass when boxing a whole table


def crop_segmenter(prep: Preprocessing) -> LoadedSegmenter:
    """The shipped segmenter, checked against the one ``prep`` was trained with."""
    segmenter = load_segmenter()
    if prep.crop_segmenter and segmenter.sha256 != prep.crop_segmenter:
        raise SegmenterError(segmenter_mismatch(prep.crop_segmenter, segmenter.path, segmenter.sha256))
    return segmenter


def crop_box(prep: Preprocessing, image: XrayImage | np.ndarray) -> Box | None:
    """The region of ``image`` the model sees: None for whole-film preprocessing, else the lungs' box."""
    if prep.crop == "none":
        return None
    pixels = image.pixels if isinstance(image, XrayImage) else np.asarray(image)
    return box_from_mask(segment(crop_segmenter(prep), pixels), prep.crop_margin)


def model_input(prep: Preprocessing, image: XrayImage | np.ndarray) -> tuple[torch.Tensor, Box | None]:
    """(1, C, S, S) normalised input of one film and the crop box it came from (None: the whole film)."""
    pixels = image.pixels if isinstance(image, XrayImage) else np.asarray(image)
    box = crop_box(prep, pixels)
    return to_tensor(pixels, prep, box=box)[None], box


def _key(paths: Sequence[str], prep: Preprocessing, segmenter: LoadedSegmenter) -> str:
    digest = hashlib.sha256(f"{segmenter.sha256}|{prep.crop_margin}".encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def crop_boxes(paths: Sequence[str], prep: Preprocessing, progress: bool = True) -> np.ndarray | None:
    """(N, 4) int64 boxes of many files for training and evaluation caches (None when ``prep`` does not crop).

    Computed once per file list, segmenter and margin, then cached on disk. Unreadable files get the whole-film
    box (0, 0, 0, 0 means "unknown size"); the pixel decoder reports them.
    """
    if prep.crop == "none":
        return None
    segmenter = crop_segmenter(prep)
    paths = [str(p) for p in paths]
    file = Path(cache_dir()) / f"lungboxes-{_key(paths, prep, segmenter)}.npy"
    if file.is_file():
        return np.load(file)
    boxes = np.zeros((len(paths), 4), np.int64)
    with tqdm(total=len(paths), desc="lung boxes", unit="img", disable=not progress) as bar:
        for start in range(0, len(paths), BATCH):
            films: dict[int, np.ndarray] = {}
            for index in range(start, min(start + BATCH, len(paths))):
                with contextlib.suppress(XrayInputError):  # unreadable: the pixel decoder reports it
                    films[index] = read_image(paths[index]).pixels
            for index, mask in zip(films, segment_batch(segmenter, list(films.values())), strict=True):
                boxes[index] = box_from_mask(mask, prep.crop_margin)
            bar.update(min(BATCH, len(paths) - start))
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp.npy")
    np.save(tmp, boxes)
    tmp.replace(file)
    return boxes


__all__ = ["crop_box", "crop_boxes", "crop_segmenter", "model_input"]
