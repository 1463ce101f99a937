"""Debian's headless Chromium for the real-browser tests: where it is, how it starts, one page at a URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # without the networking flags Chromium keeps dialling Google's hosts on this closed network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULT_MS = 180_000


def require_chromium() -> None:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make browser-deps)")


@contextmanager
def chromium_page(url: str, timeout_ms: int = RESULT_MS) -> Iterator[Any]:
    """A 1440 x 1000 page of a fresh headless Chromium, opened at ``url``; the browser is closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            yield page
        finally:
            browser.close()
