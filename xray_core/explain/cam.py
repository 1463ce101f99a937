"""Class-activation maps a clinician can read: a thin layer over pytorch-grad-cam.

``explain(loaded, image)`` returns an :class:`Explanation`: the map at the original image's resolution
(H x W float32 in [0, 1]) and at the network input (S x S), how strong the evidence behind it is, and the
:class:`~xray_core.inference.predict.Prediction` computed from the same forward pass.

Thread safety. pytorch-grad-cam registers forward hooks on the model it is given and calls ``model.eval()``;
two CAM objects on one module would append each other's activations, and a concurrent ``predict_batch`` on a
hooked module would feed its batch into the CAM's lists. So the shared model is never hooked: each call
borrows a private deep copy (a *replica*) from a small pool, used by one thread at a time. A lock around the
``with CAM(...)`` block would serialise explanations and still let plain predictions run through the hooks.
Copying ResNet-18 costs ~0.2 s and ~45 MB once per concurrently-used replica (idle ones are kept, at most
``MAX_IDLE_REPLICAS`` per model); the pool, rather than a ``threading.local``, also serves Streamlit, which
runs every script rerun in a new thread. A replica is rebuilt when the shared weights change in place.

Speed. The replica's parameters do not require gradients; a hook turns the target layer's output into a
gradient leaf, so the backward pass stops there (head only) instead of running through the whole network.

Strength. The library stretches every map to [0, 1]. ``raw_max``/``raw_mean`` are the method's positive map
before that stretch, at feature-map resolution, in its own units. ``evidence`` is method-independent: the sum
over cells of the positive Grad-CAM map divided by the temperature. For a global-average-pool + linear head
(every model here) the signed Grad-CAM cells add up exactly to the target logit minus its bias, so
``evidence`` is how many calibrated log-odds the highlighted regions contribute. Labels: ``flat`` when the
positive raw map varies by less than ``FLAT_RANGE`` of its peak (or is zero: there is nothing to localise),
else ``strong`` (evidence >= 2, odds x7.4 or more), ``moderate`` (>= 0.5) or ``weak``.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import torch
from pytorch_grad_cam import (
    AblationCAM,
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    RandomCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.ablation_layer import AblationLayer
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from xray_core.explain.overlay import outline, overlay
from xray_core.inference import ood
from xray_core.inference.calibration import calibrated_softmax
from xray_core.inference.predict import Prediction, build_prediction
from xray_core.io.reader import XrayImage
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.networks import cam_target_layers
from xray_core.models.preprocessing import cam_to_image, to_tensor

FLAT_RANGE = 0.2  # (max - min) / max of the positive raw map below this: the [0, 1] stretch would invent contrast
STRONG_EVIDENCE = 2.0  # calibrated log-odds contributed by the positive map
MODERATE_EVIDENCE = 0.5
MAX_IDLE_REPLICAS = 4  # idle model copies kept per shared model


class _RandomCAM(RandomCAM):
    """RandomCAM with channel weights seeded by the activations: reproducible, varied, no global RNG."""

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(activations).tobytes()))
        return rng.uniform(-1, 1, size=grads.shape[:2])


def _ablation_cam(model: nn.Module, target_layers: list[nn.Module]) -> BaseCAM:
    return AblationCAM(model, target_layers, ablation_layer=AblationLayer())  # the library's default is shared


@dataclass(frozen=True)
class CamMethod:
    """One entry of :data:`CAM_METHODS`: ``factory(model, target_layers)`` builds the library's CAM object."""

    factory: Callable[[nn.Module, list[nn.Module]], BaseCAM]
    title: str
    slow: bool = False  # one forward pass per feature channel: seconds per image on CPU
    class_specific: bool = True  # False: the map ignores the target class (EigenCAM: first principal component)
    baseline: bool = False  # a sanity-check map, not an explanation (hidden from the UI)


CAM_METHODS: dict[str, CamMethod] = {
    "gradcam": CamMethod(GradCAM, "Grad-CAM"),  # Selvaraju et al., 2017
    "gradcam++": CamMethod(GradCAMPlusPlus, "Grad-CAM++"),  # Chattopadhay et al., 2018
    "hirescam": CamMethod(HiResCAM, "HiResCAM"),  # Draelos & Carin, 2020
    "xgradcam": CamMethod(XGradCAM, "XGrad-CAM"),  # Fu et al., 2020
    "layercam": CamMethod(LayerCAM, "LayerCAM"),  # Jiang et al., 2021
    "eigencam": CamMethod(EigenCAM, "Eigen-CAM", class_specific=False),  # Muhammad & Yeasin, 2020
    "scorecam": CamMethod(ScoreCAM, "Score-CAM", slow=True),  # Wang et al., 2020
    "ablationcam": CamMethod(_ablation_cam, "Ablation-CAM", slow=True),  # Desai & Ramaswamy, 2020
    "randomcam": CamMethod(_RandomCAM, "Random baseline", baseline=True),
}
DEFAULT_METHOD = "gradcam"
FAST_METHODS: tuple[str, ...] = tuple(k for k, m in CAM_METHODS.items() if not (m.slow or m.baseline))
_ALIASES = {"gradcampp": "gradcam++", "gradcamplusplus": "gradcam++", "random": "randomcam"}


@dataclass(eq=False)
class Explanation:
    """A class-activation map and the prediction from the same forward pass.

    ``cam``: H x W float32 in [0, 1] aligned with the original image; ``cam_input``: S x S at the network
    input. ``raw_max``/``raw_mean``: the positive map before stretching (method units, feature resolution).
    ``evidence``: calibrated log-odds from the positive Grad-CAM cells. ``strength``: strong/moderate/weak/flat.
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

    def summary(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-able."""
        keys = ("method", "target", "target_index", "raw_max", "raw_mean", "evidence", "flat", "strength",
                "elapsed_ms", "notes")
        return {**{k: getattr(self, k) for k in keys}, "prediction": self.prediction.to_dict()}


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


def explain(loaded: LoadedModel, image: XrayImage | np.ndarray, method: str = DEFAULT_METHOD,
            target: str | int | None = None) -> Explanation:
    """Explain one image: ``target`` None/'auto' = the predicted class, or a class name / index.

    ``image``: an :class:`XrayImage` or an H x W array (uint8, or float in [0, 1]).
    Thread-safe: see the module docstring.
    """
    key = method_key(method)
    wanted = target_index(loaded.class_names, target)
    xray = image if isinstance(image, XrayImage) else XrayImage(np.asarray(image))
    began = time.perf_counter()
    tensor = to_tensor(xray.pixels, loaded.preprocessing)[None]
    with _borrow(loaded.model) as replica:
        cam_input, raw, logits, features, index, evidence = _run(replica, CAM_METHODS[key], tensor, wanted)
    probabilities = calibrated_softmax(logits, loaded.temperature)[0].numpy()
    ood_scores = None if features is None else ood.score(loaded.meta.ood, features)
    cam = cam_to_image(cam_input, xray.height, xray.width)
    elapsed = (time.perf_counter() - began) * 1000
    prediction = build_prediction(loaded, xray, logits[0].numpy(), probabilities,
                                  None if ood_scores is None else float(ood_scores[0]), elapsed)
    evidence /= loaded.temperature
    flat = is_flat(raw)
    return Explanation(cam=cam, cam_input=cam_input, method=key, target=loaded.class_names[index],
                       target_index=index, raw_max=float(raw.max()), raw_mean=float(raw.mean()),
                       evidence=round(float(evidence), 4), flat=flat, strength=strength_label(evidence, flat),
                       prediction=prediction, elapsed_ms=round(elapsed, 2), notes=_notes(key, flat))


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


def _run(replica: _Replica, spec: CamMethod, tensor: torch.Tensor, wanted: int | None
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
        evidence = _evidence(replica.leaves[0], outputs, index)
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


def _evidence(activations: torch.Tensor, logits: torch.Tensor, index: int) -> float:
    """Sum of the positive Grad-CAM cells of ``index`` (logit units); see the module docstring."""
    (grads,) = torch.autograd.grad(logits[0, index], activations, retain_graph=False)
    weights = grads.mean(dim=tuple(range(2, grads.ndim)), keepdim=True)
    return float(torch.relu((weights * activations).sum(dim=1)).sum().detach())


@dataclass(eq=False)
class _Replica:
    """A private copy of a shared model, hooked to record the target layer's output and the head's input."""

    model: nn.Module
    target_layers: list[nn.Module]
    version: int
    leaves: list[torch.Tensor] = field(default_factory=list)  # first target-layer output of the current pass
    features: list[torch.Tensor] = field(default_factory=list)  # first penultimate features of the pass

    def reset(self) -> None:
        self.leaves.clear()
        self.features.clear()


def _weights_version(model: nn.Module) -> int:
    """Grows whenever a parameter or buffer is modified in place (e.g. load_state_dict, a training step)."""
    return sum(t._version for t in chain(model.parameters(), model.buffers()))


def _make_replica(model: nn.Module, version: int) -> _Replica:
    clone = copy.deepcopy(model).eval().requires_grad_(False)
    layers = cam_target_layers(clone)
    if len(layers) != 1:
        raise ValueError(f"explain expects one CAM target layer, cam_target_layers gave {len(layers)}")
    replica = _Replica(clone, layers, version)

    def leaf(module: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        output = output.detach().requires_grad_(True)  # gradients stop here: only the head is back-propagated
        if not replica.leaves:
            replica.leaves.append(output)
        return output

    def head_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if not replica.features:
            replica.features.append(args[0].detach())

    layers[0].register_forward_hook(leaf)
    if isinstance(getattr(clone, "fc", None), nn.Module):
        clone.fc.register_forward_pre_hook(head_input)
    return replica


_POOL_LOCK = threading.Lock()
_POOL: "weakref.WeakKeyDictionary[nn.Module, list[_Replica]]" = weakref.WeakKeyDictionary()


@contextmanager
def _borrow(model: nn.Module) -> Iterator[_Replica]:
    """Lend a replica of ``model`` to this call only; it returns to the pool unless the call failed."""
    version = _weights_version(model)
    with _POOL_LOCK:
        idle = _POOL.setdefault(model, [])
        replica = idle.pop() if idle else None
    if replica is None or replica.version != version:
        replica = _make_replica(model, version)
    replica.reset()
    yield replica  # on an exception the replica is dropped: a failing method may have left it modified
    replica.reset()
    with _POOL_LOCK:
        idle = _POOL.setdefault(model, [])
        if len(idle) < MAX_IDLE_REPLICAS:
            idle.append(replica)


__all__ = ["CAM_METHODS", "DEFAULT_METHOD", "FAST_METHODS", "CamMethod", "Explanation", "explain", "is_flat",
           "method_key", "outline", "overlay", "strength_label", "target_index"]
