"""AppTest for every dashboard page: real widgets, real xray_core calls, a tiny checkpoint and tiny datasets."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _apptest import APP, TIMEOUT, audit_lines, chest_film, shown_percentages, start, texts, upload, zip_bytes
from _factories import PATIENT_FIELDS, dicom_bytes, png_bytes
from _probabilities import shown_probabilities
from streamlit.testing.v1 import AppTest

from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD

CLASSES = ("normal", "bacterial", "viral", "covid")


def assert_result(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert sum(shown_percentages(at)) == pytest.approx(100.0, abs=1e-6)
    captions = [c for image in at.image for c in image.captions]
    assert any(CAM_METHODS[DEFAULT_METHOD].title in c for c in captions), captions
    assert [b for b in at.get("download_button")], "no result download"


def test_notice_blocks_until_acknowledged(env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert "not a diagnosis" in texts(at)
    assert not at.title  # no page before the acknowledgement
    at.button(key="notice_ack_button").click().run()
    assert at.title[0].value == "Diagnose"


def test_diagnose_upload_shows_probabilities_and_heatmap(env, tmp_path):
    env.setenv("XRAY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    data = png_bytes(chest_film(1, 96))
    at = upload(start(), "film.png", data)
    assert_result(at)
    assert "Untrained placeholder model" in texts(at)  # the tiny checkpoint is untrained
    assert "pediatric" in texts(at)  # the age/source confounding caveat near the probabilities
    at.checkbox(key="dx_lungs").check().run()  # the lung outline on the overlay
    assert_result(at)
    assert "100 % of the heatmap lies inside the lungs" in texts(at).replace("*", "") or "The map is flat" in texts(
        at
    ), texts(at)
    lines = audit_lines(tmp_path / "audit.jsonl")  # one line per prediction, not per rerun
    assert len(lines) == 1 and lines[0]["input_sha256"] == hashlib.sha256(data).hexdigest()


def test_diagnose_says_why_there_is_no_lung_outline(env, tmp_path):
    env.setenv("XRAY_SEGMENTER", str(tmp_path / "missing_lungs.pt"))
    at = upload(start(), "film.png", png_bytes(chest_film(9, 96)))
    assert_result(at)
    assert "No lung outline: lung segmenter not found" in texts(at)


def test_diagnose_controls_rerun_without_error(env):
    at = upload(start(), "film.png", png_bytes(chest_film(2, 96)))
    assert at.selectbox(key="dx_target").value == "auto"  # shown as "Top class", never as an empty choice
    at.selectbox(key="dx_target").set_value("covid").run()
    at.slider(key="dx_alpha").set_value(0.8).run()
    at.checkbox(key="dx_outline").check().run()
    at.toggle(key="dx_faithfulness").set_value(True).run()
    assert any("hottest 20 %" in m.label for m in at.metric) or "Undefined for a flat map" in texts(at)
    zoom = [s for s in at.slider if s.key and s.key.startswith("dx_zoom_")][0]
    zoom.set_value(2.0).run()
    [c for c in at.checkbox if c.key and c.key.startswith("dx_invert_")][0].check().run()
    assert_result(at)
    assert any("COVID-19" in c for image in at.image for c in image.captions)


def test_bad_upload_shows_message_and_app_stays_usable(env):
    at = start()
    at.file_uploader(key="dx_upload").set_value(("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")).run()
    assert not at.exception
    assert any("cannot be analysed" in e.value for e in at.error)
    assert_result(upload(at, "film.png", png_bytes(chest_film(3, 96))))


def test_dicom_16_bit_never_shows_patient_fields(env):
    film = chest_film(4, 96).astype(np.uint16) * 16  # 12-bit values in a 16-bit container
    at = upload(start(), "study.dcm", dicom_bytes(film))
    assert_result(at)
    page = texts(at) + json.dumps([j.value for j in at.json], default=str)
    for value in PATIENT_FIELDS.values():
        assert value.split("^")[0] not in page
    assert "DICOM" in page


def test_refused_input_needs_explicit_override(env):
    at = start()
    at.file_uploader(key="dx_upload").set_value(
        ("flat.png", png_bytes(np.full((96, 96), 255, np.uint8)), "image/png")
    ).run()
    prediction_shown = bool(shown_probabilities(at))
    refused = any("Refused" in e.value for e in at.error)
    assert refused != prediction_shown  # either refused (no chart) or accepted (chart), never both
    if refused:
        assert "it is nearly uniform (pixel standard deviation" in texts(at)  # from the decision's code and numbers
        [c for c in at.checkbox if c.key.startswith("dx_anyway_")][0].check().run()
        assert any("unreliable" in w.value for w in at.warning)
        assert sum(shown_percentages(at)) == pytest.approx(100.0)
        assert "No lung outline or lung share for a refused input" in texts(at)
        assert not [c for c in at.checkbox if c.key == "dx_lungs"] and "inside the lungs" not in texts(at)


def test_dataset_sample_source(env):
    at = start()
    at.radio(key="dx_source").set_value("Sample from the dataset").run()
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    if anyway:
        anyway[0].check().run()
    assert_result(at)


def test_batch_table_csv_overlay_dialog_and_audit(env, tmp_path):
    env.setenv("XRAY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    at = start("batch")
    films = {
        "a/one.png": png_bytes(chest_film(5)),
        "a/two.png": png_bytes(chest_film(6)),
        "x.png": png_bytes(chest_film(7)),
    }
    archive = zip_bytes({"a/one.png": films["a/one.png"], "a/two.png": films["a/two.png"], "notes.txt": b"hi"})
    at.file_uploader(key="batch_files").set_value(
        [
            ("x.png", films["x.png"], "image/png"),
            ("bad.png", b"garbage", "image/png"),
            ("films.zip", archive, "application/zip"),
        ]
    ).run()
    at.button(key="batch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table["file"]) == ["x.png", "bad.png", "films.zip/a/one.png", "films.zip/a/two.png"]
    assert table["flags"].iloc[1].startswith("unreadable")
    shares = table[[f"{c} %" for c in CLASSES]].drop(index=1).sum(axis=1)
    assert np.allclose(shares, 100.0)
    assert any("notes.txt" in w.value.replace("\\", "") for w in at.warning)  # names are shown escaped
    assert table["flags"].iloc[0].endswith("untrained model")  # worded from the decision codes
    assert len(at.image) == 3
    at.button(key="batch_open_0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    lines = audit_lines(tmp_path / "audit.jsonl")  # one line per prediction; the dialog adds none
    assert sorted(line["input_sha256"] for line in lines) == sorted(
        hashlib.sha256(d).hexdigest() for d in films.values()
    )
    assert all(line["model_version"] == "test-tiny" and line["decisions"] for line in lines)


def test_explorer_counts_tabs_and_quality(env, folder_dataset):
    at = start("explore")
    counts = at.dataframe[0].value
    assert counts.loc["Normal", "train"] == 2 and counts.loc["COVID-19", "test"] == 1
    assert counts["total"].sum() == 12
    for tab in ("Splits & sources", "Patients", "Images", "Quality", "Gallery"):
        at.session_state["ex_tab"] = tab
        at.run()
        assert not at.exception, (tab, [e.value for e in at.exception])
    at.session_state["ex_tab"] = "Quality"
    at.run()
    at.button(key="ex_scan_all").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label == "Duplicate groups" for m in at.metric)


def test_partial_pneumonia_labels_in_explorer_gallery_and_samples(env, folder_dataset, tmp_path):
    """Films labelled 'pneumonia' (bacterial or viral, type unknown) have their own row and colour; no page trips."""
    root = tmp_path / "with_pneumonia"
    shutil.copytree(folder_dataset, root)
    for split, count in (("train", 2), ("test", 1)):
        folder = root / split / "pneumonia"
        folder.mkdir()
        for n in range(count):
            (folder / f"film_{split}_{n}.png").write_bytes(png_bytes(chest_film(90 + n + len(split))))
    env.setenv("XRAY_DATA_DIR", str(root))
    at = start("explore")
    counts = at.dataframe[0].value
    assert counts.loc["Pneumonia, type unknown", "train"] == 2 and counts["total"].sum() == 15
    bars = [c for c in at.get("plotly_chart") if c.key == "ex_class_bars"][0]
    assert "Pneumonia, type unknown" in [trace["name"] for trace in json.loads(bars.proto.spec)["data"]]
    for tab in ("Splits & sources", "Patients", "Images", "Gallery"):
        at.session_state["ex_tab"] = tab
        at.run()
        assert not at.exception, (tab, [e.value for e in at.exception])
    at.multiselect(key="ex_g_class").set_value(["pneumonia"]).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c for image in at.image for c in image.captions]
    assert len(captions) == 3 and all(c.startswith("True: Pneumonia, type unknown · Model: ") for c in captions)
    at.switch_page("views/diagnose.py").run()
    at.radio(key="dx_source").set_value("Sample from the dataset").run()
    at.selectbox(key="dx_sample_class").set_value("pneumonia").run()
    at.selectbox(key="dx_sample_split").set_value("any").run()
    assert not at.exception, [e.value for e in at.exception]


def test_explorer_missing_and_empty_dataset(env, tmp_path):
    env.setenv("XRAY_DATA_DIR", str(tmp_path / "nowhere"))
    at = start("explore")
    assert any("No dataset configured" in i.value for i in at.info)
    (tmp_path / "empty").mkdir()
    env.setenv("XRAY_DATASETS", str(tmp_path / "empty"))  # the administrator's list
    at.run()
    assert at.selectbox(key="ex_dataset").value == str((tmp_path / "empty").resolve())
    assert not at.exception
    assert any("No recognisable dataset layout" in e.value or "No images" in e.value for e in at.error)


def test_every_page_without_checkpoint(env, tmp_path):
    env.setenv("XRAY_CHECKPOINT", str(tmp_path / "missing.pt"))
    at = start()
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(chest_film(8)), "image/png")).run()
    assert any("No model checkpoint" in e.value for e in at.error)
    for page in ("batch", "explore", "model_card"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
    at.session_state["ex_tab"] = "Gallery"
    at.switch_page("views/explore.py").run()
    assert not at.exception


def test_model_card_without_and_with_report(env, tiny_checkpoint, folder_dataset, tmp_path):
    from xray_core.data.dataset import load_dataset
    from xray_core.evaluation.evaluate import evaluate
    from xray_core.evaluation.metrics import roc_points
    from xray_core.models.checkpoint import load_checkpoint

    checkpoint = tmp_path / "weights" / "model.pt"
    checkpoint.parent.mkdir()
    shutil.copy(tiny_checkpoint, checkpoint)
    env.setenv("XRAY_CHECKPOINT", str(checkpoint))
    at = start("model_card")
    for tab in ("Model", "Training data", "Test metrics", "Calibration", "Limitations"):
        at.session_state["mc_tab"] = tab
        at.run()
        assert not at.exception, (tab, [e.value for e in at.exception])
        if tab == "Model":
            loaded = load_checkpoint(checkpoint)
            assert loaded.sha256 in texts(at) and "| **Parameters** | 11," in texts(at)
        if tab == "Test metrics":
            assert any("No evaluation report" in i.value for i in at.info)
    table = load_dataset(folder_dataset)
    report = evaluate(
        load_checkpoint(checkpoint),
        {"test": table[table["split"] == "test"], "external": table[table["split"] == "train"]},
        reps=5,
    )
    report["command"] = f"python -m xray_core evaluate --checkpoint {checkpoint}"
    for section in report["splits"].values():  # a report written before evaluate recorded ROC points
        section.pop("roc", None)
    (checkpoint.parent / "metrics.json").write_text(json.dumps(report))
    at.session_state["mc_tab"] = "Test metrics"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(d.value.columns[0] == "measure" for d in at.dataframe)  # the targets, as data
    per_class = [d.value for d in at.dataframe if "sensitivity" in d.value.columns][0]
    assert list(per_class.index) == ["Normal", "Bacterial pneumonia", "Viral pneumonia", "COVID-19"]
    assert any(c.key == "mc_confusion" for c in at.get("plotly_chart"))
    assert any(f"Re-run: {report['command']}" in i.value for i in at.info)  # never re-predicted in the server
    assert not any(c.key == "mc_roc" for c in at.get("plotly_chart"))
    rng = np.random.default_rng(0)
    report["splits"]["test"]["roc"] = roc_points(rng.integers(0, 4, 40), rng.dirichlet(np.ones(4), 40), CLASSES)
    (checkpoint.parent / "metrics.json").write_text(json.dumps(report))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.key == "mc_roc" for c in at.get("plotly_chart"))
    at.session_state["mc_split"] = "external"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no ROC points for the external films" in i.value for i in at.info)
    for tab in ("Calibration", "Limitations"):
        at.session_state["mc_tab"] = tab
        at.run()
        assert not at.exception, (tab, [e.value for e in at.exception])
        if tab == "Calibration":
            assert any(c.key == "mc_reliability" for c in at.get("plotly_chart"))
            assert {"test, after", "external, after"} <= set(at.dataframe[0].value.index)


@pytest.mark.corpus
def test_real_radiograph_upload(env, corpus_dir):
    env.delenv("XRAY_DATA_DIR")
    manifest = pd.read_csv(corpus_dir / "manifest.csv")
    row = manifest[(manifest["split"] == "test") & (manifest["label"] == "bacterial")].iloc[0]
    at = upload(start(), Path(row["file"]).name, (corpus_dir / row["file"]).read_bytes())
    assert_result(at)


@pytest.mark.corpus
def test_real_dataset_counts_equal_manifest(env, corpus_dir):
    env.setenv("XRAY_DATA_DIR", str(corpus_dir))
    at = start("explore")
    counts = at.dataframe[0].value
    manifest = pd.read_csv(corpus_dir / "manifest.csv")
    expected = pd.crosstab(manifest["label"], manifest["split"])
    titles = {"normal": "Normal", "bacterial": "Bacterial pneumonia", "viral": "Viral pneumonia", "covid": "COVID-19"}
    for label, title in titles.items():
        for split in ("train", "val", "test"):
            assert counts.loc[title, split] == expected.loc[label, split]
        assert counts.loc[title, "total"] == (manifest["label"] == label).sum()
    assert counts["total"].sum() == len(manifest)
