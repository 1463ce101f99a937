"""Concurrency and determinism on one cached model, and dashboard sessions that never see each other's results.

* 8 threads predicting and explaining at once give exactly the sequential results (within 1e-6).
* The same input and checkpoint give the same probabilities across repeated calls, reloads and processes.
* Dashboard sessions in one process (AppTest, interleaved) and against one ``streamlit run`` server (several
  headless-Chromium contexts uploading at the same time, ``-m browser``) each show their own image's result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from _probabilities import BROWSER_ROWS, browser_probabilities, shown_probabilities
from _streamlit_server import streamlit_server

from xray_core.config import CLASS_TITLES
from xray_core.evaluation.reliability.files import encode, film
from xray_core.explain.cam import explain
from xray_core.inference.predict import predict_image
from xray_core.inference.results import percentages
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
THREADS = 8
TOLERANCE = 1e-6


def _film_bytes(index: int) -> bytes:
    """Distinct chest-film-like PNGs: different noise, size and a bright band at a different height."""
    pixels = film(96 + 4 * index, 80, seed=index)
    pixels[10 * index : 10 * index + 8] = 230
    return encode(pixels, "PNG")


FILES = [(f"film{index}.png", _film_bytes(index)) for index in range(THREADS)]


@pytest.fixture(scope="module")
def images() -> list[XrayImage]:
    return [read_image(data, name=name) for name, data in FILES]


def _probabilities(prediction) -> np.ndarray:
    return np.array(list(prediction.probabilities.values()))


def _work(loaded, image: XrayImage) -> tuple[np.ndarray, np.ndarray, bool]:
    prediction, explanation = predict_image(loaded, image), explain(loaded, image)
    assert np.abs(_probabilities(explanation.prediction) - _probabilities(prediction)).max() <= 1e-5
    return _probabilities(prediction), explanation.cam, prediction.refused


def test_eight_threads_match_sequential_runs(loaded, images):
    expected = [_work(loaded, image) for image in images]
    distinct = [abs(a[0] - b[0]).max() for i, a in enumerate(expected) for b in expected[i + 1 :]]
    assert min(distinct) > 100 * TOLERANCE  # cross-talk between threads would be visible
    barrier = threading.Barrier(THREADS)

    def job(worker: int) -> list[tuple[int, tuple]]:
        barrier.wait()  # all threads start together
        order = [(worker + step) % THREADS for step in range(3)]
        return [(index, _work(loaded, images[index])) for index in order]

    with ThreadPoolExecutor(THREADS) as pool:
        results = [item for batch in pool.map(job, range(THREADS)) for item in batch]
    assert len(results) == 3 * THREADS
    for index, (probabilities, cam, refused) in results:
        assert np.abs(probabilities - expected[index][0]).max() <= TOLERANCE
        assert np.abs(cam - expected[index][1]).max() <= TOLERANCE
        assert refused == expected[index][2]


def test_same_input_same_probabilities_across_calls_and_reloads(loaded, images, tiny_checkpoint):
    first = _probabilities(predict_image(loaded, images[0]))
    for _ in range(3):
        assert np.abs(_probabilities(predict_image(loaded, images[0])) - first).max() <= TOLERANCE
    reloaded = load_checkpoint(tiny_checkpoint)
    assert np.abs(_probabilities(predict_image(reloaded, images[0])) - first).max() <= TOLERANCE


def test_same_probabilities_in_a_fresh_process(loaded, images, tiny_checkpoint, tmp_path):
    path = tmp_path / FILES[1][0]
    path.write_bytes(FILES[1][1])
    output = subprocess.run(
        [sys.executable, "-m", "xray_core", "predict", str(path), "--checkpoint", str(tiny_checkpoint), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    [row] = json.loads(output.stdout)
    other_run = np.array([row["probabilities"][name] for name in loaded.class_names])
    assert np.abs(other_run - _probabilities(predict_image(loaded, images[1]))).max() <= TOLERANCE


# ---------------------------------------------------------------------------------------------- dashboard


@pytest.fixture
def app_env(monkeypatch, tiny_checkpoint, tmp_path):
    monkeypatch.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint))
    monkeypatch.setenv("XRAY_DATA_DIR", str(tmp_path / "no-corpus"))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))


def _expected_shares(loaded, name: str, data: bytes) -> dict[str, float]:
    shares = percentages(predict_image(loaded, read_image(data, name=name)).probabilities)
    return {CLASS_TITLES[label]: value for label, value in shares.items()}


def _shown_shares(at) -> dict[str, float]:
    shown = shown_probabilities(at)
    assert shown, "no probability bars"
    return {CLASS_TITLES[label]: value for label, value in shown.items()}


def _upload(at, name: str, data: bytes):
    at.file_uploader(key="dx_upload").set_value((name, data, "image/png")).run()
    anyway = [box for box in at.checkbox if box.key and box.key.startswith("dx_anyway_")]
    if anyway and not anyway[0].value:  # the untrained tiny model may refuse a synthetic film
        anyway[0].check().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_interleaved_dashboard_sessions_see_only_their_own_results(app_env, loaded):
    """Several live sessions in one process share the cached model and caches, never each other's results."""
    from streamlit.testing.v1 import AppTest

    expected = [_expected_shares(loaded, name, data) for name, data in FILES]
    assert len({tuple(shares.values()) for shares in expected}) == len(FILES)  # a mix-up would show
    sessions = []
    for _ in range(3):
        at = AppTest.from_file(APP, default_timeout=600).run()
        sessions.append(at.button(key="notice_ack_button").click().run())
    for at, (name, data) in zip(sessions, FILES):
        _upload(at, name, data)
    for at, (name, data) in zip(sessions, FILES):  # each still shows its own image after the others ran
        assert _shown_shares(at) == _expected_shares(loaded, name, data)
        assert any(c.replace("\\", "").startswith(name) for image in at.image for c in image.captions)  # shown escaped
    _upload(sessions[1], *FILES[5])  # a new image in one session changes that session only
    assert _shown_shares(sessions[1]) == _expected_shares(loaded, *FILES[5])
    for at, (name, data) in ((sessions[0], FILES[0]), (sessions[2], FILES[2])):
        at.run()
        assert _shown_shares(at) == _expected_shares(loaded, name, data)


@pytest.mark.browser
def test_concurrent_browser_sessions_against_one_server(loaded, tiny_checkpoint, tmp_path):
    """Four headless-Chromium sessions upload different films at the same moment to one streamlit server."""
    from _browser import CHROMIUM, CHROMIUM_ARGS, RESULT_MS, require_chromium
    from playwright.sync_api import sync_playwright

    require_chromium()
    sessions = FILES[:4]
    assert len({tuple(_expected_shares(loaded, *item).values()) for item in sessions}) == len(sessions)
    with _streamlit_server(tmp_path, tiny_checkpoint) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = []
            for name, data in sessions:
                (tmp_path / name).write_bytes(data)
                page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
                page.set_default_timeout(RESULT_MS)
                page.goto(url)
                page.get_by_role("button", name="I understand").click()
                pages.append(page)
            for page, (name, _) in zip(pages, sessions):  # all uploads first: the server runs them concurrently
                page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(tmp_path / name))
            for page, (name, data) in zip(pages, sessions):
                _reveal_chart(page)
                shown = {CLASS_TITLES[k]: v for k, v in browser_probabilities(page).items()}
                expected = {k: round(v, 1) for k, v in _expected_shares(loaded, name, data).items()}
                assert shown == expected, name
                assert page.get_by_text(name, exact=False).first.is_visible()
                assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()


def _streamlit_server(tmp_path: Path, checkpoint: Path) -> Iterator[str]:
    """`streamlit run dashboard/app.py` on a free localhost port (no corpus needed)."""
    return streamlit_server(tmp_path, checkpoint, tmp_path / "no-corpus")


def _reveal_chart(page) -> None:
    refusal = page.get_by_text("Show the prediction anyway")
    chart = page.locator(BROWSER_ROWS).first
    chart.or_(refusal).first.wait_for(state="visible")
    if refusal.is_visible():
        refusal.click()
    chart.wait_for(state="visible")
