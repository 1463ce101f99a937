"""The per-age-group head: offsets blended by the age probe, inside ``fc``, restored from the checkpoint's meta."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xray_core.config import CLASS_NAMES
from xray_core.models.age_offsets import AgeOffsetLinear, attach_age_offsets, detach_age_offsets
from xray_core.models.checkpoint import CheckpointError, load_checkpoint, update_meta
from xray_core.models.networks import build_model
from xray_core.models.records import AgeProbe

N = CLASS_NAMES.index("normal")


def _probe(classes=("adult", "pediatric"), d: int = 512, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "classes": list(classes),
        "mean": rng.normal(size=d).tolist(),
        "scale": rng.uniform(0.5, 2.0, size=d).tolist(),
        "weights": (rng.normal(size=d) * 0.05).tolist(),
        "bias": 0.3,
    }


@pytest.mark.parametrize("classes", [("adult", "pediatric"), ("pediatric", "adult")])
def test_folded_line_is_the_probes_pediatric_probability(classes):
    probe = _probe(classes)
    features = np.random.default_rng(1).normal(size=(16, 512))
    typed = AgeProbe.from_dict(probe)
    positive = typed.positive_probability(features)
    expected = positive if classes[1] == "pediatric" else 1.0 - positive
    np.testing.assert_allclose(typed.pediatric_probability(features), expected, rtol=1e-9, atol=1e-12)


def test_probe_without_a_pediatric_group_is_refused():
    with pytest.raises(ValueError, match="pediatric"):
        AgeProbe.from_dict({**_probe(), "classes": ["young", "old"]}).pediatric_line()


def test_head_adds_the_blended_offset_to_the_normal_logit_only():
    model = build_model("resnet18").eval()
    plain = nn.Linear(512, 4)
    plain.load_state_dict(model.fc.state_dict())
    probe = AgeProbe.from_dict(_probe())
    attach_age_offsets(model, probe, {"adult": -0.5, "pediatric": 2.0}, N)
    assert isinstance(model.fc, AgeOffsetLinear) and set(model.fc.state_dict()) == {"weight", "bias"}
    features = torch.randn(8, 512)
    p = probe.pediatric_probability(features.double().numpy())
    expected = plain(features).detach().numpy().astype(np.float64)
    expected[:, N] += -0.5 + 2.5 * p
    np.testing.assert_allclose(model.fc(features).detach().numpy(), expected, atol=1e-4)
    attach_age_offsets(model, probe, {"adult": 0.0, "pediatric": 0.0}, N)  # replaces, never stacks
    torch.testing.assert_close(model.fc(features), plain(features), atol=1e-5, rtol=1e-5)
    detach_age_offsets(model)
    assert type(model.fc) is nn.Linear
    torch.testing.assert_close(model.fc(features), plain(features))


def test_checkpoint_restores_the_head_from_its_metadata(tiny_checkpoint, tmp_path):
    path = tmp_path / "aged.pt"
    path.write_bytes(tiny_checkpoint.read_bytes())
    plain = load_checkpoint(path)
    probe = _probe()
    update_meta(path, age_probe=probe, operating_point={"age_offsets": {"adult": 0.0, "pediatric": 3.0}})
    aged = load_checkpoint(path)
    assert isinstance(aged.model.fc, AgeOffsetLinear)
    batch = torch.rand(2, 1, plain.preprocessing.image_size, plain.preprocessing.image_size)
    with torch.inference_mode():
        diff = (aged.model(batch) - plain.model(batch)).numpy()
    assert np.abs(np.delete(diff, N, axis=1)).max() < 1e-5
    assert (diff[:, N] > 0).all() and (diff[:, N] < 3.0 + 1e-5).all()
    update_meta(path, age_probe=None)
    with pytest.raises(CheckpointError, match="age probe"):
        load_checkpoint(path)
