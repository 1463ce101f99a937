"""Score the films of one PACS study and send the results back: retrieve (WADO-RS), refuse or predict, report
(SR + secondary capture), store (STOW-RS), one audit line per film.

A study already holding our report for this model is skipped (idempotent per model version: a new version has a
new SHA-256, so it scores again). Nothing raised by one film or one study escapes :func:`score_study`: the outcome
carries the error, so a run over a worklist never stops on one bad study. Header refusals (lateral, CT, another
body part) are recorded with the io layer's reason code and not scored; a film the model refuses (unlike chest
films) still gets a report saying so, without a heatmap capture.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom import Dataset

from xray_core.io.image import NotAChestRadiograph, XrayInputError
from xray_core.io.reader import read_image
from xray_core.pacs.audit import audit_film, film_record
from xray_core.pacs.capture import build_capture
from xray_core.pacs.client import Pacs, film_series, retrieve_series, scored_studies, store
from xray_core.pacs.sr import build_sr
from xray_core.report.content import ReportContent, build_report

STATUSES = ("scored", "skipped", "refused", "error", "empty")


@dataclass
class FilmOutcome:
    """One film: ``status`` scored / refused / error; ``reason`` the refusal or error code, ``detail`` its words."""

    sop_instance_uid: str
    status: str
    reason: str = ""
    detail: str = ""
    label: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass
class StudyOutcome:
    """One study: ``status`` one of :data:`STATUSES`; ``error`` why the study as a whole failed."""

    study_uid: str
    status: str
    films: list[FilmOutcome] = field(default_factory=list)
    error: str = ""


@dataclass
class FilmResult:
    """A film read and reported (``report`` None: refused from its header, ``refusal`` says why)."""

    source: Dataset
    data: bytes
    report: ReportContent | None
    refusal: NotAChestRadiograph | XrayInputError | None = None


def analyse_film(loaded: Any, data: bytes, source: Dataset, method: str) -> FilmResult:
    """Read one retrieved film (header refusal first, as for an upload) and build its report."""
    try:
        image = read_image(data, name="pacs-film.dcm")  # never the patient's or the archive's names
    except XrayInputError as refusal:
        return FilmResult(source, data, None, refusal)
    return FilmResult(source, data, build_report(loaded, image, similar=[], method=method))


def outputs(result: FilmResult, method: str) -> list[Dataset]:
    """What goes back to the PACS: the SR, and the heatmap capture unless the model refused the film.

    Both are built from the film's header alone: highdicom walks every element of the evidence it is given, and
    the pixels made that a fifth of a second per film."""
    assert result.report is not None
    header = pydicom.dcmread(io.BytesIO(result.data), stop_before_pixels=True)
    sr = build_sr(header, result.report, method)
    if result.report.heatmap is None:
        return [sr]
    return [sr, build_capture(header, result.report, method)]


def _record(result: FilmResult, model: dict[str, Any]) -> FilmOutcome:
    uid = str(result.source.get("SOPInstanceUID", ""))
    if result.report is None:
        code = getattr(result.refusal, "code", "input_error")
        refusal = {"code": code, "field": getattr(result.refusal, "field", None)}
        audit_film(film_record(result.data, uid, model, refusal=refusal))
        return FilmOutcome(uid, "refused", code, str(result.refusal))
    prediction = result.report.prediction
    audit_film(film_record(result.data, uid, model, prediction))
    refused = [d.code for d in prediction.refusals()]
    return FilmOutcome(
        uid, "refused" if refused else "scored", ",".join(refused), "", prediction.label, dict(prediction.probabilities)
    )


def score_films(
    pacs: Pacs, loaded: Any, films: list[tuple[bytes, Dataset]], method: str, push: bool = True
) -> list[FilmOutcome]:
    """Analyse, store (one STOW-RS request per study) and audit ``films`` of one study."""
    model = loaded.identity()
    results = [analyse_film(loaded, data, ds, method) for data, ds in films]
    if push:
        datasets = [ds for result in results if result.report is not None for ds in outputs(result, method)]
        if datasets:
            store(pacs, datasets)
    return [_record(result, model) for result in results]


def _study_status(films: list[FilmOutcome]) -> str:
    if not films:
        return "empty"
    return "scored" if any(f.status == "scored" for f in films) else "refused"


def score_study(
    pacs: Pacs, loaded: Any, study_uid: str, method: str, *, force: bool = False, push: bool = True
) -> StudyOutcome:
    """Score every film of ``study_uid`` unless it already holds our report for ``loaded`` (``force``: anyway)."""
    try:
        if not force and study_uid in scored_studies(pacs, loaded.sha256, study_uid):
            return StudyOutcome(study_uid, "skipped")
        films = [
            pair for series in film_series(pacs, study_uid)
            for pair in retrieve_series(pacs, study_uid, series["series_uid"])
        ]  # fmt: skip
        outcomes = score_films(pacs, loaded, films, method, push)
    except Exception as error:  # one bad study must not stop a worklist run: its row says why
        return StudyOutcome(study_uid, "error", error=f"{type(error).__name__}: {error}")
    return StudyOutcome(study_uid, _study_status(outcomes), outcomes)


def parse_film(data: bytes) -> Dataset:
    """A DICOM file's bytes as a dataset (the film a page opened), pixels not decoded."""
    return pydicom.dcmread(io.BytesIO(data))


__all__ = ["FilmOutcome", "FilmResult", "StudyOutcome", "analyse_film", "outputs", "score_films", "score_study"]
