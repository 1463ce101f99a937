"""``pacs score`` against a real Orthanc: the SR sent back holds ``predict --json``'s numbers, a second run skips
the study, a new model version scores it again, lateral and CT films are refused with reasons, one bad study is
an error row (the run goes on), and no patient name reaches the audit log or any file the project writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _orthanc import orthanc_server, study

from xray_core.cli.main import main
from xray_core.models.checkpoint import update_meta
from xray_core.pacs import scoring
from xray_core.pacs.client import connect, retrieve_series, store, to_bytes
from xray_core.pacs.sr_read import read_sr

pytestmark = pytest.mark.pacs


@pytest.fixture(scope="module")
def server():
    with orthanc_server() as running:
        yield running


@pytest.fixture
def files(tmp_path, monkeypatch) -> Path:
    """Where the project may write during the test: the audit log and the cache."""
    monkeypatch.setenv("XRAY_AUDIT_LOG", str(tmp_path / "written" / "audit.jsonl"))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "written" / "cache"))
    return tmp_path / "written"


def _score(capsys, url: str, checkpoint: Path, *extra: str) -> tuple[int, dict]:
    code = main(["pacs", "score", "--url", url, "--checkpoint", str(checkpoint), "--no-progress", *extra])
    return code, json.loads(capsys.readouterr().out)


def _reports(pacs, study_uid: str) -> list:
    series = pacs.client.search_for_series(study_uid, search_filters={"Modality": "SR"})
    return [read_sr(ds) for item in series for _, ds in retrieve_series(pacs, study_uid, item["0020000E"]["Value"][0])]


def test_score_round_trip_idempotent_per_model_version(server, tiny_checkpoint, tmp_path, files, capsys):
    pacs = connect(server.dicomweb)
    film, lateral, ct = study(401, size=128), study(402, view="LL"), study(403, modality="CT", view="")
    store(pacs, [film, lateral, ct])

    code, summary = _score(capsys, server.dicomweb, tiny_checkpoint)
    assert code == 0 and sum(summary["counts"].values()) == 3
    reasons = {row["study_uid"]: row["films"][0].get("reason") for row in summary["studies"]}
    assert reasons[lateral.StudyInstanceUID] == "dicom_view" and reasons[ct.StudyInstanceUID] == "dicom_modality"

    (tmp_path / "film.dcm").write_bytes(to_bytes(film))
    assert main(["predict", str(tmp_path / "film.dcm"), "--json", "--checkpoint", str(tiny_checkpoint),
                 "--engine", "torch"]) == 0  # fmt: skip
    [predicted] = json.loads(capsys.readouterr().out)
    [report] = _reports(pacs, film.StudyInstanceUID)
    assert report.probabilities == pytest.approx(predicted["probabilities"], abs=1e-4)
    assert report.label == predicted["label"] and report.refused == predicted["refused"]
    film_status = "refused" if predicted["refused"] else "scored"  # the tiny random model may call it unlike chests
    assert summary["counts"] == ({"scored": 1, "refused": 2} if film_status == "scored" else {"refused": 3})
    assert report.source_sop_instance_uid == film.SOPInstanceUID

    code, again = _score(capsys, server.dicomweb, tiny_checkpoint)
    assert again["counts"].get("skipped") == 1 and len(_reports(pacs, film.StudyInstanceUID)) == 1

    newer = tmp_path / "newer.pt"
    shutil.copy(tiny_checkpoint, newer)
    newer_sha = update_meta(newer, version="test-tiny-2")
    code, rescored = _score(capsys, server.dicomweb, newer, "--study", film.StudyInstanceUID)
    assert rescored["counts"] == {film_status: 1}
    assert {(r.model_version, r.model_sha256) for r in _reports(pacs, film.StudyInstanceUID)} == {
        ("test-tiny", report.model_sha256),
        ("test-tiny-2", newer_sha),
    }

    lines = [json.loads(line) for line in (files / "audit.jsonl").read_text().splitlines()]
    audit = [line for line in lines if line.get("source") == "pacs"]  # predict wrote its own line too
    assert len(audit) == 3 + 2 + 1  # first run; the refused films re-checked on the second; the new version
    assert {line["sop_instance_uid"] for line in audit} == {
        film.SOPInstanceUID,
        lateral.SOPInstanceUID,
        ct.SOPInstanceUID,
    }
    assert all(line["model_sha256"] and "decisions" in line for line in audit)
    for path in (p for p in files.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in (b"DEMO^040", b"DEMO040", b"DEMOACC"):
            assert secret not in data, f"{path} holds patient data"


def test_one_bad_study_is_an_error_row_and_the_run_goes_on(server, tiny_checkpoint, files, capsys, monkeypatch):
    pacs = connect(server.dicomweb)
    bad, good = study(411), study(412)
    store(pacs, [bad, good])
    real = scoring.retrieve_series

    def flaky(pacs, study_uid, series_uid):
        if study_uid == bad.StudyInstanceUID:
            raise ConnectionError("the PACS dropped the connection")
        return real(pacs, study_uid, series_uid)

    monkeypatch.setattr(scoring, "retrieve_series", flaky)
    code, summary = _score(capsys, server.dicomweb, tiny_checkpoint, "--force")
    rows = {row["study_uid"]: row for row in summary["studies"]}
    assert code == 1 and rows[bad.StudyInstanceUID]["status"] == "error"
    assert "dropped the connection" in rows[bad.StudyInstanceUID]["error"]
    assert rows[good.StudyInstanceUID]["status"] in ("scored", "refused")
