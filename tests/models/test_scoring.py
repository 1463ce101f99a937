"""Both engines satisfy the one ScoringModel protocol that predict, refusal, audit and folder scoring read."""

from __future__ import annotations

import typing

from xray_core.inference.onnx.engine import OnnxModel
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.scoring import ScoringModel


def test_the_torch_model_and_the_onnx_engine_are_scoring_models(loaded):
    onnx = OnnxModel(session=None, meta=loaded.meta, sha256=loaded.sha256, path=loaded.path)
    for model in (loaded, onnx):
        assert isinstance(model, ScoringModel)
        assert (model.class_names, model.temperature, model.version) == (
            loaded.meta.class_names,
            loaded.meta.temperature,
            loaded.meta.version,
        )
        assert model.identity()["sha256"] == loaded.sha256


def test_every_member_of_the_protocol_is_declared_by_both_classes():
    members = set(typing.get_type_hints(ScoringModel)) | {
        name for name, value in vars(ScoringModel).items() if isinstance(value, property) or callable(value)
    }
    members -= {name for name in members if name.startswith("_")}
    assert {"meta", "sha256", "path", "class_names", "temperature", "identity"} <= members
    for cls in (LoadedModel, OnnxModel):
        missing = [m for m in members if not hasattr(cls, m) and m not in cls.__dataclass_fields__]
        assert not missing, f"{cls.__name__} lacks {missing}"


def test_a_model_missing_a_member_is_not_one():
    class Partial:
        meta, sha256 = None, ""

    assert not isinstance(Partial(), ScoringModel)
