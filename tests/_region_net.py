"""A hand-built network with a known answer, for tests of heatmaps and their faithfulness.

Class 1's logit is ``gain`` times the mean of the film's top-left quadrant and every other logit is 0, so a
faithful map of class 1 lights that quadrant and removing it moves the logit by a computable amount.
"""

from __future__ import annotations

import torch
from torch import nn

from xray_core.config import Preprocessing
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.meta import CheckpointMeta


class _MaskSplit(nn.Module):
    """Two channels: the pooled image inside ``mask`` and outside it."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x * self.mask, x * (1 - self.mask)], dim=1)


class RegionNet(nn.Module):
    """Class 1's logit is ``gain`` x the mean of the top-left quadrant (8 x 8 cells); other logits are 0."""

    def __init__(self, size: int = 64, gain: float = 20.0) -> None:
        super().__init__()
        mask = torch.zeros(1, 1, 8, 8)
        mask[..., :4, :4] = 1
        self.pool = nn.AdaptiveAvgPool2d(8)
        self.layer3 = nn.Sequential(nn.Identity())  # a stage for layer3 methods: the pooled image itself
        self.layer4 = nn.Sequential(_MaskSplit(mask))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 4)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.weight[1, 0] = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.layer4(self.layer3(self.pool(x)))), 1))


def region_loaded(gain: float = 20.0) -> LoadedModel:
    meta = CheckpointMeta(arch="regionnet", preprocessing=Preprocessing(image_size=64), trained=True)
    return LoadedModel(model=RegionNet(gain=gain).eval(), meta=meta, sha256="")
