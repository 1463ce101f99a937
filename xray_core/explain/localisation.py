"""Where a heatmap falls relative to the lungs, and which map to show, chosen by measurement.

Two pure scores of a map (H x W float, >= 0) against a lung mask (H x W bool) of the same film:

* :func:`lung_fraction`: the share of the map's total energy (sum of values) inside the lungs. A uniform map
  scores the lungs' share of the film's area (about a third on these films), so that is the floor to beat.
* :func:`pointing_hit`: whether the hottest point lies inside the lungs (the pointing game; Zhang et al.,
  ECCV 2016). Ties at the maximum vote: a hit when at least half of the tied pixels are inside.

:func:`localisation_report` compares map *variants* (a CAM method on one or more ResNet stages; several
stages are averaged after each is stretched to [0, 1], pytorch-grad-cam's multi-layer rule) on films with
reference masks: those two scores plus ROAD (:mod:`xray_core.explain.faithfulness`) paired per film against
RandomCAM on the same layers (a finer map changes ROAD by itself, so layer3 maps need a layer3 baseline) and on
layer4, with bootstrap confidence intervals over films. Maps come from a private copy of the model.
:func:`localisation_markdown` (from :mod:`~xray_core.explain.localisation_table`) renders the report.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from tqdm.auto import tqdm

from xray_core.explain.faithfulness import cam_scores
from xray_core.explain.methods import CAM_METHODS, REMOVE_PERCENTILE, target_index
from xray_core.explain.variants import VARIANTS, MapVariant
from xray_core.inference.lungs.crop import model_input
from xray_core.inference.lungs.segment import read_mask
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.resize import cam_to_image

GOALS = {"lung_fraction": 0.80, "pointing": 0.95}  # the shown map's goals; plus ROAD vs RandomCAM with its CI above 0
_FLAT = 1e-6


BASELINE_VARIANT = MapVariant("randomcam", ("layer4",))  # the baseline of explain.faithfulness
BASELINE = BASELINE_VARIANT.key


def _fit(cam: np.ndarray, mask: np.ndarray) -> np.ndarray:
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32))
    return cam if cam.shape == mask.shape else cam_to_image(cam, *mask.shape)


def lung_fraction(cam: np.ndarray, mask: np.ndarray) -> float | None:
    """Share in [0, 1] of the map's energy inside ``mask``; None for an all-zero map. The map is resized to the
    mask's H x W when their shapes differ; negative values count as 0."""
    mask = np.asarray(mask, dtype=bool)
    energy = np.maximum(_fit(cam, mask), 0.0)
    total = float(energy.sum())
    return None if total <= 0 else float(energy[mask].sum()) / total


def pointing_hit(cam: np.ndarray, mask: np.ndarray, tolerance: int = 0) -> bool | None:
    """Whether the map's maximum lies inside ``mask`` (grown by ``tolerance`` pixels); None for a flat map."""
    mask = np.asarray(mask, dtype=bool)
    cam = _fit(cam, mask)
    peak = float(cam.max())
    if peak - float(cam.min()) < _FLAT:
        return None
    if tolerance > 0:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
        mask = cv2.dilate(mask.astype(np.uint8), disk) > 0
    return bool(mask[cam >= peak - _FLAT].mean() >= 0.5)


def variant_map(model: torch.nn.Module, variant: MapVariant, tensor: torch.Tensor, index: int) -> np.ndarray:
    """S x S float32 map in [0, 1] of ``variant`` for class ``index`` on a (1, C, S, S) input.

    ``model`` must be a private copy (the library hooks it and sets eval mode) with gradients enabled.
    """
    layers = [getattr(model, name)[-1] for name in variant.layers]
    with torch.inference_mode(False), torch.enable_grad(), CAM_METHODS[variant.method].factory(model, layers) as cam:
        maps = cam(input_tensor=tensor, targets=[ClassifierOutputTarget(index)])
    return np.clip(np.nan_to_num(maps[0]), 0.0, 1.0).astype(np.float32)


def _film_scores(
    loaded: LoadedModel,
    model: torch.nn.Module,
    variants: dict[str, MapVariant],
    path: str,
    mask_path: str,
    label: str,
    target: str,
    seed: int,
) -> dict[str, Any]:
    """Per-variant scores of one film: lung fraction, pointing, ROAD drop (same imputation noise for all)."""
    image, mask = read_image(path), read_mask(mask_path)
    tensor, box = model_input(loaded.preprocessing, image)
    with torch.inference_mode():
        predicted = int(loaded.model(tensor)[0].argmax())
    index = predicted if target == "predicted" else target_index(loaded.class_names, label)
    scores: dict[str, Any] = {"lung_area": float(mask.mean()), "predicted": loaded.class_names[predicted]}
    for key, variant in variants.items():
        began = time.perf_counter()
        cam_input = variant_map(model, variant, tensor, index)
        elapsed = (time.perf_counter() - began) * 1000
        torch.manual_seed(seed)  # ROAD's imputation noise: identical for every variant of this film
        road = cam_scores(loaded, tensor, cam_input, index)["road_drop"]
        cam = cam_to_image(cam_input, image.height, image.width, box)
        scores[key] = {
            "road_drop": road,
            "lung_fraction": lung_fraction(cam, mask),
            "pointing": pointing_hit(cam, mask),
            "ms": elapsed,
        }
    return scores


def localisation_report(
    loaded: LoadedModel,
    pairs: pd.DataFrame,
    variants: list[str] | None = None,
    n: int = 60,
    seed: int = 0,
    target: str = "label",
    progress: bool = True,
) -> dict[str, Any]:
    """Compare map variants on up to ``n`` films of ``pairs`` (columns ``path``, ``mask``, ``label``).

    ``target``: 'label' explains the film's labelled class, 'predicted' the model's choice. Returns per-variant
    means with 95 % bootstrap CIs, ROAD vs :data:`BASELINE` (paired per film) and whether the goals are met.
    """
    if target not in ("label", "predicted"):
        raise ValueError(f"target must be 'label' or 'predicted', got {target!r}")
    unknown = [v for v in variants or [] if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown map variants {unknown}; expected some of {', '.join(VARIANTS)}")
    chosen = {key: VARIANTS[key] for key in variants or VARIANTS}
    for variant in [*chosen.values(), BASELINE_VARIANT]:
        chosen.setdefault(variant.baseline.key, variant.baseline)
    rows = pairs if len(pairs) <= n else pairs.sample(n=n, random_state=seed)
    model = copy.deepcopy(loaded.model).eval().requires_grad_(True)
    films = [
        _film_scores(loaded, model, chosen, path, mask, label, target, seed + i)
        for i, (path, mask, label) in enumerate(
            tqdm(
                list(zip(rows["path"], rows["mask"], rows["label"])),
                desc="localisation",
                unit="film",
                disable=not progress,
            )
        )
    ]
    correct = [f["predicted"] == label for f, label in zip(films, rows["label"])]
    return {
        "n_films": len(films),
        "target": target,
        "seed": seed,
        "remove_percentile": REMOVE_PERCENTILE,
        "checkpoint_sha256": loaded.sha256,
        "accuracy_on_films": float(np.mean(correct)) if films else None,
        "lung_area_share": _mean([f["lung_area"] for f in films]),
        "goals": GOALS,
        "variants": {key: _summarise(films, variant) for key, variant in chosen.items()},
    }


def _summarise(films: list[dict[str, Any]], variant: MapVariant) -> dict[str, Any]:
    """Means and CIs of one variant; ROAD paired per film against RandomCAM on the same layers and on layer4."""
    fraction, hits = _column(films, variant.key, "lung_fraction"), _column(films, variant.key, "pointing")
    row: dict[str, Any] = {
        "title": variant.title,
        "road_drop": _mean(_column(films, variant.key, "road_drop")),
        "lung_fraction": _mean(fraction),
        "lung_fraction_ci": bootstrap_ci(fraction),
        "pointing": _mean(hits),
        "pointing_ci": bootstrap_ci(hits),
        "ms_per_map": _mean(_column(films, variant.key, "ms")),
    }
    if variant.method == "randomcam":
        return row
    for suffix, baseline in (("", variant.baseline.key), ("_layer4", BASELINE)):
        paired = _column(films, variant.key, "road_drop") - _column(films, baseline, "road_drop")
        paired = paired[np.isfinite(paired)]
        row.update(
            {
                f"road_vs_random{suffix}": _mean(paired),
                f"road_vs_random{suffix}_ci": bootstrap_ci(paired),
                f"beats_random{suffix}": float(np.mean(paired > 0)) if len(paired) else None,
            }
        )
    ci = row["road_vs_random_ci"]
    row["meets_goals"] = bool(
        ci is not None
        and ci[0] > 0
        and (row["lung_fraction"] or 0) >= GOALS["lung_fraction"]
        and (row["pointing"] or 0) >= GOALS["pointing"]
    )
    return row


def _column(films: list[dict[str, Any]], key: str, name: str) -> np.ndarray:
    return np.array([_nan(film[key][name]) for film in films], dtype=float)


def bootstrap_ci(
    values: np.ndarray | list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> list[float] | None:
    """Percentile bootstrap CI of the mean of the finite ``values``; None with fewer than two."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    draws = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


def _nan(value: float | bool | None) -> float:
    return np.nan if value is None else float(value)


def _mean(values: Any) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


__all__ = [
    "BASELINE",
    "BASELINE_VARIANT",
    "GOALS",
    "bootstrap_ci",
    "localisation_report",
    "lung_fraction",
    "pointing_hit",
    "variant_map",
]
