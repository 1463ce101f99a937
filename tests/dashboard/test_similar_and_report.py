"""AppTest for Diagnose's similar training films and the PDF report button."""

from __future__ import annotations

import numpy as np
import pytest
from _apptest import chest_film, start, texts
from _checkpoints import tiny_checkpoint
from _factories import png_bytes
from streamlit.testing.v1 import AppTest

K = 6


@pytest.fixture
def similar_env(env, tmp_path):
    """A tiny model without feature-distance refusal (films are accepted) over a dataset of 8 training films."""
    env.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint(tmp_path / "open.pt", "apptest-similar")))
    return env


def _upload(at: AppTest, data: bytes) -> AppTest:
    at.file_uploader(key="dx_upload").set_value(("film.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_accepted_film_shows_similar_training_films_and_a_pdf_button(similar_env):
    at = _upload(start(), png_bytes(chest_film(1, 96)))
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


def test_refused_film_gets_no_similar_cases(similar_env):
    at = start()
    at.file_uploader(key="dx_upload").set_value(("flat.png", png_bytes(np.full((96, 96), 255, np.uint8)), "")).run()
    assert not at.exception
    assert "Similar training films" not in texts(at)


def test_missing_dataset_is_said_plainly(similar_env, tmp_path):
    similar_env.setenv("XRAY_DATA_DIR", str(tmp_path / "no-such-folder"))
    at = _upload(start(), png_bytes(chest_film(2, 96)))
    assert "No similar cases: the dataset folder" in texts(at)
    assert [b for b in at.get("download_button") if b.proto.label == "Report (PDF)"]  # the report still works
