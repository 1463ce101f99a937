"""``python -m xray_core report FILE --out report.pdf``: a PDF whose text holds the probabilities and disclaimer."""

from __future__ import annotations

import json

from _checkpoints import tiny_checkpoint
from _pdf import pdf_text

from xray_core.cli.main import main
from xray_core.config import CLASS_TITLES
from xray_core.inference.results import percentages
from xray_core.inference.wording import DISCLAIMER_SHORT


def test_report_writes_a_pdf_with_the_probabilities_and_the_disclaimer(tmp_path, monkeypatch, tiny_dataset, capsys):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    checkpoint = str(tiny_checkpoint(tmp_path / "tiny.pt", "cli-report"))
    film = str(tiny_dataset / "images" / "003.png")
    out = tmp_path / "out" / "report.pdf"
    assert main(["report", film, "--out", str(out), "--checkpoint", checkpoint, "--data", str(tiny_dataset)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    assert main(["predict", film, "--json", "--checkpoint", checkpoint]) == 0
    probabilities = json.loads(capsys.readouterr().out)[0]["probabilities"]
    text = pdf_text(out)
    for name, share in percentages(probabilities).items():
        assert f"{CLASS_TITLES[name]} {share:.1f} %" in text
    assert DISCLAIMER_SHORT in text
    assert "003.png" not in text  # the file name only when given
    again = ["report", film, "--out", str(out), "--file-name", "film-A", "--checkpoint", checkpoint]
    assert main([*again, "--data", str(tiny_dataset)]) == 0
    assert "film-A" in pdf_text(out)
