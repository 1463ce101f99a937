"""A normal-logit offset that depends on how pediatric a film looks: the per-age-group operating point.

One scalar on the normal logit cannot serve both age groups: moving it lifts pediatric normal recall and costs
adult pneumonia recall, and back. The checkpoint's age probe (a linear probe on the penultimate features, see
``xray_core.inference.age``) gives P(pediatric); the head adds

    offset(x) = adult + (pediatric - adult) * P(pediatric | x)

to the normal logit. It lives inside the network's ``fc`` so every path that reads logits (predict, Grad-CAM,
faithfulness, ONNX export, evaluation) sees the same model. It is an ``nn.Linear`` subclass with non-persistent
buffers: the state dict keeps its plain ``fc.weight``/``fc.bias`` keys, and the offsets come back from the
checkpoint's metadata (``OperatingPoint.age_offsets``) on load.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xray_core.models.records import PEDIATRIC, AgeProbe


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


def attach_age_offsets(model: nn.Module, probe: AgeProbe, offsets: dict[str, float], index: int) -> nn.Module:
    """Replace ``model.fc`` (in place) by an :class:`AgeOffsetLinear` on output ``index``; returns ``model``.

    ``offsets``: {"adult": a, "pediatric": p}. Attaching twice replaces the first head, never stacks it.
    """
    linear = model.fc  # a plain head, or an earlier AgeOffsetLinear: its state dict is only weight and bias
    direction, intercept = probe.pediatric_line()
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


__all__ = [
    "AgeOffsetLinear",
    "attach_age_offsets",
    "detach_age_offsets",
]
