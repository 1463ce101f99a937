"""Lung masks for lung-aware display: load the shipped U-Net, segment a film, score masks against references.

Masks are H x W ``bool`` arrays at the film's own size (True = lung), whatever the network's input size: the
sigmoid map is resized to H x W first and thresholded there, so the outline follows the film and not a 128 px
grid. Post-processing keeps anatomy plausible: the two largest connected components (two lungs; a lone speck
elsewhere is noise) with their holes filled (a catheter or a dense consolidation is still lung).
The thresholding and post-processing live in the torch-free :mod:`xray_core.inference.lungs.masks` (re-exported
here), which the ONNX engine's segmenter (:mod:`xray_core.inference.onnx.segmenter`) shares.

Boundary errors are in pixels of the film's own size: the average symmetric surface distance (ASSD) and the
95th-percentile Hausdorff distance (HD95: the larger of the two directions' 95th percentiles, as in MONAI).
Dice and both distances are undefined (None) when a mask is empty, never 0 or 1 by convention.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import ndimage
from tqdm.auto import tqdm

from xray_core.data.dataset import load_dataset
from xray_core.inference.lungs.masks import (  # the torch-free half, shared with the ONNX engine
    default_segmenter,
    probability_to_mask,
)
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.preprocessing import to_tensor
from xray_core.models.resize import cam_to_image
from xray_core.models.unet import LoadedSegmenter, read_segmenter


def load_segmenter(path: str | Path | None = None) -> LoadedSegmenter:
    """The segmenter at ``path`` (default :func:`default_segmenter`), cached until the file changes.

    Raises :class:`~xray_core.models.unet.SegmenterError` with what to do when it is missing or invalid.
    """
    path = Path(path or default_segmenter()).resolve()
    try:
        stat = path.stat()
    except OSError:
        return read_segmenter(path)  # raises the 'not found' message
    return _cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int, size: int) -> LoadedSegmenter:
    return read_segmenter(path)


def _pixels(image: XrayImage | np.ndarray) -> np.ndarray:
    return image.pixels if isinstance(image, XrayImage) else np.asarray(image)


def lung_probability(segmenter: LoadedSegmenter, image: XrayImage | np.ndarray) -> np.ndarray:
    """H x W float32 in [0, 1]: the network's lung probability resized to the film's own size.

    ``image``: an :class:`XrayImage` or an H x W array (uint8, or float in [0, 1]).
    """
    pixels = _pixels(image)
    tensor = to_tensor(pixels, segmenter.preprocessing)[None]
    with torch.inference_mode():
        probability = torch.sigmoid(segmenter.model(tensor))[0, 0].numpy()
    return cam_to_image(probability, pixels.shape[0], pixels.shape[1])


MEMO_SIZE = 8  # recent masks kept: one upload is segmented for the crop, the heatmap's crop and the outline


def segment(segmenter: LoadedSegmenter, image: XrayImage | np.ndarray) -> np.ndarray:
    """H x W bool lung mask at the film's own size, thresholded and post-processed (see :func:`postprocess`).

    A lung-cropped model needs the mask of one film up to three times (prediction, heatmap, outline); the last
    ``MEMO_SIZE`` masks are kept, keyed by the segmenter and a digest of the pixels, and returned as copies.
    """
    pixels = np.ascontiguousarray(_pixels(image))
    key = (segmenter.sha256, pixels.shape, str(pixels.dtype), hashlib.blake2b(pixels.data, digest_size=16).digest())
    with _MEMO_LOCK:
        mask = _MEMO.get(key)
    if mask is None:
        mask = _mask(segmenter, lung_probability(segmenter, pixels))
        with _MEMO_LOCK:  # Streamlit sessions are threads
            _MEMO[key] = mask
            while len(_MEMO) > MEMO_SIZE:
                _MEMO.popitem(last=False)
    return mask.copy()


def forget_masks() -> None:
    """Empty :func:`segment`'s memo (benchmarks that time one film again and again, tests)."""
    with _MEMO_LOCK:
        _MEMO.clear()


_MEMO: OrderedDict[tuple, np.ndarray] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def segment_batch(segmenter: LoadedSegmenter, images: list[XrayImage | np.ndarray]) -> list[np.ndarray]:
    """:func:`segment` of many films in one forward pass (several times faster per film on a CPU)."""
    pixels = [_pixels(image) for image in images]
    if not pixels:
        return []
    batch = torch.stack([to_tensor(p, segmenter.preprocessing) for p in pixels])
    with torch.inference_mode():
        probabilities = torch.sigmoid(segmenter.model(batch))[:, 0].numpy()
    return [
        _mask(segmenter, cam_to_image(probability, *p.shape))
        for probability, p in zip(probabilities, pixels, strict=True)
    ]


def _mask(segmenter: LoadedSegmenter, probability: np.ndarray) -> np.ndarray:
    return probability_to_mask(probability, segmenter.threshold, segmenter.meta.postprocess)


def lung_outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """H x W bool: the mask's inner edge, ``thickness`` pixels wide, for drawing an outline over a film."""
    mask = np.asarray(mask, dtype=bool)
    if thickness < 1:
        raise ValueError(f"thickness must be at least 1 pixel, got {thickness}")
    eroded = ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), iterations=thickness, border_value=0)
    return mask & ~eroded


def read_mask(path: str | Path) -> np.ndarray:
    """A reference mask file (0 background, 255 lung) as H x W bool."""
    return read_image(path).pixels >= 0.5


def dice(prediction: np.ndarray, reference: np.ndarray) -> float | None:
    """2|A∩B| / (|A| + |B|) of two H x W bool masks; None when both are empty (nothing to agree on)."""
    prediction, reference = np.asarray(prediction, bool), np.asarray(reference, bool)
    if prediction.shape != reference.shape:
        raise ValueError(f"mask shapes differ: {prediction.shape} vs {reference.shape}")
    total = int(prediction.sum() + reference.sum())
    return None if total == 0 else 2.0 * float(np.logical_and(prediction, reference).sum()) / total


def surface_distances(prediction: np.ndarray, reference: np.ndarray) -> dict[str, float | None]:
    """ASSD, HD95 and Hausdorff (pixels) between two masks' boundaries; all None when either mask is empty."""
    prediction, reference = np.asarray(prediction, bool), np.asarray(reference, bool)
    if not prediction.any() or not reference.any():
        return {"assd": None, "hd95": None, "hausdorff": None}
    edge_p, edge_r = lung_outline(prediction), lung_outline(reference)
    to_reference = ndimage.distance_transform_edt(~edge_r)[edge_p]
    to_prediction = ndimage.distance_transform_edt(~edge_p)[edge_r]
    both = np.concatenate([to_reference, to_prediction])
    return {
        "assd": float(both.mean()),
        "hd95": float(max(np.percentile(to_reference, 95), np.percentile(to_prediction, 95))),
        "hausdorff": float(both.max()),
    }


def mask_pairs(data_dir: str | Path, section: str) -> pd.DataFrame:
    """Image/mask pairs of ``<data_dir>/lungs`` or ``<data_dir>/external``: columns ``path``, ``mask``, ``split``,
    ``age_group`` (absolute paths) and, for external, ``label``. Films without a mask are left out (counted in
    ``attrs["without_mask"]``)."""
    root = Path(data_dir) / section
    if section == "external":
        table = load_dataset(root).rename(columns={"lung_mask": "mask"})
    elif section == "lungs":
        manifest = root / "manifest.csv"
        if not manifest.is_file():
            raise FileNotFoundError(f"no lung segmentation pairs at {manifest}; set XRAY_DATA_DIR to the corpus")
        table = pd.read_csv(manifest, dtype=str)
        table["path"] = [str(root / f) for f in table["file"]]
        table["mask"] = [str(root / m) for m in table["mask"]]
    else:
        raise ValueError(f"unknown section {section!r}; expected 'lungs' or 'external'")
    has_mask = table["mask"].fillna("").astype(str) != ""
    columns = [c for c in ("path", "mask", "split", "age_group", "label") if c in table.columns]
    pairs = table.loc[has_mask, columns].reset_index(drop=True)
    pairs.attrs["without_mask"] = int((~has_mask).sum())
    return pairs


def evaluate_segmenter(segmenter: LoadedSegmenter, pairs: pd.DataFrame, progress: bool = True) -> dict[str, Any]:
    """Dice and boundary errors of :func:`segment` against ``pairs`` (from :func:`mask_pairs`), at native size.

    Returns ``summary`` (means, medians, 5th percentile of Dice, per age group) and ``per_image`` rows.
    """
    rows = []
    for path, mask_path, group in tqdm(
        list(zip(pairs["path"], pairs["mask"], pairs["age_group"])),
        desc="segmenting",
        unit="film",
        disable=not progress,
    ):
        reference = read_mask(mask_path)
        predicted = segment(segmenter, read_image(path))
        if predicted.shape != reference.shape:
            raise ValueError(f"{mask_path}: mask {reference.shape} and film {predicted.shape} differ in size")
        rows.append(
            {
                "id": Path(path).stem,
                "age_group": group,
                "height": int(reference.shape[0]),
                "width": int(reference.shape[1]),
                "dice": dice(predicted, reference),
                **surface_distances(predicted, reference),
            }
        )
    frame = pd.DataFrame(rows)
    summary = _summarise(frame)
    if not frame.empty:
        summary["by_age_group"] = {str(g): _summarise(part) for g, part in frame.groupby("age_group")}
    return {"summary": summary, "per_image": rows}


def _summarise(frame: pd.DataFrame) -> dict[str, Any]:
    def stat(column: str, how: str) -> float | None:
        values = pd.to_numeric(frame[column], errors="coerce").dropna() if column in frame else pd.Series([])
        if values.empty:
            return None
        return float(values.quantile(0.05) if how == "p05" else getattr(values, how)())

    return {
        "n": int(len(frame)),
        "dice_mean": stat("dice", "mean"),
        "dice_median": stat("dice", "median"),
        "dice_p05": stat("dice", "p05"),
        "dice_min": stat("dice", "min"),
        "assd_mean": stat("assd", "mean"),
        "hd95_mean": stat("hd95", "mean"),
        "hd95_median": stat("hd95", "median"),
    }


__all__ = [
    "dice",
    "forget_masks",
    "evaluate_segmenter",
    "load_segmenter",
    "lung_outline",
    "lung_probability",
    "mask_pairs",
    "read_mask",
    "segment",
    "surface_distances",
]
