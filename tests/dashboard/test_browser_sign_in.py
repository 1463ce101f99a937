"""Sign-in in a real browser: `streamlit run` with sign-in required, headless Chromium signs in and reaches Diagnose."""

from __future__ import annotations

import pytest
from _apptest import chest_film
from _browser import chromium_page, require_chromium
from _factories import png_bytes
from _streamlit_server import streamlit_server

from xray_core.inference import accounts

pytestmark = [pytest.mark.browser]
PASSWORD = "correct horse battery"


@pytest.fixture
def signed_server(tmp_path, tiny_checkpoint, monkeypatch):
    """A server that asks for sign-in (as on a network address), with one user; its process only is stopped."""
    require_chromium()
    monkeypatch.setenv("XRAY_USERS", str(tmp_path / "users.json"))
    monkeypatch.setenv("XRAY_REQUIRE_SIGN_IN", "1")
    accounts.add_user("alice", PASSWORD)
    (tmp_path / "data").mkdir()
    with streamlit_server(tmp_path, tiny_checkpoint, tmp_path / "data") as url:
        yield url


def test_sign_in_then_diagnose(signed_server, tmp_path):
    film = tmp_path / "film.png"
    film.write_bytes(png_bytes(chest_film(31, 128)))
    with chromium_page(signed_server) as page:
        page.get_by_role("heading", name="Sign in").wait_for()
        assert page.locator("[data-testid='stFileUploaderDropzoneInput']").count() == 0
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Wrong user name or password").wait_for()
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="I understand").click()
        page.get_by_role("heading", name="Diagnose").wait_for()
        page.get_by_text("Signed in as").wait_for()
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(film))
        page.locator(".st-key-dx_heatmap img").or_(page.get_by_text("Show the prediction anyway")).first.wait_for()
        assert page.locator("[data-testid='stException']").count() == 0
