"""The PDF report's lungs: the same findings as the core service (and so Diagnose and ``explain --json``)."""

from __future__ import annotations

import pytest
from _lung_cases import CASES, checkpoint, corner_lungs, film, segmenter
from _pdf import pdf_text

from xray_core.explain import lung_findings as service
from xray_core.explain.cam import explain
from xray_core.explain.lung_findings import film_lungs, lung_findings
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import load_checkpoint
from xray_core.report.content import build_report
from xray_core.report.pdf import render_pdf


@pytest.mark.parametrize("case", list(CASES))
def test_report_lungs_agree_with_the_service(case, tmp_path, monkeypatch):
    kind, trained, reason = CASES[case]
    lungs = segmenter(tmp_path / "lungs.pt", trained)
    monkeypatch.setenv("XRAY_SEGMENTER", str(lungs))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    if case == "outside":
        monkeypatch.setattr(service, "segment", corner_lungs)
    loaded, image = load_checkpoint(checkpoint(tmp_path / "model.pt", kind)), XrayImage(film())
    content = build_report(loaded, image, similar=[])
    explanation = explain(loaded, image)
    found = film_lungs(image, explanation.prediction.refused, lungs)
    assert content.lungs.to_dict() == lung_findings(found, explanation.cam, explanation.flat).to_dict()
    assert content.lungs.reason == reason
    (tmp_path / "report.pdf").write_bytes(render_pdf(content))
    text = pdf_text(tmp_path / "report.pdf")
    assert ("[outside_lungs]" in text) == (case == "outside")
    if case == "normal":
        assert "100 % of the heatmap lies inside them" in text
    if case in ("flat", "untrained_segmenter"):
        assert service.REASONS[reason] in text and "of the heatmap lies inside" not in text
