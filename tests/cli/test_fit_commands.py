"""fit-uncertain and fit-age-probe write re-signed checkpoints; predict --json then carries the flag and estimate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _factories import png_bytes

from xray_core.cli.main import main
from xray_core.models.checkpoint import load_checkpoint, update_meta


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def checkpoint(tiny_checkpoint, tmp_path):
    path = tmp_path / "copy.pt"
    shutil.copy(tiny_checkpoint, path)
    return path


@pytest.fixture()
def film(tmp_path):
    path = tmp_path / "film.png"
    path.write_bytes(png_bytes(np.random.default_rng(0).integers(0, 255, (80, 80)).astype(np.uint8)))
    return path


def _predict(capsys, checkpoint, film) -> dict:
    capsys.readouterr()
    assert main(["predict", str(film), "--checkpoint", str(checkpoint), "--json"]) == 0
    return json.loads(capsys.readouterr().out)[0]


def test_predict_json_uncertain_exactly_below_the_stored_threshold(capsys, checkpoint, film):
    row = _predict(capsys, checkpoint, film)
    assert row["uncertain"] is False and "low_confidence" in row and row["age_group_estimate"] is None
    top = row["probabilities"][row["label"]]
    update_meta(checkpoint, operating_point={"uncertain": {"threshold": top}})
    assert _predict(capsys, checkpoint, film)["uncertain"] is False  # at the threshold: kept
    update_meta(checkpoint, operating_point={"uncertain": {"threshold": float(np.nextafter(top, 1))}})
    flagged = _predict(capsys, checkpoint, film)
    assert flagged["uncertain"] is True and "uncertain" in [d["code"] for d in flagged["decisions"]]


def test_predict_json_age_group_estimate_and_support_warning(capsys, checkpoint, film):
    probe = {"classes": ["adult", "pediatric"], "mean": [0.0] * 512, "scale": [1.0] * 512, "weights": [0.0] * 512}
    labels = ("normal", "bacterial", "viral", "covid")
    no_children = {"adult": dict.fromkeys(labels, 100), "pediatric": dict.fromkeys(labels, 0)}
    update_meta(checkpoint, age_probe={**probe, "bias": 3.0}, data_summary={"age_group_class_counts": no_children})
    row = _predict(capsys, checkpoint, film)
    assert row["age_group_estimate"] == {"group": "pediatric", "probability": round(1 / (1 + np.exp(-3.0)), 4)}
    assert "age_support" in [d["code"] for d in row["decisions"]]
    update_meta(checkpoint, age_probe={**probe, "bias": -3.0})
    row = _predict(capsys, checkpoint, film)
    assert row["age_group_estimate"]["group"] == "adult"
    assert "age_support" not in [d["code"] for d in row["decisions"]]


def test_fit_uncertain_stores_the_threshold_and_keeps_the_operating_point(capsys, checkpoint, tiny_dataset):
    update_meta(checkpoint, operating_point={"normal_logit_offset": 0.25})
    before = load_checkpoint(checkpoint).sha256
    assert main(["fit-uncertain", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset), "--target", "0"]) == 0
    printed = json.loads(capsys.readouterr().out)
    loaded = load_checkpoint(checkpoint)  # the hash covers the new metadata
    assert loaded.sha256 == printed["sha256"] != before
    point = loaded.meta.operating_point
    assert point.normal_logit_offset == 0.25 and point.uncertain.threshold == 0.25  # target 0: the lowest
    assert point.uncertain.detail["fitted_on"] == "val" and point.uncertain.sets["val"]["coverage"] == 1.0


def test_fit_uncertain_by_age_stores_one_threshold_per_estimated_group(capsys, checkpoint, tiny_dataset, tmp_path):
    assert main(["fit-uncertain", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset), "--by-age"]) == 2
    assert "fit-age-probe" in capsys.readouterr().err  # needs the probe first
    probe = {"classes": ["adult", "pediatric"], "mean": [0.0] * 512, "scale": [1.0] * 512, "weights": [0.0] * 512}
    update_meta(checkpoint, age_probe={**probe, "bias": -3.0})  # every film looks adult
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    shutil.copytree(tiny_dataset, data / "external_adult")
    args = ["fit-uncertain", "--checkpoint", str(checkpoint), "--data", str(data), "--by-age", "--target", "0"]
    assert main(args) == 0
    point = load_checkpoint(checkpoint).meta.operating_point.uncertain
    assert point.detail["fitted_on"] == "val+external_adult" and point.by_age == {"adult": 0.25}
    assert point.threshold == 0.25 and point.sets["external_adult"]["adult"]["n"] == 96


def test_fit_uncertain_refuses_an_unreachable_target(capsys, checkpoint, tiny_dataset):
    before = load_checkpoint(checkpoint).sha256
    assert (
        main(["fit-uncertain", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset), "--target", "1.01"]) == 1
    )
    assert load_checkpoint(checkpoint).sha256 == before


def test_fit_age_probe_stores_512_weights_and_a_val_auc(capsys, checkpoint, tiny_dataset):
    assert main(["fit-age-probe", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset)]) == 0
    printed = json.loads(capsys.readouterr().out)
    probe = load_checkpoint(checkpoint).meta.age_probe
    assert len(probe.weights) == len(probe.mean) == 512 and probe.classes == ("adult", "pediatric")
    assert printed["n_features"] == 512 and printed["val_auc"] == probe.val_auc
    assert 0.0 <= probe.val_auc <= 1.0 and sum(probe.detail["n_train"].values()) == 48


def test_operating_point_by_age_needs_the_probe_then_writes_a_head(capsys, checkpoint, tiny_dataset, tmp_path, film):
    out = tmp_path / "aged.pt"
    args = ["operating-point", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset), "--out", str(out)]
    assert main([*args, "--by-age"]) == 2 and "fit-age-probe" in capsys.readouterr().err
    assert main(["fit-age-probe", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset)]) == 0
    capsys.readouterr()
    assert main([*args, "--by-age"]) == 0
    printed = json.loads(capsys.readouterr().out)
    point = load_checkpoint(out).meta.operating_point
    assert point.age_offsets == printed["age_offsets"] and set(point.age_offsets) == {"adult", "pediatric"}
    assert type(load_checkpoint(out).model.fc).__name__ == "AgeOffsetLinear"
    result = _predict(capsys, out, film)
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_refitting_the_age_probe_drops_offsets_chosen_with_the_old_one(capsys, checkpoint, tiny_dataset):
    assert main(["fit-age-probe", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset)]) == 0
    point = {
        "normal_logit_offset": 0.2,
        "age_offsets": {"adult": 0.1, "pediatric": 0.4},
        "uncertain": {"threshold": 0.5},
    }
    update_meta(checkpoint, operating_point=point)
    capsys.readouterr()
    assert main(["fit-age-probe", "--checkpoint", str(checkpoint), "--data", str(tiny_dataset)]) == 0
    assert "dropped" in capsys.readouterr().err
    assert load_checkpoint(checkpoint).meta.operating_point.to_dict() == {"normal_logit_offset": 0.2}
