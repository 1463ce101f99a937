"""The Comprehensive SR and the secondary capture: valid (dciodvfy, highdicom) and read back into the numbers
of the report they were built from."""

from __future__ import annotations

import io
import shutil
import subprocess

import pydicom
import pytest
from _orthanc import study

from xray_core.inference.decisions import Decision
from xray_core.io.reader import read_image
from xray_core.pacs import identity
from xray_core.pacs.capture import BANNER, build_capture, with_banner
from xray_core.pacs.client import to_bytes
from xray_core.pacs.sr import build_sr, report_decisions
from xray_core.pacs.sr_read import read_sr
from xray_core.report.content import build_report


@pytest.fixture(scope="module")
def film():
    return study(5, size=128)


@pytest.fixture(scope="module")
def report(loaded, film):
    return build_report(loaded, read_image(to_bytes(film), name="film.dcm"), similar=[])


def _dciodvfy_errors(ds: pydicom.Dataset, tmp_path) -> list[str]:
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy is missing: apt-get install dicom3tools (make pacs-deps)")
    path = tmp_path / "object.dcm"
    ds.save_as(path, enforce_file_format=True)
    found = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (found.stdout + found.stderr).splitlines() if line.startswith("Error")]


def test_sr_reads_back_into_the_reports_numbers(film, report, tmp_path):
    sr = build_sr(film, report, "hirescam")
    assert _dciodvfy_errors(sr, tmp_path) == []
    back = read_sr(pydicom.dcmread(io.BytesIO(to_bytes(sr))))
    assert back.probabilities == pytest.approx(report.prediction.probabilities, abs=1e-6)
    assert back.label == report.prediction.label and back.refused == report.prediction.refused
    assert back.model_sha256 == report.model["sha256"] and back.model_version == report.model["version"]
    assert back.heatmap_method.startswith("hirescam") and back.source_sop_instance_uid == film.SOPInstanceUID
    assert [d["code"] for d in back.decisions] == [d.code for d in report_decisions(report)]
    assert "not a diagnosis" in back.statement
    assert (back.lung_share is None) == (report.lungs is None or report.lungs.lung_fraction is None)
    # same study and patient, a new series named for the model
    assert sr.StudyInstanceUID == film.StudyInstanceUID and sr.SeriesInstanceUID != film.SeriesInstanceUID
    assert sr.PatientID == film.PatientID and identity.series_marker(report.model["sha256"]) in sr.SeriesDescription


def test_every_decision_keeps_code_score_and_threshold(film, report):
    decisions = [Decision("uncertain", "", 0.41, 0.6), Decision("age_support", "", None, 0.02)]
    report.prediction.decisions[:] = decisions  # the module's own report
    back = read_sr(build_sr(film, report, "hirescam"))
    found = {d["code"]: d for d in back.decisions}
    assert found["uncertain"]["score"] == pytest.approx(0.41) and found["uncertain"]["threshold"] == 0.6
    assert found["age_support"]["score"] is None and found["age_support"]["threshold"] == pytest.approx(0.02)
    assert all(d["text"] for d in back.decisions)


def test_capture_is_marked_derived_and_valid(film, report, tmp_path):
    if report.heatmap is None:
        pytest.skip("the tiny model refused this film: no heatmap")
    capture = build_capture(film, report, "hirescam")
    assert _dciodvfy_errors(capture, tmp_path) == []
    assert list(capture.ImageType)[:2] == ["DERIVED", "SECONDARY"] and capture.BurnedInAnnotation == "YES"
    assert "not for primary diagnosis" in capture.ImageComments.lower()
    assert capture.SourceImageSequence[0].ReferencedSOPInstanceUID == film.SOPInstanceUID
    assert capture.StudyInstanceUID == film.StudyInstanceUID
    assert capture.pixel_array.shape[0] > report.heatmap.shape[0]  # the banner on top


def test_banner_adds_a_strip_and_keeps_the_image():
    import numpy as np

    rgb = np.full((200, 150, 3), 90, np.uint8)
    out = with_banner(rgb, BANNER)
    assert out.shape[1:] == rgb.shape[1:] and out.shape[0] > rgb.shape[0]
    assert (out[-200:] == rgb).all() and out[: out.shape[0] - 200].max() > 150  # white (anti-aliased) text
