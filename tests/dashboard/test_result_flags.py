"""AppTest: the 'Uncertain — refer' state and the age-support warning on Diagnose and Batch."""

from __future__ import annotations

import shutil

import pytest
from _apptest import chest_film, start, texts
from _factories import png_bytes

from xray_core.models.checkpoint import update_meta

LABELS = ("normal", "bacterial", "viral", "covid")
PROBE = {"classes": ["adult", "pediatric"], "mean": [0.0] * 512, "scale": [1.0] * 512, "weights": [0.0] * 512}
NO_CHILDREN = {"adult": dict.fromkeys(LABELS, 100), "pediatric": dict.fromkeys(LABELS, 0)}


@pytest.fixture
def checkpoint(monkeypatch, tiny_checkpoint, tiny_dataset, tmp_path):
    """A copy of the tiny checkpoint that refers every film (threshold 1) and sees every film as a child's."""
    path = tmp_path / "weights" / "model.pt"
    path.parent.mkdir()
    shutil.copy(tiny_checkpoint, path)
    update_meta(
        path,
        operating_point={"uncertain": {"threshold": 1.0}},
        age_probe={**PROBE, "bias": 3.0},
        data_summary={"age_group_class_counts": NO_CHILDREN},
    )
    monkeypatch.setenv("XRAY_CHECKPOINT", str(path))
    monkeypatch.setenv("XRAY_DATA_DIR", str(tiny_dataset))
    monkeypatch.setenv("XRAY_SEGMENTER", str(tmp_path / "no_lungs.pt"))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRAY_AUDIT_LOG", raising=False)
    return path


def test_diagnose_shows_the_referral_once_and_the_age_support_warning(checkpoint):
    at = start()
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(chest_film(1, 96)), "image/png")).run()
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    if anyway:  # the random tiny model may call the film out-of-distribution
        anyway[0].check().run()
    assert not at.exception, [e.value for e in at.exception]
    text = texts(at)
    assert "Uncertain — refer" in text and "operating point of 100 %" in text
    assert "Low confidence" not in text  # the referral says it once; no second, weaker message beside it
    assert "Outside training support" in text and "looks pediatric (95 %)" in text


def test_diagnose_without_fitted_values_shows_neither(checkpoint, tiny_checkpoint):
    shutil.copy(tiny_checkpoint, checkpoint)  # the plain tiny checkpoint: no threshold, no probe
    at = start()
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(chest_film(2, 96)), "image/png")).run()
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    if anyway:
        anyway[0].check().run()
    text = texts(at)
    assert "Uncertain — refer" not in text and "Outside training support" not in text and "age probe" not in text


def test_batch_table_has_the_uncertain_and_age_columns(checkpoint):
    at = start("batch")
    at.file_uploader(key="batch_files").set_value(
        [("a.png", png_bytes(chest_film(3, 96)), "image/png"), ("b.png", png_bytes(chest_film(4, 96)), "image/png")]
    ).run()
    at.button(key="batch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert table["uncertain"].tolist() == [True, True]
    assert table["age_group_estimate"].tolist() == ["pediatric 95 %"] * 2
    assert all("uncertain — refer" in flags and "class unseen in this age group" in flags for flags in table["flags"])


def test_model_card_draws_risk_coverage_and_names_the_fitted_values(checkpoint, tiny_dataset):
    import json

    from xray_core.data.dataset import load_dataset
    from xray_core.evaluation.evaluate import evaluate
    from xray_core.models.checkpoint import load_checkpoint

    update_meta(
        checkpoint,
        operating_point={"uncertain": {"threshold": 0.3, "target_accuracy": 0.95, "sets": {"val": {"coverage": 0.8}}}},
        age_probe={**PROBE, "bias": 3.0, "val_auc": 0.9876},
    )
    table = load_dataset(tiny_dataset)
    report = evaluate(
        load_checkpoint(checkpoint),
        {"test": table[table["split"] == "test"], "external": table[table["split"] == "val"]},
        reps=5,
    )
    (checkpoint.parent / "metrics.json").write_text(json.dumps(report))
    at = start("model_card")
    text = texts(at)
    assert "top probability 0.30" in text and "val 80% kept" in text and "val AUC 0.988" in text
    at.session_state["mc_tab"] = "Test metrics"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [chart] = [c for c in at.get("plotly_chart") if c.key == "mc_risk_coverage"]
    names = [trace["name"] for trace in json.loads(chart.proto.spec)["data"]]
    assert any(n.startswith("test (AURC") for n in names) and any(
        n.startswith("external: operating point") for n in names
    )
    refer = [d.value for d in at.dataframe if "accuracy kept" in d.value.columns][0]
    assert [row for row in refer.index if "," not in row] == ["test", "external"]  # then one row per age group
    assert {row.split(", ")[1] for row in refer.index if "," in row} <= {"adult films", "pediatric films"}
    assert (refer["threshold"] == 0.3).all()  # a single-threshold checkpoint: the same threshold for every group
