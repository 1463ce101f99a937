"""AppTest for Diagnose's similar training films and the PDF report button."""

from __future__ import annotations

import numpy as np
import pytest
from _checkpoints import tiny_checkpoint
from _factories import png_bytes
from streamlit.testing.v1 import AppTest
from test_pages import _film, all_lung_segmenter, start, texts, tiny_dataset  # noqa: F401  (fixtures)

K = 6


@pytest.fixture
def env(monkeypatch, tiny_dataset, all_lung_segmenter, tmp_path):  # noqa: F811
    """A tiny model without feature-distance refusal (films are accepted) over a dataset of 8 training films."""
    monkeypatch.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint(tmp_path / "open.pt", "apptest-similar")))
    monkeypatch.setenv("XRAY_DATA_DIR", str(tiny_dataset))
    monkeypatch.setenv("XRAY_SEGMENTER", str(all_lung_segmenter))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRAY_AUDIT_LOG", raising=False)
    return monkeypatch


def _upload(at: AppTest, data: bytes) -> AppTest:
    at.file_uploader(key="dx_upload").set_value(("film.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_accepted_film_shows_similar_training_films_and_a_pdf_button(env):
    at = _upload(start(), png_bytes(_film(1, 96)))
    page = texts(at).replace("*", "")
    assert "Similar training films" in page
    assert f"of {K} similar training films were" in page
    thumbnails = [image for image in at.image if any("distance" in c for c in image.captions)] or [
        c for c in at.caption if "distance" in c.value
    ]
    assert len(thumbnails) == K
    buttons = [b for b in at.get("download_button") if b.proto.label == "Report (PDF)"]
    assert len(buttons) == 1
    at.text_input(key="dx_report_name").input("Follow-up A").run()  # the optional name keeps the page working
    assert not at.exception


def test_refused_film_gets_no_similar_cases(env):
    at = start()
    at.file_uploader(key="dx_upload").set_value(("flat.png", png_bytes(np.full((96, 96), 255, np.uint8)), "")).run()
    assert not at.exception
    assert "Similar training films" not in texts(at)


def test_missing_dataset_is_said_plainly(env, tmp_path):
    env.setenv("XRAY_DATA_DIR", str(tmp_path / "no-such-folder"))
    at = _upload(start(), png_bytes(_film(2, 96)))
    assert "No similar cases: the dataset folder" in texts(at)
    assert [b for b in at.get("download_button") if b.proto.label == "Report (PDF)"]  # the report still works
