"""The operating point: the normal-logit offset maximising the worst cell recall, folded into the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xray_core.config import LABELS
from xray_core.models.networks import build_model
from xray_core.models.records import AgeProbe
from xray_core.training.operating_point import (
    LogitSet,
    apply,
    apply_by_age,
    calibrate,
    choose_age_offsets,
    choose_normal_offset,
)

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


def _two_ages(n: int = 30) -> dict[str, LogitSet]:
    """Pediatric normals need the normal logit raised by > 1, adult pneumonias break when it is raised by > 0.5."""
    P = LABELS.index("pneumonia")  # partial label: bacterial or viral
    logits = np.zeros((3 * n, 4))
    logits[:n, B] = 1.0  # pediatric normals, called bacterial unless offset > 1
    logits[n : 2 * n, B] = 3.0  # pediatric bacterial, safe below +3
    logits[2 * n :, B] = 0.5  # adult pneumonias, called normal once offset > 0.5
    labels = np.array([N] * n + [B] * n + [P] * n)
    groups = ["pediatric"] * (2 * n) + ["adult"] * n
    pediatric = np.array([0.99] * (2 * n) + [0.01] * n)
    return {"val": LogitSet(logits, labels, groups, pediatric)}


def test_one_offset_cannot_serve_both_age_groups_but_two_can():
    sets = _two_ages()
    _, single = choose_normal_offset(sets)
    assert single["worst_after"]["recall"] == 0.0
    (adult, pediatric), record = choose_age_offsets(sets)
    assert record["worst_after"]["recall"] == 1.0 and record["age_offsets"] == {"adult": adult, "pediatric": pediatric}
    assert adult < 0.5 and 1.0 < pediatric < 3.0


def test_age_offsets_need_the_probe_output():
    with pytest.raises(ValueError, match="P\\(pediatric\\)"):
        choose_age_offsets({"val": _set(1.0)})


def test_apply_by_age_attaches_the_head_that_gives_the_chosen_logits():
    model = build_model("resnet18", in_channels=1).eval()
    probe = AgeProbe(("adult", "pediatric"), np.zeros(512), np.ones(512), np.zeros(512), 0.0)  # P(pediatric) = 0.5
    sets = _two_ages()
    sets = {"val": sets["val"]._replace(pediatric=np.full(len(sets["val"].labels), 0.5))}
    shifted, record = apply_by_age(model, sets, probe)
    features = torch.randn(3, 512)
    with torch.no_grad():
        plain = torch.nn.functional.linear(features, model.fc.weight, model.fc.bias)
        moved = model.fc(features)
    expected = 0.5 * (record["age_offsets"]["adult"] + record["age_offsets"]["pediatric"])
    torch.testing.assert_close(moved[:, N] - plain[:, N], torch.full((3,), expected), atol=1e-5, rtol=0)
    np.testing.assert_allclose(shifted["val"].logits[:, N], sets["val"].logits[:, N] + expected)
