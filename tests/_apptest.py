"""Helpers for the dashboard's AppTests: the app's path, a chest-like film, starting a page, reading it back."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from _probabilities import shown_probabilities
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
TIMEOUT = 600  # the first run imports torch and streamlit; on a busy 2-core machine that takes minutes


def chest_film(seed: int, size: int = 72) -> np.ndarray:
    """A chest-film-like uint8 image: bright mediastinum, darker lungs, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    film = 0.35 + 0.4 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.1 * y + rng.normal(0, 0.05, (size, size))
    return np.clip(film * 255, 0, 255).astype(np.uint8)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def audit_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def start(page: str | None = None) -> AppTest:
    """Run the app, acknowledge the first-visit notice and open ``page`` (views/<name>.py)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    at.button(key="notice_ack_button").click().run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    kinds = ("error", "warning", "info", "markdown", "caption", "success")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def shown_percentages(at: AppTest) -> list[float]:
    shown = shown_probabilities(at)
    assert shown, "no probability bars"
    return list(shown.values())


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Upload on Diagnose; a tiny random model may refuse the film, so the override is ticked when offered."""
    at.file_uploader(key="dx_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    if anyway:  # a random tiny model may call a film out-of-distribution; the banner is tested below
        anyway[0].check().run()
    return at
