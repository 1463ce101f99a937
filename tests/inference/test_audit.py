"""The optional audit log: JSON lines with a fixed whitelist of keys, no patient data, thread-safe appends."""

from __future__ import annotations

import json
import threading

import pytest
from _factories import PATIENT_FIELDS, dicom_bytes

from xray_core.evaluation.reliability.files import film
from xray_core.inference import audit
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction, predict_image
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint


def _prediction(refused: bool = False) -> Prediction:
    decisions = [Decision("ood_features", "far from training radiographs", 50.0, 37.0)] if refused else []
    return Prediction(
        name="Doe_Jane_PID-0042.dcm",
        label="normal",
        probabilities={"normal": 0.7, "bacterial": 0.1, "viral": 0.1, "covid": 0.1},
        logits=[0.0] * 4,
        elapsed_ms=1.0,
        ood_score=50.0 if refused else 20.0,
        ood_threshold=37.0,
        decisions=decisions,
    )


def test_record_has_only_whitelisted_keys_and_no_file_name(tmp_path):
    log = audit.AuditLog(tmp_path / "logs" / "audit.jsonl")
    digest = audit.sha256_hex(b"image bytes")
    entry = log.record(digest, _prediction(refused=True), "1.0", "ab" * 32)
    assert tuple(entry) == audit.RECORD_KEYS
    [line] = (tmp_path / "logs" / "audit.jsonl").read_text().splitlines()
    assert json.loads(line) == entry
    assert entry["input_sha256"] == digest and entry["refused"] is True and entry["ood_score"] == 50.0
    assert entry["decisions"] == [{"code": "ood_features", "score": 50.0, "threshold": 37.0}]
    assert sum(entry["probabilities"].values()) == pytest.approx(1.0)
    assert "Doe" not in line and "PID" not in line  # the file name is never logged


def test_bad_digest_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="SHA-256"):
        audit.AuditLog(tmp_path / "a.jsonl").record("not-a-hash", _prediction(), "1.0")


def test_concurrent_appends_stay_whole_lines(tmp_path):
    log = audit.AuditLog(tmp_path / "audit.jsonl")

    def write(worker: int) -> None:
        for index in range(50):
            log.record(audit.sha256_hex(f"{worker}-{index}".encode()), _prediction(index % 2 == 0), "1.0")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = log.read()
    assert len(records) == 400 and len({r["input_sha256"] for r in records}) == 400


def test_env_switch_and_dicom_patient_fields_never_logged(tmp_path, monkeypatch, tiny_checkpoint):
    data = dicom_bytes(film(96, 80).astype("uint16") * 16)
    loaded = load_checkpoint(tiny_checkpoint)
    prediction = predict_image(loaded, read_image(data, name="Doe_Jane.dcm"))
    monkeypatch.delenv(audit.ENV_VAR, raising=False)
    assert audit.from_env() is None and audit.audit_prediction(data, prediction, loaded) is None
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv(audit.ENV_VAR, str(path))
    entry = audit.audit_prediction(data, prediction, loaded)
    assert entry["input_sha256"] == audit.sha256_hex(data) and entry["model_sha256"] == loaded.sha256
    text = path.read_text()
    for value in (*PATIENT_FIELDS.values(), "Doe_Jane"):
        assert value.split("^")[0] not in text
    assert audit.from_env() is audit.from_env()  # one shared instance per path
