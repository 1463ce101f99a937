"""The server settings the dashboard's speed and safety rely on (measured by bench/bench_dashboard.py)."""

from __future__ import annotations

import tomllib

from xray_core.config import REPO_ROOT

CONFIG = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())


def test_no_full_collection_after_each_script_run():
    # gc.collect(2) after every run held the interpreter ~0.3 s; the new heatmap's request waited behind it
    assert CONFIG["runner"]["postScriptGC"] is False


def test_no_file_watching_and_no_tracebacks_for_users():
    assert CONFIG["server"]["fileWatcherType"] == "none"
    assert CONFIG["client"]["showErrorDetails"] == "none"
