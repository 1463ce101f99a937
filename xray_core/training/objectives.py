"""Training objectives that work against the corpus's shortcuts.

* :func:`partial_label_loss`: a film labelled ``pneumonia`` (bacterial or viral, type unknown) is trained
  with ``-log(p_bacterial + p_viral)``, so it teaches "pneumonia, not normal, not COVID-19" without
  pretending to know the type. For a class label the loss is ordinary cross-entropy.
* :func:`balanced_draws`: draws balanced over cells (age group x label), so that among children "normal"
  is as common as pneumonia and age no longer predicts the class (balancing by class alone leaves
  pediatric normals at about 4 % of draws).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from xray_core.config import label_members

_MEMBERS = torch.from_numpy(label_members())


def allowed_classes(targets: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """(N, K) bool: the classes each target label allows (one for a class label, its members for a partial one)."""
    return _MEMBERS.to(device)[targets]


def partial_label_loss(logits: torch.Tensor, targets: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Mean of ``-log(sum of the allowed classes' probabilities)`` over the batch.

    ``logits`` (N, K) float; ``targets`` (N,) int64 indices into :data:`LABELS`. ``smoothing`` mixes in
    ``-mean_k log p_k`` with that weight, exactly as ``nn.CrossEntropyLoss(label_smoothing=...)`` does.
    """
    log_prob = logits.float().log_softmax(dim=1)
    allowed = allowed_classes(targets, logits.device)
    nll = -torch.logsumexp(log_prob.masked_fill(~allowed, float("-inf")), dim=1)
    if smoothing:
        nll = (1.0 - smoothing) * nll - smoothing * log_prob.mean(dim=1)
    return nll.mean()


def cell_codes(*columns: Sequence[str]) -> np.ndarray:
    """One integer per row for each distinct combination of the given columns (e.g. age group, label)."""
    keys = list(zip(*columns))
    lookup = {key: code for code, key in enumerate(sorted(set(keys)))}
    return np.asarray([lookup[key] for key in keys], dtype=np.int64)


def _shares(codes: torch.Tensor, min_cell: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(share, size) per code: 1 for a code with at least ``min_cell`` members, ``size / min_cell`` below."""
    sizes = torch.bincount(codes).float()
    return sizes.clamp(max=float(min_cell)) / float(min_cell), sizes.clamp(min=1.0)


def balanced_draws(
    cells: torch.Tensor,
    count: int,
    generator: torch.Generator,
    min_cell: int = 50,
    sources: torch.Tensor | None = None,
) -> torch.Tensor:
    """``count`` indices drawn with replacement so that every cell is drawn about equally often.

    A cell with fewer than ``min_cell`` members gets a share in proportion to its size (``size / min_cell``
    of a full cell), so a handful of films is not replayed thousands of times. ``cells`` (N,) int64.
    With ``sources`` (N,) int64, each cell's share is split among its sources by the same rule, so a source
    that is rare within a cell (NIH normals among adult normals) is drawn as often as a common one: a
    source's look then no longer tells the label.
    """
    cell_share, cell_size = _shares(cells, min_cell)
    if sources is None:
        weights = (cell_share / cell_size)[cells]
    else:
        pairs = torch.from_numpy(cell_codes(cells.tolist(), sources.tolist()))
        pair_share, pair_size = _shares(pairs, min_cell)
        pair_cell = torch.zeros(len(pair_share), dtype=torch.int64).index_put_((pairs,), cells)
        within = torch.zeros(len(cell_share)).index_add_(0, pair_cell, pair_share)
        weights = cell_share[cells] * pair_share[pairs] / within[cells] / pair_size[pairs]
    return torch.multinomial(weights, count, replacement=True, generator=generator)


__all__ = ["allowed_classes", "balanced_draws", "cell_codes", "partial_label_loss"]
