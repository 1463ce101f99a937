"""``explain --json`` reports the lungs exactly as the core service (and so Diagnose and the PDF) does."""

from __future__ import annotations

import json

import pytest
from _lung_cases import CASES, checkpoint, corner_lungs, film, segmenter
from PIL import Image

from xray_core.cli.main import main as cli_main
from xray_core.explain import lung_findings as service
from xray_core.explain.cam import explain
from xray_core.explain.lung_findings import film_lungs, lung_findings
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint


@pytest.mark.parametrize("case", list(CASES))
def test_explain_json_lungs_agree_with_the_service(case, tmp_path, capsys, monkeypatch):
    kind, trained, reason = CASES[case]
    model, lungs = checkpoint(tmp_path / "model.pt", kind), segmenter(tmp_path / "lungs.pt", trained)
    if case == "outside":
        monkeypatch.setattr(service, "segment", corner_lungs)
    path = tmp_path / "film.png"
    Image.fromarray(film()).save(path)
    code = cli_main(["explain", str(path), "--checkpoint", str(model), "--segmenter", str(lungs), "--json"])
    record = json.loads(capsys.readouterr().out)
    explanation = explain(load_checkpoint(model), read_image(path))
    found = film_lungs(read_image(path), explanation.prediction.refused, lungs)
    assert code == 0 and record["lungs"] == lung_findings(found, explanation.cam, explanation.flat).to_dict()
    assert record["lungs"]["reason"] == reason and "inside_lungs" not in json.dumps(record)
    assert (record["lungs"]["lung_fraction"] is None) == (reason is not None)
    assert [d["code"] for d in record["lungs"]["decisions"]] == (["outside_lungs"] if case == "outside" else [])
