"""Real browser (Playwright + Debian's Chromium): Diagnose's PDF report downloads and holds the probabilities shown.

Runs on the tiny generated dataset (its train split is the similar-case index) with a tiny model that refuses
nothing by feature distance, so the film is accepted and the report carries similar cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _browser import chromium_page, require_chromium
from _checkpoints import tiny_checkpoint
from _pdf import pdf_text
from _probabilities import BROWSER_ROWS
from _streamlit_server import streamlit_server

from xray_core.config import CLASS_TITLES
from xray_core.inference.wording import DISCLAIMER_SHORT

RESULT_MS = 240_000  # the similar-case index is built on the first upload

pytestmark = [pytest.mark.browser]


@pytest.fixture
def server(tmp_path, tiny_dataset):
    require_chromium()
    checkpoint = tiny_checkpoint(tmp_path / "open.pt", "browser-report")
    with streamlit_server(tmp_path, checkpoint, tiny_dataset) as url:
        yield url


def test_pdf_report_downloads_with_the_probabilities(server, tiny_dataset, tmp_path):
    with chromium_page(server, RESULT_MS) as page:
        page.get_by_role("button", name="I understand").click()
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            str(tiny_dataset / "images" / "010.png")
        )
        page.locator(BROWSER_ROWS).first.wait_for(state="visible")
        page.locator(".st-key-dx_similar img").first.wait_for(state="visible")
        assert page.locator("[data-testid='stException']").count() == 0
        with page.expect_download() as result:
            page.get_by_role("button", name="Result (JSON)").click()
        shown = json.loads(Path(result.value.path()).read_text())["prediction"]["percentages"]
        with page.expect_download() as report:
            page.get_by_role("button", name="Report (PDF)").click()
        pdf = tmp_path / "report.pdf"
        report.value.save_as(pdf)
        page.screenshot(path=str(tmp_path / "diagnose_report.png"), full_page=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf)
    for name, share in shown.items():
        assert f"{CLASS_TITLES[name]} {share:.1f} %" in text
    assert DISCLAIMER_SHORT in text
    assert "similar training films were labelled" in text
