"""The PDF report, read back the way a person would: pages rendered by poppler (pdftoppm) and their text (pdftotext)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from _checkpoints import tiny_checkpoint
from _factories import PATIENT_FIELDS, dicom_bytes
from _pdf import pdf_pages, pdf_text

from xray_core.config import CLASS_TITLES
from xray_core.inference.results import percentages
from xray_core.inference.wording import DISCLAIMER_SHORT, pdf_safe
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint
from xray_core.report.content import build_report
from xray_core.report.pdf import render_pdf


def _film(seed: int = 0, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    film = 0.35 + 0.4 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.1 * y + rng.normal(0, 0.05, (size, size))
    return np.clip(film * 255, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_checkpoint(tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", "report-test"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))


def test_the_report_shows_probabilities_decisions_similar_cases_and_the_disclaimer(
    loaded, cache, tiny_dataset, tmp_path
) -> None:
    image = read_image(tiny_dataset / "images" / "005.png")
    content = build_report(loaded, image, file_name="my film.png", data_dir=str(tiny_dataset), k=4)
    assert not content.prediction.refused and len(content.similar) == 4 and content.heatmap is not None
    path = tmp_path / "report.pdf"
    path.write_bytes(render_pdf(content))
    text = pdf_text(path)
    for name, share in percentages(content.prediction.probabilities).items():
        assert f"{CLASS_TITLES[name]} {share:.1f} %" in text
    assert DISCLAIMER_SHORT in text
    assert "my film.png" in text
    assert loaded.sha256 in text and "report-test" in text
    assert datetime.now(UTC).strftime("%Y-%m-%d") in text
    assert "[untrained_model]" in text  # every decision is rendered
    assert "of 4 similar training films were labelled" in text
    pages = pdf_pages(path, tmp_path)
    assert len(pages) == 1
    colourful = np.abs(pages[0].astype(int) - pages[0].mean(axis=2, keepdims=True)).max(axis=2) > 60
    assert colourful.sum() > 200  # the heatmap (and the bars) are drawn, not just text


def test_a_refused_film_says_so_and_shows_no_heatmap_or_similar_cases(loaded, cache, tiny_dataset, tmp_path) -> None:
    content = build_report(loaded, XrayImage(np.full((64, 64), 128, np.uint8)), data_dir=str(tiny_dataset))
    assert content.prediction.refused and content.heatmap is None and content.similar == []
    path = tmp_path / "refused.pdf"
    path.write_bytes(render_pdf(content))
    text = pdf_text(path)
    assert "REFUSED" in text and "[uniform_image]" in text and "No similar cases for a refused input" in text
    [uniform] = [d for d in content.prediction.decisions if d.code == "uniform_image"]
    assert " ".join(pdf_safe(uniform).split()) in " ".join(text.split())  # the core's words, wrapped by the PDF
    assert DISCLAIMER_SHORT in text
    for name, share in percentages(content.prediction.probabilities).items():
        assert f"{CLASS_TITLES[name]} {share:.1f} %" in text  # on the record, marked as unreliable
    assert "not reliable" in text


def test_no_patient_data_reaches_the_report(loaded, cache, tmp_path) -> None:
    """DICOM names and IDs never appear, nor the file name unless given; a missing dataset is stated plainly."""
    image = read_image(dicom_bytes(_film()), name="Doe_John_12345.dcm")
    content = build_report(loaded, image, data_dir=str(tmp_path / "no-data"))
    path = tmp_path / "dicom.pdf"
    path.write_bytes(render_pdf(content))
    text = pdf_text(path)
    for value in [*PATIENT_FIELDS.values(), "Doe", "12345", "Doe_John"]:
        assert value not in text
    if not content.prediction.refused:
        assert "Similar cases unavailable" in text and "XRAY_DATA_DIR" in text
