"""Dashboard tests run the app open, as on a machine's own loopback; sign-in tests ask for it explicitly."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _open_app(monkeypatch):
    """AppTest has no server address; the tests that need sign-in set XRAY_REQUIRE_SIGN_IN=1 themselves."""
    monkeypatch.setenv("XRAY_REQUIRE_SIGN_IN", "0")
