"""The dashboard paints its notice and uploader before torch loads, and warms the models in the background.

* What the app and the Diagnose page import before a film is picked never imports torch (a subprocess each).
* ``dashboard.warmup.warm`` fills the pages' own model cache: the first page call loads nothing.
* A real ``streamlit run`` server warms itself from the first page view, while the notice is still unacknowledged,
  and then answers an upload (``-m browser``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from _factories import gradient, png_bytes
from _probabilities import BROWSER_ROWS
from _streamlit_server import streamlit_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


def _top_level_imports(path: Path) -> list[str]:
    """The module's top-level import statements as source lines (what runs before its first function)."""
    tree = ast.parse(path.read_text())
    return [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


@pytest.mark.parametrize("heavy", ["torch", "pydicom"])
@pytest.mark.parametrize("script", ["dashboard/app.py", "dashboard/views/diagnose.py"])
def test_first_page_imports_no_torch(script, heavy):
    """The notice and the uploader must not wait for torch (4-6 s on 2 cores) nor pydicom (about 1 s):
    dashboard.warmup imports them."""
    code = "\n".join([*_top_level_imports(ROOT / script), "import sys", f"print({heavy!r} in sys.modules)"])
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", f"{script} imports {heavy} before a film is picked"


@pytest.fixture
def warmup_env(monkeypatch, tiny_checkpoint, tmp_path):
    monkeypatch.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint))
    monkeypatch.setenv("XRAY_SEGMENTER", str(tmp_path / "no_lungs.pt"))  # the warm-up must survive a missing one
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XRAY_DASHBOARD_THREADS", str(__import__("torch").get_num_threads()))  # leave it unchanged
    return monkeypatch


def test_warm_fills_the_pages_model_cache(warmup_env):
    from dashboard import components, warmup

    steps = warmup.warm()
    assert "error" not in steps, steps
    assert warmup.status() == steps
    assert {"imports_s", "model_s", "first_pass_s", "lungs_s"} <= set(steps)
    loaded, error = components.get_model(wait=False)  # without waiting: already loaded
    assert loaded is not None and error == ""
    warmup_env.setattr("xray_core.models.checkpoint.load_checkpoint", lambda *a, **k: pytest.fail("loaded twice"))
    assert components.get_model()[0] is loaded


def test_warm_makes_the_onnx_engine_that_gives_the_probabilities(warmup_env, tmp_path):
    """No export yet: the warm-up makes and verifies one once torch is warm; the pages' predictions then come from
    ONNX Runtime, with torch's probabilities."""
    import numpy as np

    from dashboard import components, fast_engine, warmup
    from xray_core.io.reader import read_image

    images = tmp_path / "data" / "images"
    images.mkdir(parents=True)
    for index in range(3):
        (images / f"{index}.png").write_bytes(png_bytes(gradient(72 + 8 * index, 64)))
    warmup_env.setenv("XRAY_DATA_DIR", str(tmp_path / "data"))
    warmup_env.setenv("XRAY_ONNX_AUTO", "1")
    steps = warmup.warm()
    assert "error" not in steps and "onnx_export_s" in steps, steps
    fast = fast_engine.model()
    assert fast is not None and fast.engine == "onnx"
    film = read_image(images / "1.png")
    torch_model = components.get_model()[0]
    expected = components.predict(torch_model, "film", film).probabilities
    actual = components.predict(fast, "film", film).probabilities
    np.testing.assert_allclose(list(actual.values()), list(expected.values()), atol=1e-5)
    assert "onnx_export_s" not in warmup.warm()  # the next warm-up finds the export


def test_warm_reports_a_missing_checkpoint(warmup_env, tmp_path):
    from dashboard import components, warmup

    warmup_env.setenv("XRAY_CHECKPOINT", str(tmp_path / "missing.pt"))
    steps = warmup.warm()
    assert "No model checkpoint" in steps["error"]
    assert "No model checkpoint" in components.get_model(wait=False)[1]


@pytest.mark.browser
def test_server_warms_while_the_notice_is_read(tmp_path, tiny_checkpoint):
    """The warm-up starts with the first page view (nothing acknowledged yet) and finishes; then an upload works."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make browser-deps)")
    film = tmp_path / "film.png"
    film.write_bytes(png_bytes(gradient(96, 80)))
    with streamlit_server(tmp_path, tiny_checkpoint, tmp_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_default_timeout(300_000)
            page.goto(url)
            button = page.get_by_role("button", name="I understand")
            button.wait_for(state="visible")
            log = tmp_path / "streamlit.log"
            for _ in range(3000):
                if "dashboard warm-up finished" in log.read_text(errors="replace"):
                    break
                page.wait_for_timeout(100)
            text = log.read_text(errors="replace")
            assert "dashboard warm-up finished" in text, text[-2000:]
            assert "warm-up failed" not in text and "'error'" not in text, text[-2000:]
            assert button.is_visible()  # warmed before the notice was acknowledged
            button.click()
            page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(film))
            chart = page.locator(BROWSER_ROWS).first
            chart.or_(page.get_by_text("Show the prediction anyway")).first.wait_for(state="visible")
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()


def test_sidebar_names_the_model_once_the_first_upload_has_loaded_it(monkeypatch, tmp_path):
    """Warm-up on but not finished: the sidebar says the model is loading, Diagnose loads it for the first upload,
    and the sidebar then names the model rather than still saying it is loading beside the result."""
    from _checkpoints import tiny_checkpoint
    from streamlit.testing.v1 import AppTest

    from dashboard import warmup

    checkpoint = tiny_checkpoint(tmp_path / "cold.pt", "cold-start")  # a file no earlier test has loaded
    monkeypatch.setenv("XRAY_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("XRAY_SEGMENTER", str(tmp_path / "no_lungs.pt"))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(warmup, "enabled", lambda: True)  # what a real server does: Diagnose does not wait
    monkeypatch.setattr(warmup, "start", lambda: None)  # the background thread has not loaded anything yet
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600).run()
    at.button(key="notice_ack_button").click().run()
    assert any("Loading the model" in caption.value for caption in at.sidebar.caption)
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(gradient(96, 80)), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    sidebar = " ".join(caption.value for caption in at.sidebar.caption)
    assert "cold-start" in sidebar and "Loading the model" not in sidebar, sidebar
