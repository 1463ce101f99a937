"""A normal-logit offset that depends on how pediatric a film looks: the per-age-group operating point.

One scalar on the normal logit cannot serve both age groups: moving it lifts pediatric normal recall and costs
adult pneumonia recall, and back. The checkpoint's age probe (a linear probe on the penultimate features, see
``xray_core.inference.age``) gives P(pediatric); the head adds

    offset(x) = adult + (pediatric - adult) * P(pediatric | x)

to the normal logit. It lives inside the network's ``fc`` so every path that reads logits (predict, Grad-CAM,
faithfulness, ONNX export, evaluation) sees the same model. It is an ``nn.Linear`` subclass with non-persistent
buffers: the state dict keeps its plain ``fc.weight``/``fc.bias`` keys, and the offsets come back from the
checkpoint's metadata (``operating_point['age_offsets']``) on load.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

PEDIATRIC = "pediatric"


class AgeOffsetLinear(nn.Linear):
    """``nn.Linear`` plus ``adult + (pediatric - adult) * sigmoid(x . direction + intercept)`` on one output."""

    def __init__(
        self, linear: nn.Linear, direction: np.ndarray, intercept: float, offsets: tuple[float, float], index: int
    ) -> None:
        super().__init__(linear.in_features, linear.out_features, bias=linear.bias is not None)
        self.load_state_dict(linear.state_dict())
        self.register_buffer("direction", torch.as_tensor(direction, dtype=torch.float32), persistent=False)
        self.register_buffer("intercept", torch.tensor(float(intercept)), persistent=False)
        self.register_buffer("onehot", torch.eye(linear.out_features)[index], persistent=False)
        self.offsets = (float(offsets[0]), float(offsets[1]))

    def pediatric_probability(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(features @ self.direction + self.intercept)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        adult, pediatric = self.offsets
        shift = adult + (pediatric - adult) * self.pediatric_probability(features)
        return super().forward(features) + shift[:, None] * self.onehot


def probe_line(probe: dict[str, Any]) -> tuple[np.ndarray, float]:
    """(direction, intercept) of P(pediatric) = sigmoid(x . direction + intercept) from a stored age probe.

    The probe standardises first ((x - mean) / scale); folding that in gives one dot product. When the probe's
    positive class is adult, the line is negated so it always speaks of P(pediatric).
    """
    classes = list(probe["classes"])
    if PEDIATRIC not in classes or len(classes) != 2:
        raise ValueError(f"the age probe must separate 'pediatric' from one other group, got {classes}")
    weights = np.asarray(probe["weights"], np.float64) / np.asarray(probe["scale"], np.float64)
    intercept = float(probe["bias"]) - float(np.asarray(probe["mean"], np.float64) @ weights)
    sign = 1.0 if classes[1] == PEDIATRIC else -1.0
    return sign * weights, sign * intercept


def attach_age_offsets(model: nn.Module, probe: dict[str, Any], offsets: dict[str, float], index: int) -> nn.Module:
    """Replace ``model.fc`` (in place) by an :class:`AgeOffsetLinear` on output ``index``; returns ``model``.

    ``offsets``: {"adult": a, "pediatric": p}. Attaching twice replaces the first head, never stacks it.
    """
    linear = model.fc  # a plain head, or an earlier AgeOffsetLinear: its state dict is only weight and bias
    direction, intercept = probe_line(probe)
    pair = (float(offsets["adult"]), float(offsets[PEDIATRIC]))
    model.fc = AgeOffsetLinear(linear, direction, intercept, pair, index).to(linear.weight.device)
    return model


def detach_age_offsets(model: nn.Module) -> nn.Module:
    """Put a plain ``nn.Linear`` back as ``model.fc`` (in place) when it carries age offsets; returns ``model``."""
    if isinstance(model.fc, AgeOffsetLinear):
        head = model.fc
        plain = nn.Linear(head.in_features, head.out_features, bias=head.bias is not None)
        plain.load_state_dict(head.state_dict())
        model.fc = plain.to(head.weight.device)
    return model


def pediatric_probability(probe: dict[str, Any], features: np.ndarray) -> np.ndarray:
    """(N,) P(pediatric) of (N, D) penultimate features: the number the head blends its offsets with."""
    direction, intercept = probe_line(probe)
    z = np.asarray(features, np.float64) @ direction + intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def age_offsets_of(operating_point: dict[str, Any] | None) -> dict[str, float] | None:
    """The checkpoint's per-age-group offsets ({"adult", "pediatric"}), or None when it has a single one."""
    record = (operating_point or {}).get("age_offsets")
    return None if not record else {"adult": float(record["adult"]), PEDIATRIC: float(record[PEDIATRIC])}


__all__ = [
    "AgeOffsetLinear",
    "age_offsets_of",
    "attach_age_offsets",
    "detach_age_offsets",
    "pediatric_probability",
    "probe_line",
]
