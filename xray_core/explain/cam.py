"""Class-activation maps a clinician can read: a thin layer over pytorch-grad-cam.

``explain(loaded, image)`` returns an :class:`Explanation`: the map at the original image's resolution
(H x W float32 in [0, 1]) and at the network input (S x S), how strong the evidence behind it is, and the
:class:`~xray_core.inference.predict.Prediction` computed from the same forward pass. The methods by name live in
:mod:`xray_core.explain.methods`; the private model copies that make this thread-safe (the library hooks the
model it is given) in :mod:`xray_core.explain.replicas`.

Strength. The library stretches every map to [0, 1]. ``raw_max``/``raw_mean`` are the method's positive map
before that stretch, at feature-map resolution, in its own units. ``evidence`` is method- and stage-independent:
it is read where the network is linear, at the input of the global average pool (layer4 for every model here),
whatever stage the map hooks. There the target logit minus its bias is exactly the sum over cells of
``w_target . A[:, cell] / cells``; ``evidence`` is the sum of the positive cells divided by the temperature, i.e.
how many calibrated log-odds the regions arguing for the class contribute (at least the logit minus its bias,
whenever that is positive). A layer3 map has no such identity: the head after it is not linear. Labels: ``flat``
when the positive raw map varies by less than ``FLAT_RANGE`` of its peak (or is zero: there is nothing to localise),
else ``strong`` (evidence >= 2, odds x7.4 or more), ``moderate`` (>= 0.5) or ``weak``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from xray_core.explain.methods import (
    CAM_METHODS,
    DEFAULT_METHOD,
    CamMethod,
    method_key,
    target_index,
)
from xray_core.explain.replicas import Replica, borrow_replica
from xray_core.inference import ood
from xray_core.inference.calibration import calibrated_softmax
from xray_core.inference.lungs.crop import model_input
from xray_core.inference.predict import Prediction, build_prediction
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.resize import cam_to_image

FLAT_RANGE = 0.2  # (max - min) / max of the positive raw map below this: the [0, 1] stretch would invent contrast
STRONG_EVIDENCE = 2.0  # calibrated log-odds contributed by the positive map
MODERATE_EVIDENCE = 0.5


@dataclass(eq=False)
class Explanation:
    """A class-activation map and the prediction from the same forward pass.

    ``cam``: H x W float32 in [0, 1] aligned with the original image; ``cam_input``: S x S at the network
    input. ``raw_max``/``raw_mean``: the positive map before stretching (method units, feature resolution).
    ``evidence``: calibrated log-odds from the positive cells of the target logit at the global pool's input.
    ``strength``: strong/moderate/weak/flat.
    With a lung-cropped model ``cam`` is 0 outside ``box`` (the model never saw it).
    """

    cam: np.ndarray
    cam_input: np.ndarray
    method: str
    target: str
    target_index: int
    raw_max: float
    raw_mean: float
    evidence: float
    flat: bool
    strength: str
    prediction: Prediction
    elapsed_ms: float
    notes: list[str] = field(default_factory=list)
    box: tuple[int, int, int, int] | None = None  # the crop the model saw (lung-cropped models); None: whole film

    def summary(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-able."""
        keys = (
            "method",
            "target",
            "target_index",
            "raw_max",
            "raw_mean",
            "evidence",
            "flat",
            "strength",
            "elapsed_ms",
            "notes",
        )
        return {**{k: getattr(self, k) for k in keys}, "prediction": self.prediction.to_dict()}


def explain(
    loaded: LoadedModel, image: XrayImage | np.ndarray, method: str = DEFAULT_METHOD, target: str | int | None = None
) -> Explanation:
    """Explain one image: ``target`` None/'auto' = the predicted class, or a class name / index.

    ``image``: an :class:`XrayImage` or an H x W array (uint8, or float in [0, 1]).
    Thread-safe: the map is computed on a private replica (see :mod:`xray_core.explain.replicas`).
    """
    key = method_key(method)
    wanted = target_index(loaded.class_names, target)
    xray = image if isinstance(image, XrayImage) else XrayImage(np.asarray(image))
    began = time.perf_counter()
    tensor, box = model_input(loaded.preprocessing, xray)
    with borrow_replica(loaded.model, CAM_METHODS[key].stage) as replica:
        cam_input, raw, logits, features, index, evidence = _run(replica, CAM_METHODS[key], tensor, wanted)
    probabilities = calibrated_softmax(logits, loaded.temperature)[0].numpy()
    ood_scores = None if features is None else ood.score(loaded.meta.ood_stats, features)
    cam = cam_to_image(cam_input, xray.height, xray.width, box)
    elapsed = (time.perf_counter() - began) * 1000
    prediction = build_prediction(
        loaded,
        xray,
        logits[0].numpy(),
        probabilities,
        None if ood_scores is None else float(ood_scores[0]),
        elapsed,
        None if features is None else features[0],
    )
    evidence /= loaded.temperature
    flat = is_flat(raw)
    return Explanation(
        cam=cam,
        cam_input=cam_input,
        method=key,
        target=loaded.class_names[index],
        target_index=index,
        raw_max=float(raw.max()),
        raw_mean=float(raw.mean()),
        evidence=round(float(evidence), 4),
        flat=flat,
        strength=strength_label(evidence, flat),
        prediction=prediction,
        elapsed_ms=round(elapsed, 2),
        notes=_notes(key, flat),
        box=box,
    )


def is_flat(raw: np.ndarray) -> bool:
    """Whether a positive raw map (any shape) is zero or varies by less than FLAT_RANGE of its peak."""
    peak = float(np.max(raw))
    return not peak > 1e-12 or (peak - float(np.min(raw))) / peak < FLAT_RANGE


def strength_label(evidence: float, flat: bool) -> str:
    """'flat', 'strong' (evidence >= STRONG_EVIDENCE), 'moderate' (>= MODERATE_EVIDENCE) or 'weak'."""
    if flat:
        return "flat"
    return "strong" if evidence >= STRONG_EVIDENCE else "moderate" if evidence >= MODERATE_EVIDENCE else "weak"


def _notes(key: str, flat: bool) -> list[str]:
    notes = []
    if flat:
        notes.append("near-flat map: the colours stretch tiny differences; no region stands out")
    if not CAM_METHODS[key].class_specific:
        notes.append(f"{CAM_METHODS[key].title} is not class-specific: the same map for every target class")
    if CAM_METHODS[key].baseline:
        notes.append("random baseline for faithfulness checks, not an explanation")
    return notes


def _run(
    replica: Replica, spec: CamMethod, tensor: torch.Tensor, wanted: int | None
) -> tuple[np.ndarray, np.ndarray, torch.Tensor, np.ndarray | None, int, float]:
    """One CAM pass on a private replica: (cam S x S, positive raw map, logits, features, target, evidence)."""
    raw_maps: list[np.ndarray] = []
    cam_input = outputs = None
    targets = None if wanted is None else [ClassifierOutputTarget(wanted)]
    with torch.inference_mode(False), torch.enable_grad():
        with spec.factory(replica.model, replica.target_layers) as cam:
            _record_raw(cam, raw_maps)
            cam_input = cam(input_tensor=tensor, targets=targets)[0]
            outputs = cam.outputs
        if cam_input is None or outputs is None or not raw_maps:  # the library's __exit__ swallows IndexError
            raise RuntimeError(f"{spec.title} failed on this model; try method 'gradcam'")
        index = int(outputs[0].argmax()) if wanted is None else wanted
    evidence = _evidence(replica, index)
    features = replica.features[0].numpy() if replica.features else None
    raw = np.nan_to_num(raw_maps[0][0], nan=0.0, posinf=0.0)
    return np.clip(np.nan_to_num(cam_input), 0, 1).astype(np.float32), raw, outputs.detach(), features, index, evidence


def _record_raw(cam: BaseCAM, sink: list[np.ndarray]) -> None:
    """Keep each map the library computes before its ReLU and min-max stretch (positive part, float32)."""
    compute = cam.get_cam_image

    def recording(*args: Any, **kwargs: Any) -> np.ndarray:
        raw = compute(*args, **kwargs)
        sink.append(np.maximum(np.asarray(raw, dtype=np.float32), 0.0))
        return raw

    cam.get_cam_image = recording


def _evidence(replica: Replica, index: int) -> float:
    """Sum of the positive cells of logit ``index`` at the global pool's input (logit units; module docstring)."""
    head = replica.model.fc
    if not replica.head_maps or not isinstance(head, torch.nn.Linear):
        raise RuntimeError("explain needs a global-average-pool + linear head (avgpool, fc) to weigh the evidence")
    spatial = replica.head_maps[0][0]  # C x h x w
    cells = torch.einsum("c,chw->hw", head.weight[index].detach(), spatial) / (spatial.shape[1] * spatial.shape[2])
    return float(torch.relu(cells).sum())


# CAM_METHODS, DEFAULT_METHOD, FAST_METHODS, CamMethod, method_key and target_index are re-exported: the CLI,
# the dashboard and explain.faithfulness / explain.localisation import them from here.
__all__ = ["Explanation", "explain", "is_flat", "strength_label"]
