"""One real end-to-end test: `streamlit run` on localhost, Debian's headless Chromium driven by Playwright.

Needs /usr/bin/chromium (`apt-get install chromium`; `make test` installs it). Playwright never downloads a
browser here: it launches the system one through ``executable_path``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _browser import chromium_page, require_chromium
from _probabilities import BROWSER_ROWS, browser_probabilities
from _streamlit_server import streamlit_server

from xray_core.explain.methods import DEFAULT_METHOD

pytestmark = [pytest.mark.browser, pytest.mark.corpus]


@pytest.fixture
def server(tmp_path, tiny_checkpoint, corpus_dir):
    """`streamlit run dashboard/app.py` on a free localhost port; killed (its process only) afterwards."""
    require_chromium()
    with streamlit_server(tmp_path, tiny_checkpoint, corpus_dir) as url:
        yield url


@contextmanager
def _diagnose_page(url: str, image: Path) -> Iterator[Any]:
    """A headless Chromium page on Diagnose with the notice acknowledged and ``image`` uploaded."""
    with chromium_page(url) as page:
        page.get_by_role("button", name="I understand").click()
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(image))
        yield page


def test_upload_renders_probabilities_and_heatmap(server, corpus_dir, tmp_path):
    manifest = pd.read_csv(corpus_dir / "manifest.csv")
    image = corpus_dir / manifest[manifest["split"] == "test"].iloc[0]["file"]
    with _diagnose_page(server, image) as page:
        refusal = page.get_by_text("Show the prediction anyway")
        chart = page.locator(BROWSER_ROWS).first
        chart.or_(refusal).first.wait_for(state="visible")
        if refusal.is_visible():  # the tiny random model may call the film out-of-distribution
            refusal.click()
        chart.wait_for(state="visible")
        page.locator(".st-key-dx_heatmap img").first.wait_for(state="visible")
        assert sum(browser_probabilities(page).values()) == pytest.approx(100, abs=0.3)  # four rows, rounded
        assert page.locator(BROWSER_ROWS).count() == 4
        assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(tmp_path / "diagnose.png"), full_page=True)
        with page.expect_download() as download:  # built on click (deferred) from the shown result
            page.get_by_role("button", name="Result (JSON)").click()
        result = json.loads(Path(download.value.path()).read_text())
        assert sum(result["prediction"]["percentages"].values()) == pytest.approx(100)
        assert result["explanation"]["method"] == DEFAULT_METHOD
        with page.expect_download() as download:
            page.get_by_role("button", name="Overlay (PNG)").click()
        assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "diagnose.png").stat().st_size > 10_000


@pytest.fixture
def shipped_server(tmp_path, corpus_dir):
    """The dashboard with the shipped classifier and lung segmenter (what `make run` serves)."""
    from xray_core.config import default_checkpoint

    with streamlit_server(tmp_path, default_checkpoint(), corpus_dir) as url:
        yield url


def test_lung_outline_toggle_and_share_inside_the_lungs(shipped_server, corpus_dir, tmp_path):
    """A real test film through the shipped models shows the 'Lungs' toggle and the lung-share line."""
    manifest = pd.read_csv(corpus_dir / "manifest.csv")
    image = corpus_dir / manifest[(manifest["split"] == "test") & (manifest["label"] == "bacterial")].iloc[0]["file"]
    with _diagnose_page(shipped_server, image) as page:
        page.locator(".st-key-dx_heatmap img").first.wait_for(state="visible")
        page.get_by_text("of the heatmap lies inside the lungs").wait_for(state="visible")
        toggle = page.get_by_text("Lungs", exact=True)
        toggle.wait_for(state="visible")
        toggle.click()  # the outline on: the page reruns and still shows the heatmap, without errors
        page.locator(".st-key-dx_heatmap img").first.wait_for(state="visible")
        assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(tmp_path / "lungs.png"), full_page=True)
