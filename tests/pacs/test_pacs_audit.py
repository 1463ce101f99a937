"""PACS audit lines: the core's fields plus the SOP Instance UID, for scored and header-refused films alike."""

from __future__ import annotations

import json

from xray_core.inference.audit import RECORD_KEYS
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction
from xray_core.pacs.audit import audit_film, film_record

MODEL = {"version": "v1", "sha256": "ab" * 32}


def test_scored_and_refused_lines(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("XRAY_AUDIT_LOG", str(log))
    prediction = Prediction("x", "viral", {"normal": 0.1, "bacterial": 0.2, "viral": 0.6, "covid": 0.1}, [], 1.0,
                            decisions=[Decision("uncertain", "", 0.6, 0.7)])  # fmt: skip
    assert audit_film(film_record(b"film", "1.2.3", MODEL, prediction))
    assert audit_film(film_record(b"lateral", "1.2.4", MODEL, refusal={"code": "dicom_view", "field": "ViewPosition"}))
    scored, refused = (json.loads(line) for line in log.read_text().splitlines())
    assert set(RECORD_KEYS) <= set(scored) and scored["sop_instance_uid"] == "1.2.3" and scored["source"] == "pacs"
    assert scored["decisions"] == [{"code": "uncertain", "score": 0.6, "threshold": 0.7}]
    assert refused["refused"] is True and refused["decisions"][0]["code"] == "dicom_view" and refused["label"] is None


def test_nothing_written_without_the_variable(monkeypatch):
    monkeypatch.delenv("XRAY_AUDIT_LOG", raising=False)
    assert audit_film(film_record(b"x", "1.2.3", MODEL, refusal={"code": "dicom_view"})) is False
