"""Pure helpers behind the dashboard: windowing, zoom, ZIP limits, percentages, result files, ROC points."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from xray_core import dashboard_data as dd
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction
from xray_core.io.reader import XrayImage


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _prediction(probabilities: dict[str, float], refused: bool = False, low: bool = False) -> Prediction:
    label = max(probabilities, key=probabilities.get)
    return Prediction(name="x.png", label=label, probabilities=probabilities, logits=[0.0] * 4, elapsed_ms=1.0,
                      ood_score=3.0, ood_threshold=5.0,
                      decisions=[Decision("ood_features", "far", 6.0, 5.0)] * refused
                      + [Decision("low_confidence", "low", 0.3, 0.5)] * low)


def test_apply_window_maps_the_window_to_0_255_and_inverts():
    pixels = np.array([[0.0, 0.25, 0.5, 0.75, 1.0]], np.float32)
    assert dd.apply_window(pixels, 0.5, 1.0).tolist() == [[0, 64, 128, 191, 255]]
    assert dd.apply_window(pixels, 0.5, 0.5).tolist() == [[0, 0, 128, 255, 255]]
    assert dd.apply_window(pixels, 0.5, 1.0, invert=True).tolist() == [[255, 191, 128, 64, 0]]
    assert dd.apply_window(pixels, 0.5, 0.0).dtype == np.uint8  # zero width is clamped, not a division by zero


def test_default_window_full_range_for_8_bit_and_percentiles_for_16_bit_and_dicom():
    pixels = np.linspace(0.1, 0.3, 64 * 64, dtype=np.float32).reshape(64, 64)
    assert dd.default_window(XrayImage(pixels, {"format": "PNG", "bit_depth": 8})) == (0.5, 1.0)
    level, width = dd.default_window(XrayImage(pixels, {"format": "PNG", "bit_depth": 16}))
    assert level == pytest.approx(0.2, abs=0.02) and width == pytest.approx(0.2, abs=0.02)
    assert dd.needs_window(XrayImage(pixels, {"format": "DICOM", "bit_depth": 12}))
    constant = XrayImage(np.full((16, 16), 0.4, np.float32), {"format": "DICOM"})
    assert dd.default_window(constant) == (0.5, 1.0)


def test_zoom_crop_keeps_the_window_inside_the_image():
    image = np.arange(100).reshape(10, 10)
    assert dd.zoom_crop(image, 1.0) is image
    assert dd.zoom_crop(image, 2.0).shape == (5, 5)
    assert dd.zoom_crop(image, 2.0, 0.0, 0.0)[0, 0] == 0
    assert dd.zoom_crop(image, 2.0, 1.0, 1.0)[-1, -1] == 99
    assert dd.zoom_crop(np.zeros((10, 20, 3)), 4.0).shape == (2, 5, 3)


def test_fit_and_thumbnail_keep_aspect_and_never_upscale():
    assert dd.fit(np.zeros((100, 400), np.uint8), 200).shape == (50, 200)
    assert dd.fit(np.zeros((10, 20, 3), np.uint8), 200).shape == (10, 20, 3)
    thumb = dd.thumbnail(np.ones((300, 150), np.float32), 100)
    assert thumb.shape == (100, 50) and thumb.dtype == np.uint8 and thumb.max() == 255
    padded = dd.thumbnail(np.ones((300, 150), np.float32), 100, square=True)
    assert padded.shape == (100, 100) and padded[:, :25].max() == 0 and padded[:, 25:75].min() == 255


@pytest.mark.parametrize("probabilities", [
    {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3},
    {"normal": 0.2149, "bacterial": 0.2851, "viral": 0.2409, "covid": 0.2591},
    {"a": 0.99951, "b": 0.00049, "c": 0.0},
])
def test_percentages_sum_to_exactly_100(probabilities):
    shares = dd.percentages(probabilities)
    assert list(shares) == list(probabilities)
    assert sum(round(v * 10) for v in shares.values()) == 1000
    for name, p in probabilities.items():
        assert abs(shares[name] - 100 * p) <= 0.1 + 1e-9


def test_extract_zip_takes_images_skips_others_and_hidden():
    data = _zip({"a/one.png": b"1", "two.DCM": b"2", "notes.txt": b"x", "__MACOSX/a/._one.png": b"",
                 ".hidden.png": b"", "folder/": b""})
    result = dd.extract_zip(data, label="films.zip")
    assert result.files == [("films.zip/a/one.png", b"1"), ("films.zip/two.DCM", b"2")]
    assert len(result.skipped) == 1 and "notes.txt" in result.skipped[0]


def test_extract_zip_limits():
    with pytest.raises(dd.ZipLimitError, match="more than 2 images"):
        dd.extract_zip(_zip({f"{i}.png": b"x" for i in range(3)}), max_files=2)
    with pytest.raises(dd.ZipLimitError, match="uncompressed"):
        dd.extract_zip(_zip({"a.png": b"x" * 600, "b.png": b"y" * 600}, zipfile.ZIP_STORED), max_bytes=1000)
    with pytest.raises(dd.ZipLimitError, match="compression ratio"):
        dd.extract_zip(_zip({"bomb.png": b"\0" * 1_000_000}))
    with pytest.raises(dd.ZipLimitError, match="not a readable ZIP"):
        dd.extract_zip(b"PK\x03\x04 definitely not a zip")


def test_expand_uploads_makes_names_unique_and_reports_problems():
    result = dd.expand_uploads([("x.png", b"1"), ("x.png", b"2"), ("doc.pdf", b"%PDF"), ("bad.zip", b"no"),
                                ("set.zip", _zip({"x.png": b"3"}))])
    assert [name for name, _ in result.files] == ["x.png", "x.png (2)", "set.zip/x.png"]
    assert any("doc.pdf" in s for s in result.skipped) and any("bad.zip" in s for s in result.skipped)


def test_result_record_and_json_carry_flags_percentages_and_disclaimer():
    prediction = _prediction({"normal": 0.3, "bacterial": 0.3001, "viral": 0.2, "covid": 0.1999}, refused=True,
                             low=True)
    record = dd.result_record(prediction, {"name": "x.png", "format": "PNG"}, {"version": "1"},
                              {"method": "gradcam", "evidence": np.float32(0.5)})
    text = dd.result_json(record)
    loaded = json.loads(text)
    assert loaded["disclaimer"].startswith("Decision support only")
    assert loaded["prediction"]["flags"] == ["out-of-distribution", "low confidence"]
    assert sum(loaded["prediction"]["percentages"].values()) == pytest.approx(100)
    assert loaded["explanation"]["evidence"] == 0.5


def test_batch_rows_and_csv():
    names = ("normal", "bacterial", "viral", "covid")
    good = dd.batch_row("a.png", _prediction({"normal": 0.7, "bacterial": 0.1, "viral": 0.1, "covid": 0.1}), names)
    bad = dd.batch_row("b.png", None, names, error="corrupt")
    assert good["top_class"] == "Normal" and good["normal %"] == 70.0 and good["flags"] == ""
    assert bad["flags"] == "unreadable: corrupt" and bad["covid %"] is None
    text = dd.results_csv([good, bad]).decode()
    assert text.startswith("# Decision support only")
    table = pd.read_csv(io.StringIO(text), comment="#")
    assert list(table.columns) == ["file", "top_class", "normal %", "bacterial %", "viral %", "covid %", "flags"]


def test_roc_points_match_sklearn_auc_and_mark_absent_classes():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 200)  # class 3 never occurs
    y_prob = rng.dirichlet(np.ones(4), 200)
    y_prob[np.arange(200), y_true] += 0.5
    curves = dd.roc_points(y_true, y_prob / y_prob.sum(axis=1, keepdims=True), ["a", "b", "c", "d"])
    assert curves["d"] is None
    for curve in (curves["a"], curves["b"], curves["c"]):
        assert curve["fpr"][0] == 0 and curve["tpr"][-1] == 1 and 0.5 < curve["auc"] <= 1


def test_read_report_says_what_is_missing(tmp_path):
    checkpoint = tmp_path / "model.pt"
    report, message = dd.read_report(checkpoint)
    assert report is None and "python -m xray_core evaluate" in message
    (tmp_path / "metrics.json").write_text("{not json")
    assert "not readable" in dd.read_report(checkpoint)[1]
    (tmp_path / "metrics.json").write_text(json.dumps({"metrics": {"accuracy": 0.5}}))
    assert dd.read_report(checkpoint)[0]["metrics"]["accuracy"] == 0.5


def test_age_confounding_notes_from_checkpoint_counts():
    meta = {"data_summary": {"age_group_class_counts": {
        "pediatric": {"normal": 10, "bacterial": 98, "viral": 50, "covid": 0},
        "adult": {"normal": 10, "bacterial": 2, "viral": 50, "covid": 40}}}}
    notes = dd.age_confounding_notes(meta["data_summary"])
    assert notes == ["98% of bacterial pneumonia training images are pediatric",
                     "100% of COVID-19 training images are adult"]
    assert dd.age_confounding_notes({}) == []


def test_sample_rows_filters_and_is_reproducible():
    table = pd.DataFrame({"path": [f"{i}.png" for i in range(40)], "label": ["normal", "covid"] * 20,
                          "split": ["train"] * 30 + ["test"] * 10})
    first = dd.sample_rows(table, 5, seed=1, label=["covid"], split=["test"])
    assert len(first) == 5 and set(first["label"]) == {"covid"} and set(first["split"]) == {"test"}
    assert first.equals(dd.sample_rows(table, 5, seed=1, label=["covid"], split=["test"]))
    assert dd.sample_rows(table, 5, label=["viral"]).empty
    assert len(dd.sample_rows(table, 100)) == 40


def test_model_summary_of_a_checkpoint(tiny_checkpoint):
    from xray_core.models.checkpoint import load_checkpoint

    summary = dd.model_summary(load_checkpoint(tiny_checkpoint))
    assert summary["arch"] == "resnet18" and summary["trained"] is False
    assert summary["n_parameters"] > 1_000_000 and summary["temperature"] == 1.5
    assert summary["ood_threshold"] is not None and len(summary["sha256"]) == 64
