"""The checkpoint's typed records: parsed once, written back as the very dict they came from."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from xray_core.config import default_checkpoint
from xray_core.evaluation.risk_coverage import Scored, choose_threshold, choose_thresholds_by_age
from xray_core.models.checkpoint import load_checkpoint, read_payload, save_checkpoint
from xray_core.models.meta import CheckpointMeta
from xray_core.models.records import AgeProbe, InputStats, OperatingPoint, UncertainThreshold
from xray_core.models.signed import payload_sha256


def test_the_shipped_metadata_round_trips_to_the_identical_dict():
    """The SHA-256 covers the metadata: load and save must not change one key or number."""
    stored = read_payload(default_checkpoint())
    meta = CheckpointMeta.from_dict(stored["meta"])
    assert isinstance(meta.operating_point, OperatingPoint) and isinstance(meta.age_probe, AgeProbe)
    assert isinstance(meta.input_stats, InputStats) and isinstance(meta.operating_point.uncertain, UncertainThreshold)
    again = json.loads(json.dumps(meta.to_dict()))
    assert again == stored["meta"]
    assert payload_sha256(stored["state_dict"], again) == stored["sha256"]


def test_save_and_load_keep_the_records(tmp_path):
    loaded = load_checkpoint(default_checkpoint())
    path = tmp_path / "again.pt"
    save_checkpoint(path, loaded.model, loaded.meta)
    meta = torch.load(path, weights_only=True)["meta"]
    original = read_payload(default_checkpoint())["meta"]
    for name in ("operating_point", "age_probe", "input_stats", "ood"):
        assert meta[name] == original[name]
    assert load_checkpoint(path).meta.operating_point == loaded.meta.operating_point


@pytest.mark.parametrize(
    "values",
    [
        {"normal_logit_offset": 0.2},
        {"normal_logit_offset": 0.0, "age_offsets": {}, "uncertain": {"threshold": None, "sets": {}, "rule": "r"}},
        {"age_offsets": {"adult": -1, "pediatric": 2.5}, "worst_after": {"cell": "c", "recall": 0.5}, "x": [1]},
        {"uncertain": {"threshold": 0.9, "by_age": {"adult": 1.0, "pediatric": 0.9}, "reached": {"adult": False}}},
    ],
)
def test_operating_points_of_every_shape_round_trip(values):
    assert OperatingPoint.from_dict(values).to_dict() == values


def test_fitted_uncertain_records_round_trip():
    rng = np.random.default_rng(0)
    films = Scored(rng.random(60) < 0.9, rng.uniform(0.3, 1.0, 60))
    ages = {"val": np.where(np.arange(60) % 2, "adult", "pediatric")}
    for record in (choose_threshold({"val": films}), choose_thresholds_by_age({"val": films}, ages)):
        assert UncertainThreshold.from_dict(record).to_dict() == record


def test_uncertain_threshold_per_group_falls_back_to_the_single_one():
    point = UncertainThreshold(threshold=0.9, by_age={"adult": 1.0, "pediatric": 0.6})
    assert (point.for_group("pediatric"), point.for_group("adult"), point.for_group(None)) == (0.6, 1.0, 0.9)
    assert point.for_group("unknown") == 0.9 and UncertainThreshold(threshold=0.7).for_group("adult") == 0.7


def test_folded_offset_prefers_the_running_total():
    assert OperatingPoint().folded_offset == 0.0
    assert OperatingPoint(normal_logit_offset=0.3).folded_offset == 0.3
    assert OperatingPoint(normal_logit_offset=0.0, normal_logit_offset_total=-0.15).folded_offset == -0.15


def test_meta_parses_plain_records_given_to_replace():
    meta = load_checkpoint(default_checkpoint()).meta.replace(operating_point={"uncertain": {"threshold": 0.5}})
    assert meta.operating_point.uncertain.threshold == 0.5
    assert meta.replace(age_probe={}).age_probe is None
