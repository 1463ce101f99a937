"""A shared server: bounded caches, per-session upload budget, no names across sessions, escaped names, safe CSV,
datasets only from the offered list. Real widgets (AppTest) and real xray_core calls with the tiny checkpoint."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from _apptest import APP, TIMEOUT, chest_film, start, texts, upload, zip_bytes
from _factories import png_bytes
from streamlit.testing.v1 import AppTest

from dashboard import budget, components, dataset_choice, safe_text
from xray_core import config
from xray_core.config import ServerBudget


def _wide_png(width: int, height: int) -> bytes:
    """A tiny-to-store PNG of ``width`` x ``height`` (a gradient compresses to a few kB)."""
    from PIL import Image

    row = np.linspace(40, 220, width).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.broadcast_to(row, (height, width)))).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------ budgets


def test_budget_arithmetic():
    limits = ServerBudget(display_side=1024, film_cache_bytes=100, display_cache_bytes=20, session_upload_bytes=7)
    assert limits.film_bytes(7000, 7000) == 196_000_000
    assert limits.display_bytes(7000, 7000) == 6 * 1024 * 1024  # float32 map + bool mask + bool outline
    assert limits.display_bytes(2000, 1000) == 6 * 1024 * 512
    assert limits.display_bytes(800, 600) == 6 * 800 * 600  # never enlarged
    assert limits.pinned_bytes(sessions=4) == 100 + 20 + 4 * 7
    shipped = config.SERVER_BUDGET
    assert shipped.max_pixels < config.DEFAULT_MAX_PIXELS  # the dashboard's film is smaller than the CLI's limit
    assert shipped.pinned_bytes(4) <= 3 * 1024**3 - 1024**3  # caches + 4 sessions leave a GB for models and work


def test_byte_budget_cache_evicts_least_recent_and_skips_oversized():
    cache = budget.ByteBudgetCache(lambda: 1000)
    calls = []

    def make(n: int):
        calls.append(n)
        return np.zeros(n, np.uint8)

    cache.get("a", lambda: make(400))
    cache.get("b", lambda: make(400))
    cache.get("a", lambda: make(400))  # a is now the most recent
    cache.get("c", lambda: make(400))  # 1200 > 1000: b goes
    assert calls == [400, 400, 400] and cache.nbytes == 800 and len(cache) == 2
    cache.get("a", lambda: make(400))
    assert calls == [400, 400, 400]  # a was kept
    assert cache.get("huge", lambda: make(5000)).nbytes == 5000 and "huge" not in [v.nbytes for v in cache.values()]
    assert cache.nbytes == 800


def test_streamlit_enforces_the_stated_upload_cap_server_side():
    settings = tomllib.loads((config.REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["maxUploadSize"] == 100  # the server rejects larger bodies, not only the browser
    for page in (config.REPO_ROOT / "dashboard").rglob("*.py"):  # one cap: no uploader sets its own
        assert "max_upload_size" not in page.read_text(), page


def test_a_large_film_is_cached_at_display_size(loaded, monkeypatch):
    monkeypatch.setattr(components, "FILMS", budget.ByteBudgetCache(lambda: config.SERVER_BUDGET.film_cache_bytes))
    monkeypatch.setattr(components, "MAPS", budget.ByteBudgetCache(lambda: config.SERVER_BUDGET.display_cache_bytes))
    image, problem = components.decode("big.png", _wide_png(4000, 3000))
    assert problem == "" and image.pixels.shape == (3000, 4000)
    explanation, problem = components.explain(loaded, "big", image, "gradcam", None)
    assert problem == ""
    side = config.SERVER_BUDGET.display_side
    [cached] = components.MAPS.values()
    assert cached.cam.shape == (side * 3 // 4, side)  # display size, not 3000 x 4000
    assert components.MAPS.nbytes < 5 * side * side
    assert explanation.cam.shape == cached.cam.shape


def test_a_7000_px_film_is_refused_on_the_dashboard_before_decoding(monkeypatch):
    monkeypatch.setattr(components, "FILMS", budget.ByteBudgetCache(lambda: config.SERVER_BUDGET.film_cache_bytes))
    image, problem = components.decode("huge.png", _wide_png(7000, 7000))
    assert image is None and "megapixel limit" in problem and problem.startswith("huge\\.png: ")
    assert components.FILMS.nbytes == 0  # nothing pinned


def test_session_upload_budget_refuses_with_a_clear_message(env, monkeypatch):
    monkeypatch.setattr(config, "SERVER_BUDGET", dataclasses.replace(config.SERVER_BUDGET, session_upload_bytes=5000))
    at = start("batch")
    films = [(f"f{i}.png", png_bytes(chest_film(i, 64)), "image/png") for i in range(3)]
    assert sum(len(f[1]) for f in films) > 5000
    at.file_uploader(key="batch_files").set_value(films).run()
    assert not at.exception
    assert any("above this server's 0 MB per session" in e.value for e in at.error), [e.value for e in at.error]
    assert not [b for b in at.button if b.key == "batch_run"]


# ------------------------------------------------------------------------------------------------ names


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """What each download button would deliver: URL or deferred id -> bytes or the callable building them.

    AppTest's runtime (and its media store) exists only while a script runs, so the store's two entry points
    are wrapped to keep what they were given."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def keep(self, data, *args, **kwargs):
        url = add(self, data, *args, **kwargs)
        found[url] = data
        return url

    def keep_deferred(self, build, *args, **kwargs):
        file_id = add_deferred(self, build, *args, **kwargs)
        found[file_id] = build
        return file_id

    monkeypatch.setattr(MediaFileManager, "add", keep)
    monkeypatch.setattr(MediaFileManager, "add_deferred", keep_deferred)
    return found


def _result_json(at: AppTest, downloads: dict) -> dict:
    """The JSON download's content, built as a click builds it (the deferred callable)."""
    [button] = [b for b in at.get("download_button") if b.proto.label == "Result (JSON)"]
    return json.loads(downloads[button.proto.deferred_file_id]())


def test_a_file_name_never_reaches_another_session(env, downloads):
    data = png_bytes(chest_film(11, 96))
    first = upload(start(), "Doe_Jane_MRN123.png", data)
    assert _result_json(first, downloads)["prediction"]["name"] == "Doe_Jane_MRN123.png"
    second = upload(start(), "Roe_Richard_MRN456.png", data)  # same bytes: the shared caches answer
    record = _result_json(second, downloads)
    assert (
        record["prediction"]["name"] == "Roe_Richard_MRN456.png"
        and record["image"]["name"] == record["prediction"]["name"]
    )
    page = texts(second) + json.dumps([j.value for j in second.json]) + json.dumps(record)
    page += " ".join(c for image in second.image for c in image.captions)
    assert "Doe" not in page and "MRN123" not in page


def test_shared_caches_hold_no_file_name(env):
    upload(start(), "Secret_Name.png", png_bytes(chest_film(12, 96)))
    held = repr(components.FILMS.values()) + repr(components.MAPS.values())
    assert "Secret_Name" not in held


# ------------------------------------------------------------------------------------------------ escaping, CSV


def test_markdown_in_names_is_escaped():
    hostile = "![x](https://evil.example/p.png) :red[big] $x$ <img src=x>.png"
    escaped = safe_text.name(hostile)
    assert re.search(r"(?<!\\)[!\[\]()<>:$]", escaped) is None  # every Markdown character behind a backslash
    assert escaped.replace("\\", "") == hostile  # shown literally once Markdown drops the escapes
    assert safe_text.name("a\nb\rc") == "a b c"


def test_hostile_names_render_literally_on_diagnose_and_batch(env):
    hostile = "![x](https://evil.example/p.png).png"
    at = upload(start(), hostile, png_bytes(chest_film(13, 96)))
    shown = [c for image in at.image for c in image.captions] + [m.value for m in at.markdown]
    assert all("![x](" not in text for text in shown)
    at = start("batch")
    archive = zip_bytes({"![y](https://evil.example/q.png).png": png_bytes(chest_film(14)), "[z](http://e).txt": b"hi"})
    at.file_uploader(key="batch_files").set_value([("a.zip", archive, "application/zip")]).run()
    at.button(key="batch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rendered = [w.value for w in at.warning] + [c for image in at.image for c in image.captions]
    assert rendered and all("](" not in text for text in rendered), rendered


def test_csv_cells_that_would_run_as_formulas_are_neutralised():
    rows = [{"file": '=HYPERLINK("http://e")', "a %": 1.5, "flags": "+cmd"}, {"file": "@x", "flags": "\tx"}]
    assert safe_text.csv_rows(rows) == [
        {"file": '\'=HYPERLINK("http://e")', "a %": 1.5, "flags": "'+cmd"},
        {"file": "'@x", "flags": "'\tx"},
    ]
    assert safe_text.csv_cell("-1") == "'-1" and safe_text.csv_cell("\rx") == "'\rx" and safe_text.csv_cell(-1) == -1
    assert safe_text.csv_cell("normal") == "normal"


def test_batch_csv_download_is_formula_safe(env, downloads):
    at = start("batch")
    at.file_uploader(key="batch_files").set_value([("=cmd().png", png_bytes(chest_film(15)), "image/png")]).run()
    at.button(key="batch_run").click().run()
    [button] = [b for b in at.get("download_button") if b.proto.label == "Download results (CSV)"]
    content = bytes(downloads[button.proto.url]).decode()
    assert "\n'=cmd().png," in content and "\n=cmd" not in content


# ------------------------------------------------------------------------------------------------ datasets


def test_only_offered_datasets_are_allowed(env, folder_dataset, tmp_path):
    extra = tmp_path / "site_dataset"
    extra.mkdir()
    env.setenv("XRAY_DATASETS", str(extra))
    offered = dataset_choice.allowed_datasets()
    assert offered[0] == folder_dataset.resolve() and extra.resolve() in offered
    inside = sorted(p for p in folder_dataset.iterdir() if p.is_dir())[0]  # a folder directly in the data folder
    assert inside.resolve() in offered
    assert dataset_choice.is_allowed(str(inside / ".." / inside.name))
    (inside / "deeper").mkdir(exist_ok=True)
    for outside in ("/", "/etc", str(folder_dataset.parent), str(inside / "deeper"), str(inside / ".." / ".."), ""):
        assert not dataset_choice.is_allowed(outside), outside
    table, error = components.load_table("/etc")
    assert table is None and "not one this server offers" in error


def test_explorer_offers_a_select_box_and_refuses_an_injected_path(env, folder_dataset):
    at = start("explore")
    assert not at.text_input and at.selectbox(key="ex_dataset").value == str(folder_dataset.resolve())
    assert at.dataframe  # the offered dataset opens
    assert set(at.selectbox(key="ex_dataset").options) == {
        dataset_choice.label(p) for p in dataset_choice.allowed_datasets()
    }


def test_a_planted_path_is_refused_by_the_page(env, folder_dataset, monkeypatch):
    """A forged selection (widget state the select box did not offer) is checked again before anything is read."""
    at = start("explore")
    offered = dataset_choice.allowed_datasets()
    monkeypatch.setattr(
        dataset_choice, "allowed_datasets", lambda: offered[1:]
    )  # the selected one is no longer offered
    monkeypatch.setattr("streamlit.selectbox", lambda *args, **kwargs: str(offered[0]))  # the forged value arrives
    at.run()
    assert not at.exception
    assert any("not one this server offers" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.dataframe


def test_explorer_with_query_params_cannot_open_a_free_path(env, folder_dataset):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ex_path"] = "/"
    at.query_params["ex_dataset"] = "/"
    at.run()
    at.button(key="notice_ack_button").click().run()
    at.switch_page("views/explore.py").run()
    assert not at.exception
    assert at.selectbox(key="ex_dataset").value == str(Path(folder_dataset).resolve())
