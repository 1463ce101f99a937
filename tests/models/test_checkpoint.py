import json

import pytest
import torch

from xray_core.config import CLASS_NAMES, Preprocessing
from xray_core.models.checkpoint import CheckpointError, load_checkpoint, read_payload, save_checkpoint, update_meta
from xray_core.models.meta import CheckpointMeta
from xray_core.models.networks import build_model
from xray_core.models.signed import weights_sha256


def _save(path, **extra):
    model = build_model("resnet18")
    meta = {"arch": "resnet18", "preprocessing": Preprocessing(image_size=64).to_dict(), "trained": True, **extra}
    return model, save_checkpoint(path, model, meta)


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    path = tmp_path / "m.pt"
    model, sha = _save(path, metrics={"val": {"macro_auc": 0.9}}, train_config={"epochs": 3})
    payload = torch.load(path, weights_only=True)  # plain data: loads without unpickling code
    assert payload["sha256"] == sha and payload["format_version"] == 2
    loaded = load_checkpoint(path)
    assert loaded.class_names == CLASS_NAMES and loaded.arch == "resnet18" and loaded.sha256 == sha
    assert loaded.preprocessing.image_size == 64 and not loaded.model.training
    assert loaded.meta.metrics["val"]["macro_auc"] == 0.9 and "torch" in loaded.meta.libraries
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)
    assert CheckpointMeta.from_dict(json.loads(json.dumps(loaded.meta.to_dict()))) == loaded.meta


def test_tampered_weights_are_refused(tmp_path):
    path = tmp_path / "m.pt"
    _save(path)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["fc.bias"][0] += 1.0
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


def test_corrupt_foreign_and_missing_files_are_refused(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    _save(corrupt)
    data = corrupt.read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save(build_model("resnet18").state_dict(), foreign)
    with pytest.raises(CheckpointError, match="not an xray_core checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_update_meta_re_signs_because_the_hash_covers_the_metadata(tmp_path):
    path = tmp_path / "m.pt"
    _, sha = _save(path)
    new_sha = update_meta(path, temperature=1.7)
    loaded = load_checkpoint(path)
    assert loaded.temperature == 1.7 and loaded.sha256 == new_sha != sha
    assert read_payload(path)["meta"]["trained"] is True


def test_changed_metadata_is_refused(tmp_path):
    """The temperature and refusal thresholds are part of what a prediction depends on: covered by the hash."""
    path = tmp_path / "m.pt"
    _save(path)
    payload = torch.load(path, weights_only=True)
    payload["meta"]["temperature"] = 0.1
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


def test_format_1_checkpoints_still_load(tmp_path):
    path = tmp_path / "old.pt"
    model = build_model("resnet18")
    state = model.state_dict()
    meta = {"arch": "resnet18", "preprocessing": {"image_size": 64}, "calibration": {"temperature": 0.8}}
    torch.save(
        {
            "format": "xray-core-checkpoint",
            "format_version": 1,
            "meta": meta,
            "state_dict": state,
            "sha256": weights_sha256(state),
        },
        path,
    )
    loaded = load_checkpoint(path)
    assert loaded.temperature == 0.8 and loaded.preprocessing.image_size == 64


def test_meta_must_be_plain_data(tmp_path):
    with pytest.raises(TypeError):
        save_checkpoint(
            tmp_path / "m.pt", build_model("resnet18"), {"arch": "resnet18", "preprocessing": {}, "bad": object()}
        )
