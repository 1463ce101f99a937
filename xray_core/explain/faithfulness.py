"""Faithfulness: does the highlighted region actually drive the prediction?

Two perturbation scores from ``pytorch_grad_cam.metrics``, in calibrated-probability units of the target
class; higher means more faithful:

* ``road_drop``: the confidence lost when the hottest ``100 - REMOVE_PERCENTILE`` % of the pixels are removed
  and filled by ROAD's noisy linear imputation (``ROADMostRelevantFirst``; Rong et al., ICML 2022). Imputing
  instead of blacking out keeps the perturbed film closer to the training distribution, so the drop measures
  missing evidence rather than the shock of a black box.
* ``keep_change``: the confidence change when the normalised input is multiplied by the map, keeping the
  highlighted region and greying the rest (``CamMultImageConfidenceChange``); near 0 or positive is good.

Each is computed for the map and for a RandomCAM map of the same image and class (random channel weights over
the same activations): an explanation is informative only where it beats that baseline. Maps with no hottest
region (flat) give undefined (None) scores, never zeros.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
from pytorch_grad_cam.metrics.road import ROADMostRelevantFirst
from tqdm.auto import tqdm

from xray_core.explain.cam import explain
from xray_core.explain.methods import (
    CAM_METHODS,
    DEFAULT_METHOD,
    FAST_METHODS,
    REMOVE_PERCENTILE,
    method_key,
    random_baseline,
    target_index,
)
from xray_core.inference.calibration import calibrated_softmax
from xray_core.inference.lungs.crop import model_input
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.resize import cam_to_image

BASELINE = "randomcam"
_SCORES = ("road_drop", "keep_change")


class CalibratedTarget:
    """pytorch-grad-cam target: the calibrated probability softmax(logits / T)[index]."""

    def __init__(self, index: int, temperature: float = 1.0) -> None:
        self.index, self.temperature = int(index), float(temperature)

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return calibrated_softmax(output, self.temperature)[..., self.index]


def cam_scores(
    loaded: LoadedModel, tensor: torch.Tensor, cam_input: np.ndarray, index: int, percentile: float = REMOVE_PERCENTILE
) -> dict[str, float | None]:
    """``road_drop`` and ``keep_change`` of one S x S map for class ``index`` on a (1, C, S, S) input."""
    cam = np.nan_to_num(np.asarray(cam_input, dtype=np.float32))
    if cam.shape != tuple(tensor.shape[-2:]):
        cam = cam_to_image(cam, *tensor.shape[-2:])
    if float(cam.max() - cam.min()) < 1e-6:
        return dict.fromkeys(_SCORES)
    targets = [CalibratedTarget(index, loaded.temperature)]
    with torch.inference_mode():  # the shared model is only run forward, never hooked
        road = ROADMostRelevantFirst(percentile)(tensor, _ranks(cam)[None], targets, loaded.model)
        keep = CamMultImageConfidenceChange()(tensor, cam[None], targets, loaded.model)
    return {"road_drop": _finite(-road[0]), "keep_change": _finite(keep[0])}


def _ranks(cam: np.ndarray) -> np.ndarray:
    """The map's order as distinct values in [0, 1), ties broken at random (fixed seed).

    ROAD removes the pixels above a percentile of the map; with ties (the zeros left by ReLU often cover most of
    the film) that percentile is 0 and every pixel would go. Ranks remove exactly the hottest share.
    """
    flat = cam.ravel()
    order = np.lexsort((np.random.default_rng(0).random(flat.size), flat))
    ranks = np.empty(flat.size, dtype=np.float32)
    ranks[order] = np.arange(flat.size, dtype=np.float32) / flat.size
    return ranks.reshape(cam.shape)


def faithfulness(
    loaded: LoadedModel,
    image: XrayImage | np.ndarray,
    cam_input: np.ndarray,
    target: str | int,
    percentile: float = REMOVE_PERCENTILE,
    method: str = DEFAULT_METHOD,
) -> dict[str, Any]:
    """Scores of ``cam_input`` (S x S, or any size: resized) for class ``target`` and of a RandomCAM baseline
    hooked at the same stage as ``method`` (the method that made ``cam_input``).

    Returns ``road_drop``, ``keep_change``, ``random_road_drop``, ``random_keep_change`` and
    ``road_vs_random`` (the method's drop minus the baseline's; > 0: more faithful than random).
    """
    index = target_index(loaded.class_names, target)
    if index is None:
        raise ValueError("faithfulness needs the explained class (name or index), not 'auto'")
    pixels = image.pixels if isinstance(image, XrayImage) else np.asarray(image)
    tensor, _ = model_input(loaded.preprocessing, pixels)
    scores = cam_scores(loaded, tensor, cam_input, index, percentile)
    random_map = explain(loaded, image, random_baseline(method), index).cam_input
    baseline = cam_scores(loaded, tensor, random_map, index, percentile)
    return {
        "target": loaded.class_names[index],
        **scores,
        **{f"random_{k}": v for k, v in baseline.items()},
        "road_vs_random": _difference(scores["road_drop"], baseline["road_drop"]),
    }


def method_faithfulness_report(
    loaded: LoadedModel,
    table: pd.DataFrame,
    methods: Sequence[str] = FAST_METHODS,
    n: int = 100,
    seed: int = 0,
    percentile: float = REMOVE_PERCENTILE,
    progress: bool = True,
) -> dict[str, Any]:
    """Mean scores per method and for RandomCAM on ``n`` images sampled from ``table`` (a ``path`` column).

    The explained class is the predicted one. ``seed`` fixes the sample and ROAD's imputation noise.
    """
    keys = [method_key(m) for m in methods if method_key(m) != BASELINE]
    rows = table if len(table) <= n else table.sample(n=n, random_state=seed)
    per_image: dict[str, list[dict[str, float | None]]] = {key: [] for key in [*keys, BASELINE]}
    skipped: list[str] = []
    torch.manual_seed(seed)
    for path in tqdm(list(rows["path"]), desc="faithfulness", unit="image", disable=not progress):
        try:
            image = read_image(path)
        except XrayInputError as error:
            skipped.append(str(error))
            continue
        tensor, _ = model_input(loaded.preprocessing, image)
        baseline = explain(loaded, image, BASELINE)  # target: the predicted class
        per_image[BASELINE].append(cam_scores(loaded, tensor, baseline.cam_input, baseline.target_index, percentile))
        for key in keys:
            cam = explain(loaded, image, key, baseline.target_index).cam_input
            per_image[key].append(cam_scores(loaded, tensor, cam, baseline.target_index, percentile))
    return {
        "n_images": len(per_image[BASELINE]),
        "skipped": skipped,
        "percentile": percentile,
        "seed": seed,
        "checkpoint_sha256": loaded.sha256,
        "methods": _summarise(per_image),
    }


def faithfulness_markdown(report: dict[str, Any]) -> str:
    """A model-card section: mean ROAD drop per method against RandomCAM."""
    removed = 100 - report["percentile"]
    lines = [
        f"Mean over {report['n_images']} test images; explained class = predicted class. ROAD drop: "
        f"calibrated confidence lost when the hottest {removed:g} % of pixels are imputed away (higher = "
        "more faithful). Keep change: confidence change when only the highlighted region is kept.",
        "",
        "| method | ROAD drop | vs RandomCAM (95 % CI) | beats RandomCAM | keep change |",
        "|---|---|---|---|---|",
    ]
    for key, row in report["methods"].items():
        low, high = row.get("road_vs_random_ci") or (None, None)
        versus = "—" if key == BASELINE else f"{_fmt(row['road_vs_random'])} ({_fmt(low)} to {_fmt(high)})"
        beats = "—" if key == BASELINE else _fmt(row["beats_random"], percent=True)
        lines.append(
            f"| {CAM_METHODS[key].title} | {_fmt(row['road_drop'])} | {versus} | {beats} | {_fmt(row['keep_change'])} |"
        )
    return "\n".join(lines) + "\n"


def _summarise(per_image: dict[str, list[dict[str, float | None]]]) -> dict[str, dict[str, Any]]:
    """Means and SDs per method, plus the paired comparison of ROAD drops with the baseline."""
    baseline = np.array([_nan(s["road_drop"]) for s in per_image[BASELINE]], dtype=float)
    summary = {}
    for key, scores in per_image.items():
        row: dict[str, Any] = {}
        for name in _SCORES:
            values = np.array([_nan(s[name]) for s in scores], dtype=float)
            row.update({name: _mean(values), f"{name}_sd": _sd(values), f"{name}_n": int(np.isfinite(values).sum())})
        if key != BASELINE:
            drops = np.array([_nan(s["road_drop"]) for s in scores], dtype=float)
            paired = drops - baseline
            valid = paired[np.isfinite(paired)]
            half = 1.96 * _sd(valid) / math.sqrt(len(valid)) if len(valid) > 1 else None
            row["road_vs_random"] = _mean(valid)
            row["road_vs_random_ci"] = (
                None if half is None else [row["road_vs_random"] - half, row["road_vs_random"] + half]
            )
            row["beats_random"] = float(np.mean(valid > 0)) if len(valid) else None
        summary[key] = row
    return summary


def _finite(value: Any) -> float | None:
    value = float(value) + 0.0  # no -0.0 in reports
    return value if math.isfinite(value) else None


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _mean(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def _sd(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    return float(values.std(ddof=1)) if len(values) > 1 else None


def _difference(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else first - second


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "undefined"
    return f"{100 * value:.0f} %" if percent else f"{value:+.3f}"


__all__ = [
    "BASELINE",
    "CalibratedTarget",
    "cam_scores",
    "faithfulness",
    "faithfulness_markdown",
    "method_faithfulness_report",
]
