"""QIDO-RS study lists against a real Orthanc: filters by date, modality and status (scored by a model or not)."""

from __future__ import annotations

from datetime import date

import pytest
from _orthanc import study

from xray_core.pacs.client import film_series, list_studies, retrieve_series, scored_studies, store
from xray_core.pacs.identity import series_description

pytestmark = pytest.mark.pacs


def _report_series(film, sha: str):
    """A stand-in for our SR in the film's study (an SR-modality series named for the model)."""
    marker = study(film.InstanceNumber + 500)
    for keyword in ("StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "PatientID", "PatientName"):
        setattr(marker, keyword, film.get(keyword))  # the study's own attributes, as highdicom copies them
    marker.Modality, marker.SeriesDescription = "SR", series_description("report", sha)
    return marker


def test_filters_by_date_modality_and_status(pacs):
    films = [study(301, modality="CR"), study(302, modality="DX"), study(303, modality="DX")]
    films[0].StudyDate, films[1].StudyDate, films[2].StudyDate = "20250101", "20250102", "20250103"
    sha = "ab" * 32
    store(pacs, [*films, _report_series(films[1], sha)])
    ours = {f.StudyInstanceUID for f in films}

    def uids(**filters):
        return [row.study_uid for row in list_studies(pacs, **filters) if row.study_uid in ours]

    assert uids(since=date(2025, 1, 2), until=date(2025, 1, 3)) == [
        films[2].StudyInstanceUID,
        films[1].StudyInstanceUID,
    ]
    assert uids(modality="CR") == [films[0].StudyInstanceUID]
    rows = {row.study_uid: row for row in list_studies(pacs, model_sha256=sha) if row.study_uid in ours}
    assert [uid for uid, row in rows.items() if row.scored] == [films[1].StudyInstanceUID]
    assert (
        rows[films[0].StudyInstanceUID].patient_name == "DEMO^0301" and rows[films[0].StudyInstanceUID].instances == 1
    )
    assert scored_studies(pacs, "cd" * 32) & ours == set()  # another model version: not scored


def test_film_series_leave_out_reports_and_retrieve_as_stored(pacs):
    film = study(310, transfer_syntax="1.2.840.10008.1.2.5")  # RLE lossless
    store(pacs, [film, _report_series(film, "ef" * 32)])
    series = film_series(pacs, film.StudyInstanceUID)
    assert [s["series_uid"] for s in series] == [film.SeriesInstanceUID]
    [(data, ds)] = retrieve_series(pacs, film.StudyInstanceUID, film.SeriesInstanceUID)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.5" and data[128:132] == b"DICM"
    assert ds.SOPInstanceUID == film.SOPInstanceUID
