"""The Worklist page once in a real headless Chromium against a real Orthanc: open the study -> probabilities
and heatmap shown -> Send to PACS -> our report is in the study."""

from __future__ import annotations

import pytest
from _browser import chromium_page, require_chromium
from _orthanc import orthanc_server, study
from _streamlit_server import streamlit_server

from xray_core.models.checkpoint import load_checkpoint
from xray_core.pacs.client import connect, scored_studies, store

pytestmark = [pytest.mark.browser, pytest.mark.pacs]
ROWS = ".st-key-wl_probabilities .dx-prob"


def test_open_study_see_result_send_to_pacs(tmp_path, monkeypatch, tiny_checkpoint, folder_dataset):
    require_chromium()
    with orthanc_server() as server:
        film = study(701, size=128)
        store(connect(server.dicomweb), [film])
        monkeypatch.setenv("XRAY_DICOMWEB_URL", server.dicomweb)
        monkeypatch.setenv("XRAY_REQUIRE_SIGN_IN", "0")
        with streamlit_server(tmp_path, tiny_checkpoint, folder_dataset) as url, chromium_page(url) as page:
            page.get_by_role("button", name="I understand").click()
            page.get_by_role("link", name="Worklist").click()
            page.get_by_role("button", name="Open study").wait_for(state="visible")
            shown = page.locator(".st-key-wl_study input").first.get_attribute("aria-label") or ""
            shown += page.locator(".st-key-wl_study").inner_html()
            assert "DEMO^0701 (DEMO0701)" in shown  # the clinician sees whose study it is
            page.get_by_role("button", name="Open study").click()
            page.locator(ROWS).first.wait_for(state="visible")
            page.locator(".st-key-wl_heatmap img").first.wait_for(state="visible")
            assert page.locator(ROWS).count() == 4
            page.get_by_role("button", name="Send to PACS").click()
            page.get_by_text("stored in this study").wait_for(state="visible")
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)
        sha = load_checkpoint(tiny_checkpoint).sha256
        assert film.StudyInstanceUID in scored_studies(connect(server.dicomweb), sha)
