"""Lung-cropped (and lung-masked) input: the one place a film becomes the model's input.

A checkpoint whose ``Preprocessing.crop`` is "lungs" sees only the lung segmenter's bounding box (plus a margin);
with ``Preprocessing.mask`` "lungs" it also sees nothing outside the (grown) lung mask. The same box and mask at
training, prediction and explanation time, from the segmenter whose SHA-256 the preprocessing records, so a
retrained segmenter cannot silently change what the classifier sees.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from xray_core.config import Preprocessing, cache_dir
from xray_core.data.cache import cached_pixels
from xray_core.files import atomic_path
from xray_core.inference.lungs.masks import segmenter_mismatch
from xray_core.inference.lungs.segment import load_segmenter, segment, segment_batch
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image
from xray_core.models.preprocessing import to_tensor
from xray_core.models.resize import Box, box_from_mask, keep_square, mask_fill
from xray_core.models.unet import LoadedSegmenter, SegmenterError

BATCH = 64  # films per segmenter forward pass when boxing a whole table


def crop_segmenter(prep: Preprocessing) -> LoadedSegmenter:
    """The shipped segmenter, checked against the one ``prep`` was trained with."""
    segmenter = load_segmenter()
    if prep.crop_segmenter and segmenter.sha256 != prep.crop_segmenter:
        raise SegmenterError(segmenter_mismatch(prep.crop_segmenter, segmenter.path, segmenter.sha256))
    return segmenter


def crop_region(prep: Preprocessing, image: XrayImage | np.ndarray) -> tuple[Box | None, np.ndarray | None]:
    """The crop box (None: whole film) and, for a lung-masked ``prep``, the film's H x W lung mask."""
    if prep.crop == "none":
        return None, None
    pixels = image.pixels if isinstance(image, XrayImage) else np.asarray(image)
    mask = segment(crop_segmenter(prep), pixels)
    return box_from_mask(mask, prep.crop_margin), mask if prep.mask == "lungs" else None


def crop_box(prep: Preprocessing, image: XrayImage | np.ndarray) -> Box | None:
    """The region of ``image`` the model sees: None for whole-film preprocessing, else the lungs' box."""
    return crop_region(prep, image)[0]


def film_tensor(prep: Preprocessing, image: XrayImage | np.ndarray) -> tuple[torch.Tensor, Box | None]:
    """(C, S, S) normalised input of one film and its crop box (None: the whole film)."""
    pixels = image.pixels if isinstance(image, XrayImage) else np.asarray(image)
    box, mask = crop_region(prep, pixels)
    return to_tensor(pixels, prep, box=box, lung_mask=mask), box


def model_input(prep: Preprocessing, image: XrayImage | np.ndarray) -> tuple[torch.Tensor, Box | None]:
    """(1, C, S, S) normalised input of one film and the crop box it came from (None: the whole film)."""
    tensor, box = film_tensor(prep, image)
    return tensor[None], box


def _key(paths: Sequence[str], prep: Preprocessing, segmenter: LoadedSegmenter, extra: str = "") -> str:
    digest = hashlib.sha256(f"{segmenter.sha256}|{prep.crop_margin}{extra}".encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _save(file: Path, array: np.ndarray) -> None:
    with atomic_path(file) as tmp:
        np.save(tmp, array)


def _regions(paths: list[str], prep: Preprocessing, progress: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, 4) int64 boxes and, for a lung-masked ``prep``, (N, S, S) bool keep-squares of many files, computed
    once per file list, segmenter and margin (and size and dilation for the keep-squares), then cached on disk.
    Unreadable files get the whole-film box (0, 0, 0, 0 means "unknown size"); the pixel decoder reports them."""
    segmenter = crop_segmenter(prep)
    masking = prep.mask == "lungs"
    box_file = Path(cache_dir()) / f"lungboxes-{_key(paths, prep, segmenter)}.npy"
    keep_file = Path(cache_dir()) / (
        f"lungkeep-{_key(paths, prep, segmenter, f'|{prep.image_size}|{prep.mask_dilation}')}.npy"
    )
    if box_file.is_file() and (not masking or keep_file.is_file()):
        return np.load(box_file), np.load(keep_file) if masking else None
    boxes = np.zeros((len(paths), 4), np.int64)
    keeps = np.ones((len(paths), prep.image_size, prep.image_size), bool) if masking else None
    with tqdm(total=len(paths), desc="lung boxes", unit="img", disable=not progress) as bar:
        for start in range(0, len(paths), BATCH):
            films: dict[int, np.ndarray] = {}
            for index in range(start, min(start + BATCH, len(paths))):
                with contextlib.suppress(XrayInputError):  # unreadable: the pixel decoder reports it
                    films[index] = read_image(paths[index]).pixels
            for index, mask in zip(films, segment_batch(segmenter, list(films.values())), strict=True):
                boxes[index] = box_from_mask(mask, prep.crop_margin)
                if keeps is not None:
                    keeps[index] = keep_square(mask, tuple(boxes[index]), prep.image_size, prep.mask_dilation)
            bar.update(min(BATCH, len(paths) - start))
    _save(box_file, boxes)
    if keeps is not None:
        _save(keep_file, keeps)
    return boxes, keeps


def model_squares(table: pd.DataFrame, prep: Preprocessing, workers: int = 0, progress: bool = True) -> np.ndarray:
    """(N, S, S) uint8 squares of ``table['path']`` as the model sees them (cropped and, when ``prep`` masks,
    blanked outside the lungs with :func:`mask_fill`), decoded once and cached: the training and feature arrays."""
    paths = table["path"].astype(str).tolist()
    boxes, keeps = _regions(paths, prep, progress) if prep.crop != "none" else (None, None)
    pixels = cached_pixels(table, prep.image_size, workers=workers, progress=progress, boxes=boxes)
    if keeps is None:
        return pixels
    return np.where(keeps, pixels, np.uint8(round(mask_fill(prep) * 255)))


def lung_squares(table: pd.DataFrame, prep: Preprocessing, progress: bool = True) -> np.ndarray:
    """(N, S, S) bool: each film's lung mask (not grown) inside the square the lung-cropped model sees, cached
    with the boxes; what lung-attention training (:mod:`xray_core.training.attention`) holds the maps to."""
    if prep.crop != "lungs":
        raise ValueError("lung squares need lung-cropped preprocessing (crop='lungs')")
    exact = dataclasses.replace(prep, mask="lungs", mask_dilation=0.0)
    return _regions(table["path"].astype(str).tolist(), exact, progress)[1]


__all__ = ["crop_box", "crop_region", "crop_segmenter", "film_tensor", "lung_squares", "model_input", "model_squares"]
