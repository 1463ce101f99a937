"""Diagnose's lungs: the same findings as the core service (and so ``explain --json`` and the PDF), by reason code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _factories import png_bytes
from _lung_cases import CASES, checkpoint, corner_lungs, film, segmenter
from streamlit.testing.v1 import AppTest

from dashboard.lung_view import REASON_WORDS, draw
from xray_core.explain.lung_findings import FilmLungs

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
SHOWN = {  # case -> what Diagnose says about the lungs
    "refused": REASON_WORDS["refused"],
    "flat": REASON_WORDS["flat_map"],
    "untrained_segmenter": REASON_WORDS["untrained_segmenter"],
    "normal": "100 % of the heatmap lies inside the lungs",
    "outside": "Most of the heatmap lies outside the lungs.",
}


def _texts(at: AppTest) -> str:
    kinds = ("error", "warning", "info", "markdown", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)).replace("*", "")


@pytest.mark.parametrize("case", list(CASES))
def test_diagnose_lungs_agree_with_the_service(case, tmp_path, monkeypatch):
    kind, trained, reason = CASES[case]
    monkeypatch.setenv("XRAY_CHECKPOINT", str(checkpoint(tmp_path / "model.pt", kind)))
    monkeypatch.setenv("XRAY_SEGMENTER", str(segmenter(tmp_path / "lungs.pt", trained)))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    if case == "outside":
        monkeypatch.setattr("dashboard.lung_view.segment", corner_lungs)
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.button(key="notice_ack_button").click().run()
    seed = list(CASES).index(case)  # content differs per case: the shared mask cache is keyed by content
    at.file_uploader(key="dx_upload").set_value(("film.png", png_bytes(film(seed)), "image/png")).run()
    anyway = [c for c in at.checkbox if c.key and c.key.startswith("dx_anyway_")]
    assert bool(anyway) == (case == "refused")
    if anyway:
        anyway[0].check().run()
    assert not at.exception, [e.value for e in at.exception]
    text = _texts(at)
    assert SHOWN[case] in text, text
    assert ("of the heatmap lies inside the lungs" in text) == (reason is None)
    assert ("outside the lungs" in text) == (case == "outside")
    assert bool([c for c in at.checkbox if c.key == "dx_lungs"]) == (case not in ("refused", "untrained_segmenter"))


def test_draw_paints_the_outline_only_when_there_is_one():
    rgb = np.zeros((20, 20, 3), np.uint8)
    assert draw(rgb, FilmLungs(reason="untrained_segmenter")) is rgb
    outline = np.zeros((20, 20), bool)
    outline[4, 2:9] = True
    painted = draw(rgb, FilmLungs(outline.copy(), outline, {"version": "x"}))
    assert painted[4, 2:9].any(axis=1).all() and painted[10, 10].sum() == 0
