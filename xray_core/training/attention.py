"""Lung-attention training: hold the shipped heatmap to the lungs while the classifier learns.

The dashboard explains a call with HiResCAM on ``layer3`` (:data:`xray_core.explain.methods.DEFAULT_METHOD`):
the class score's gradient times the activations, summed over channels, negatives dropped. That map is
differentiable, so training can penalise the share of it that falls outside the film's lung mask, the
"right for the right reasons" idea (Ross et al., IJCAI 2017; GradMask, Simpson et al. 2019, on chest films)
applied to the very map a clinician sees. A model that leans on text markers, the abdomen or the film's
corners for its call pays for it in the loss, which is the shortcut this corpus invites (age and hospital
show outside the lungs as much as inside).

:func:`outside_share` is that penalty for one batch; the loop adds ``lung_attention x`` its mean to the loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xray_core.training.objectives import allowed_classes

_EPS = 1e-6


def target_scores(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) the logit each film's map explains: its labelled class, or for a partial label (``pneumonia``)
    the allowed member the model currently favours (the class the dashboard would show)."""
    return logits.masked_fill(~allowed_classes(labels, logits.device), float("-inf")).max(dim=1).values


def hirescam(activations: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """(N, h, w) HiResCAM of ``score`` (N,) on ``activations`` (N, C, h, w), kept differentiable."""
    (gradient,) = torch.autograd.grad(score.sum(), activations, create_graph=True)
    return (gradient * activations).sum(dim=1).relu()


def outside_share(maps: torch.Tensor, lungs: torch.Tensor) -> torch.Tensor:
    """(N,) share of each map's energy outside the lungs, after bilinear upsampling to the lungs' S x S (as the
    display does). ``maps`` (N, h, w) >= 0; ``lungs`` (N, S, S) in [0, 1]. An all-zero map scores 0."""
    up = F.interpolate(maps[:, None], size=lungs.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    total = up.sum(dim=(1, 2))
    outside = (up * (1.0 - lungs)).sum(dim=(1, 2))
    return outside / (total + _EPS * total.detach().max().clamp(min=1.0))


class LayerTap:
    """Keeps the output of one stage (e.g. ``layer3``) of the model's last forward pass."""

    def __init__(self, module: nn.Module) -> None:
        self.output: torch.Tensor | None = None
        self._handle = module.register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, inputs, output: torch.Tensor) -> None:
        self.output = output

    def remove(self) -> None:
        self._handle.remove()


def lung_attention_step(
    net: nn.Module, tap: LayerTap, inputs: torch.Tensor, labels: torch.Tensor, lungs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of ``net`` on ``inputs`` and the (N,) outside-lung share of each film's HiResCAM at the tapped stage."""
    logits = net(inputs)
    if tap.output is None:
        raise RuntimeError("the tapped stage did not run in the forward pass")
    maps = hirescam(tap.output, target_scores(logits, labels))
    return logits, outside_share(maps, lungs)


__all__ = ["LayerTap", "hirescam", "lung_attention_step", "outside_share", "target_scores"]
