"""AppTest: the 'Uncertain — refer' state and the age-support warning on Diagnose and Batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _factories import png_bytes
from streamlit.testing.v1 import AppTest

from xray_core.models.checkpoint import update_meta

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
TIMEOUT = 600  # the first run imports torch and streamlit; on a busy 2-core machine that takes minutes
LABELS = ("normal", "bacterial", "viral", "covid")
PROBE = {"classes": ["adult", "pediatric"], "mean": [0.0] * 512, "scale": [1.0] * 512, "weights": [0.0] * 512}
NO_CHILDREN = {"adult": dict.fromkeys(LABELS, 100), "pediatric": dict.fromkeys(LABELS, 0)}


def _film(seed: int, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    film = 0.35 + 0.4 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.1 * y + rng.normal(0, 0.05, (size, size))
    return np.clip(film * 255, 0, 255).astype(np.uint8)


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


def _start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button(key="notice_ack_button").click().run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    kinds = ("error", "warning", "info", "markdown", "caption", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_diagnose_shows_the_referral_once_and_the_age_support_warning(checkpoint):
    at = _start()
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(_film(1)), "image/png")).run()
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    if anyway:  # the random tiny model may call the film out-of-distribution
        anyway[0].check().run()
    assert not at.exception, [e.value for e in at.exception]
    text = _texts(at)
    assert "Uncertain — refer" in text and "operating point of 100 %" in text
    assert "Low confidence" not in text  # the referral says it once; no second, weaker message beside it
    assert "Outside training support" in text and "looks pediatric (95 %)" in text


def test_diagnose_without_fitted_values_shows_neither(checkpoint, tiny_checkpoint):
    shutil.copy(tiny_checkpoint, checkpoint)  # the plain tiny checkpoint: no threshold, no probe
    at = _start()
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(_film(2)), "image/png")).run()
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    if anyway:
        anyway[0].check().run()
    text = _texts(at)
    assert "Uncertain — refer" not in text and "Outside training support" not in text and "age probe" not in text


def test_batch_table_has_the_uncertain_and_age_columns(checkpoint):
    at = _start("batch")
    at.file_uploader(key="batch_files").set_value(
        [("a.png", png_bytes(_film(3)), "image/png"), ("b.png", png_bytes(_film(4)), "image/png")]
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
    at = _start("model_card")
    text = _texts(at)
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
    assert list(refer.index) == ["test", "external"] and (refer["threshold"] == 0.3).all()
