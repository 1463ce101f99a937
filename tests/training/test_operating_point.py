"""The operating point: the normal-logit offset maximising the worst cell recall, folded into the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xray_core.config import LABELS
from xray_core.models.networks import build_model
from xray_core.training.operating_point import LogitSet, apply, calibrate, choose_normal_offset

N, B = LABELS.index("normal"), LABELS.index("bacterial")


def _set(normal_margin: float, n: int = 40) -> LogitSet:
    """Healthy children whose normal logit trails bacterial by ``normal_margin``; sick ones far behind."""
    logits = np.zeros((2 * n, 4))
    logits[:n, N], logits[:n, B] = 0.0, normal_margin  # normals: called bacterial unless offset > margin
    logits[n:, N], logits[n:, B] = 0.0, 3.0  # pneumonias: bacterial by 3
    labels = np.array([N] * n + [B] * n)
    return LogitSet(logits, labels, ["pediatric"] * (2 * n))


def test_offset_moves_the_boundary_just_enough():
    offset, record = choose_normal_offset({"external": _set(1.0)})
    assert 1.0 <= offset < 3.0  # normals recovered (ties go to normal, the first class), pneumonias kept
    assert record["worst_before"]["recall"] == 0.0 and record["worst_after"]["recall"] == 1.0


def test_no_offset_when_nothing_is_wrong():
    offset, _ = choose_normal_offset({"val": _set(-1.0)})  # normals already called normal
    assert offset == pytest.approx(0.0)


def test_offset_is_folded_into_the_final_bias_and_calibration_follows():
    model = build_model("resnet18", in_channels=1).eval()
    before = model.fc.bias.detach().clone()
    sets, record = apply(model, {"external": _set(1.0)})
    after = model.fc.bias.detach()
    assert (after[N] - before[N]).item() == pytest.approx(record["normal_logit_offset"], abs=1e-6)
    torch.testing.assert_close(after[1:], before[1:])
    temperature, report = calibrate(sets)
    assert temperature > 0 and report["external_after"]["ece"] <= report["external_before"]["ece"] + 1e-9
