"""The CAM methods by name: which pytorch-grad-cam class builds each map, and which class a map explains.

A new method is one :class:`CamMethod` entry in :data:`CAM_METHODS` (a factory ``(model, target_layers) ->
BaseCAM`` and a title). :func:`method_key` and :func:`target_index` turn what a user types into a key and an
output index, with errors that list the valid choices.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


def _random_cam(model: Any, target_layers: list[Any]) -> Any:
    """RandomCAM with channel weights seeded by the activations: reproducible, varied, no global RNG."""
    from pytorch_grad_cam import RandomCAM

    class _SeededRandomCAM(RandomCAM):
        def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
            rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(activations).tobytes()))
            return rng.uniform(-1, 1, size=grads.shape[:2])

    return _SeededRandomCAM(model, target_layers)


def _ablation_cam(model: Any, target_layers: list[Any]) -> Any:
    from pytorch_grad_cam import AblationCAM
    from pytorch_grad_cam.ablation_layer import AblationLayer

    return AblationCAM(model, target_layers, ablation_layer=AblationLayer())  # the library's default is shared


def _library(name: str) -> Callable[[Any, list[Any]], Any]:
    """pytorch-grad-cam's class ``name``, imported on first use (the table itself stays free of torch)."""

    def build(model: Any, target_layers: list[Any]) -> Any:
        return getattr(importlib.import_module("pytorch_grad_cam"), name)(model, target_layers)

    return build


@dataclass(frozen=True)
class CamMethod:
    """One entry of :data:`CAM_METHODS`: ``factory(model, target_layers)`` builds the library's CAM object."""

    factory: Callable[[Any, list[Any]], Any]  # (model, target layers) -> a pytorch-grad-cam BaseCAM
    title: str
    slow: bool = False  # one forward pass per feature channel: seconds per image on CPU
    class_specific: bool = True  # False: the map ignores the target class (EigenCAM: first principal component)
    baseline: bool = False  # a sanity-check map, not an explanation (hidden from the UI)
    stage: str = "layer4"  # the ResNet stage it hooks (models.networks.CAM_STAGES)


CAM_METHODS: dict[str, CamMethod] = {
    "gradcam": CamMethod(_library("GradCAM"), "Grad-CAM"),  # Selvaraju et al., 2017
    "gradcam++": CamMethod(_library("GradCAMPlusPlus"), "Grad-CAM++"),  # Chattopadhay et al., 2018
    "hirescam": CamMethod(_library("HiResCAM"), "HiResCAM"),  # Draelos & Carin, 2020
    "xgradcam": CamMethod(_library("XGradCAM"), "XGrad-CAM"),  # Fu et al., 2020
    "layercam": CamMethod(_library("LayerCAM"), "LayerCAM"),  # Jiang et al., 2021
    "layercam3": CamMethod(_library("LayerCAM"), "LayerCAM (layer3)", stage="layer3"),
    # The default: on external pneumonia films the largest ROAD margin over RandomCAM and the most energy in the
    # lungs of the fast maps (weights/localisation.json; the model card's table).
    "hirescam3": CamMethod(_library("HiResCAM"), "HiResCAM (layer3)", stage="layer3"),
    "eigencam": CamMethod(_library("EigenCAM"), "Eigen-CAM", class_specific=False),  # Muhammad & Yeasin, 2020
    "scorecam": CamMethod(_library("ScoreCAM"), "Score-CAM", slow=True),  # Wang et al., 2020
    "ablationcam": CamMethod(_ablation_cam, "Ablation-CAM", slow=True),  # Desai & Ramaswamy, 2020
    "randomcam": CamMethod(_random_cam, "Random baseline", baseline=True),
    "randomcam3": CamMethod(_random_cam, "Random baseline (layer3)", baseline=True, stage="layer3"),
}
DEFAULT_METHOD = "hirescam3"
REMOVE_PERCENTILE = 80  # faithfulness: ROAD removes the pixels above this percentile of the map (the hottest 20 %)
FAST_METHODS: tuple[str, ...] = tuple(k for k, m in CAM_METHODS.items() if not (m.slow or m.baseline))
_ALIASES = {"gradcampp": "gradcam++", "gradcamplusplus": "gradcam++", "random": "randomcam"}


def random_baseline(method: str) -> str:
    """The RandomCAM key hooked at the same stage as ``method``: a fair baseline has the same resolution."""
    stage = CAM_METHODS[method_key(method)].stage
    return next(k for k, m in CAM_METHODS.items() if m.baseline and m.stage == stage)


def method_key(name: str) -> str:
    """Canonical key of a CAM method name (case, '-', '_' and spaces ignored); ValueError lists the choices."""
    key = str(name).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    key = _ALIASES.get(key, key)
    if key not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {name!r}; expected one of {', '.join(CAM_METHODS)}")
    return key


def target_index(class_names: tuple[str, ...], target: str | int | None) -> int | None:
    """None/'auto' (the predicted class), a class name or an output index → index or None."""
    if target is None or (isinstance(target, str) and target.strip().lower() in ("", "auto")):
        return None
    if isinstance(target, (int, np.integer)) and 0 <= int(target) < len(class_names):
        return int(target)
    if isinstance(target, str) and target.strip().lower() in class_names:
        return class_names.index(target.strip().lower())
    raise ValueError(f"unknown target class {target!r}; expected 'auto' or one of {', '.join(class_names)}")


__all__ = [
    "CAM_METHODS",
    "DEFAULT_METHOD",
    "REMOVE_PERCENTILE",
    "FAST_METHODS",
    "CamMethod",
    "method_key",
    "random_baseline",
    "target_index",
]
