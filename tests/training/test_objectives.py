"""Partial-label loss and group-balanced draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from xray_core.config import LABELS
from xray_core.training.objectives import balanced_draws, cell_codes, partial_label_loss

PNEUMONIA = LABELS.index("pneumonia")


def test_partial_label_loss_hand_checked() -> None:
    # softmax([0, ln 2, ln 1, ln 1]) = [1/5, 2/5, 1/5, 1/5]: pneumonia = bacterial + viral = 3/5.
    logits = torch.tensor([[0.0, math.log(2.0), 0.0, 0.0]])
    loss = partial_label_loss(logits, torch.tensor([PNEUMONIA]))
    assert loss.item() == pytest.approx(-math.log(3 / 5), abs=1e-6)


def test_partial_label_loss_is_cross_entropy_for_classes() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 4, generator=generator)
    targets = torch.randint(0, 4, (16,), generator=generator)
    for smoothing in (0.0, 0.1):
        expected = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=smoothing)
        assert partial_label_loss(logits, targets, smoothing).item() == pytest.approx(expected.item(), abs=1e-6)


def test_partial_label_loss_does_not_push_bacterial_against_viral() -> None:
    logits = torch.zeros(1, 4, requires_grad=True)
    partial_label_loss(logits, torch.tensor([PNEUMONIA])).backward()
    grad = logits.grad[0]
    assert grad[1] == pytest.approx(grad[2].item())  # bacterial and viral pulled up alike
    assert grad[1] < 0 and grad[0] > 0 and grad[3] > 0


def test_cell_codes_distinct_per_combination() -> None:
    codes = cell_codes(["adult", "adult", "pediatric", "adult"], ["normal", "covid", "normal", "normal"])
    assert codes[0] == codes[3] and len(set(codes.tolist())) == 3


def test_balanced_draws_every_cell_about_equally() -> None:
    # Cells of very different sizes (the corpus: adult normals dwarf pediatric normals).
    sizes = [6000, 1100, 2000, 900, 250]
    cells = torch.cat([torch.full((n,), k) for k, n in enumerate(sizes)])
    draws = balanced_draws(cells, 50_000, torch.Generator().manual_seed(1), min_cell=50)
    observed = torch.bincount(cells[draws], minlength=len(sizes)).numpy()
    assert chisquare(observed).pvalue > 1e-3  # uniform over cells
    assert np.all(np.abs(observed / observed.sum() - 0.2) < 0.02)


def test_balanced_draws_split_each_cell_among_its_sources() -> None:
    # Cell 0: 900 films from one source and 100 from another (RSNA vs NIH normals); cell 1: one source.
    cells = torch.tensor([0] * 1000 + [1] * 500)
    sources = torch.tensor([0] * 900 + [1] * 100 + [0] * 500)
    draws = balanced_draws(cells, 60_000, torch.Generator().manual_seed(3), min_cell=50, sources=sources)
    drawn_cells, drawn_sources = cells[draws], sources[draws]
    assert (drawn_cells == 1).float().mean().item() == pytest.approx(0.5, abs=0.01)
    in_cell_0 = drawn_sources[drawn_cells == 0]
    assert (in_cell_0 == 1).float().mean().item() == pytest.approx(0.5, abs=0.01)  # the rare source: half, not 10 %


def test_balanced_draws_shrink_tiny_sources_within_a_cell() -> None:
    cells = torch.zeros(1010, dtype=torch.long)
    sources = torch.tensor([0] * 1000 + [1] * 10)
    draws = balanced_draws(cells, 60_000, torch.Generator().manual_seed(4), min_cell=50, sources=sources)
    share_tiny = (sources[draws] == 1).float().mean().item()
    assert share_tiny == pytest.approx((10 / 50) / (1 + 10 / 50), abs=0.01)


def test_balanced_draws_shrink_tiny_cells() -> None:
    cells = torch.cat([torch.zeros(1000, dtype=torch.long), torch.ones(10, dtype=torch.long)])
    draws = balanced_draws(cells, 60_000, torch.Generator().manual_seed(2), min_cell=50)
    share_tiny = (cells[draws] == 1).float().mean().item()
    assert share_tiny == pytest.approx((10 / 50) / (1 + 10 / 50), abs=0.01)  # a fifth of a full cell's share
