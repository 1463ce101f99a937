"""DICOMweb through ``dicomweb-client``: QIDO-RS study lists, WADO-RS retrieval, STOW-RS storage.

Studies come back as :class:`StudyRow` records. Patient name and id are on the row because the clinician who
opened a worklist must see whose film it is; nothing in :mod:`xray_core.pacs` writes them anywhere (the audit log
holds UIDs and hashes only).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom import Dataset

from xray_core.pacs.identity import SERIES_PREFIX, series_marker

#: Series that hold no film to score: structured reports, presentation states, key objects, segmentations.
NON_IMAGE_MODALITIES = frozenset({"SR", "PR", "KO", "SEG", "DOC", "REG"})
#: As stored (compressed films stay compressed: :func:`xray_core.io.read_image` decodes them).
AS_STORED = (("application/dicom", "*"),)
STUDY_FIELDS = ("StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "StudyTime")


@dataclass(frozen=True)
class StudyRow:
    """One study of a worklist. ``scored``: holds our report for the model asked about."""

    study_uid: str
    study_date: str
    accession: str
    modalities: tuple[str, ...]
    description: str
    instances: int
    patient_name: str
    patient_id: str
    scored: bool = False


@dataclass(frozen=True)
class Pacs:
    """A DICOMweb service: ``client`` for the standard calls, ``session`` and ``url`` for the one raw query."""

    url: str
    client: DICOMwebClient
    session: requests.Session
    timeout: float


def connect(url: str, timeout: float = 60.0) -> Pacs:
    """A client of the DICOMweb service at ``url`` (e.g. ``http://127.0.0.1:8042/dicom-web``)."""
    session = requests.Session()
    session.trust_env = False  # a PACS is on the hospital network: never through a configured web proxy
    url = url.rstrip("/")
    return Pacs(url, DICOMwebClient(url, session=session, timeout=timeout), session, timeout)


def _value(item: dict[str, Any], tag: str, default: Any = "") -> Any:
    values = item.get(tag, {}).get("Value") or [default]
    value = values[0]
    return value.get("Alphabetic", "") if isinstance(value, dict) else value


def _row(item: dict[str, Any], scored: set[str]) -> StudyRow:
    uid = str(_value(item, "0020000D"))
    return StudyRow(
        study_uid=uid,
        study_date=str(_value(item, "00080020")),
        accession=str(_value(item, "00080050")),
        modalities=tuple(str(m) for m in item.get("00080061", {}).get("Value", [])),
        description=str(_value(item, "00081030")),
        instances=int(_value(item, "00201208", 0) or 0),
        patient_name=str(_value(item, "00100010")),
        patient_id=str(_value(item, "00100020")),
        scored=uid in scored,
    )


def date_range(since: date | None, until: date | None) -> str | None:
    """QIDO's StudyDate range ('20261101-', '-20261130', '20261101-20261130'); None for no bound."""
    if since is None and until is None:
        return None
    return f"{since.strftime('%Y%m%d') if since else ''}-{until.strftime('%Y%m%d') if until else ''}"


def list_studies(
    pacs: Pacs,
    *,
    since: date | None = None,
    until: date | None = None,
    modality: str | None = None,
    study_uid: str | None = None,
    model_sha256: str | None = None,
    limit: int | None = None,
) -> list[StudyRow]:
    """Studies matching the filters (QIDO-RS), each marked ``scored`` when it holds our report for
    ``model_sha256``; newest first. ``modality``: one code such as 'DX' (studies holding such a series)."""
    filters: dict[str, Any] = {}
    if (dates := date_range(since, until)) is not None:
        filters["StudyDate"] = dates
    if modality:
        filters["ModalitiesInStudy"] = modality
    if study_uid:
        filters["StudyInstanceUID"] = study_uid
    found = pacs.client.search_for_studies(fields=STUDY_FIELDS, search_filters=filters, limit=limit)
    scored = scored_studies(pacs, model_sha256) if model_sha256 else set()
    rows = [_row(item, scored) for item in found]
    return sorted(rows, key=lambda row: (row.study_date, row.study_uid), reverse=True)


def scored_studies(pacs: Pacs, model_sha256: str, study_uid: str | None = None) -> set[str]:
    """UIDs of the studies holding a report series of the model with ``model_sha256`` (one QIDO query).

    Written by hand: the client percent-encodes the wildcard ('%2A'), which Orthanc 1.10 then matches literally.
    The marker holds only letters, digits and '-', so the query needs no encoding."""
    query = f"Modality=SR&SeriesDescription=*{series_marker(model_sha256)}&includefield=0020000D"
    if study_uid:
        query += f"&StudyInstanceUID={requests.utils.quote(study_uid, safe='.')}"
    response = pacs.session.get(f"{pacs.url}/series?{query}", headers={"Accept": "application/dicom+json"},
                                timeout=pacs.timeout)  # fmt: skip
    response.raise_for_status()
    found = response.json() if response.content else []
    return {str(_value(item, "0020000D")) for item in found}


def film_series(pacs: Pacs, study_uid: str) -> list[dict[str, str]]:
    """The study's series that may hold films: ``{'series_uid', 'modality'}``, our own outputs and non-image
    series (reports, presentation states...) left out."""
    series = pacs.client.search_for_series(study_uid, fields=("SeriesDescription", "Modality"))
    keep = []
    for item in series:
        modality, description = str(_value(item, "00080060")), str(_value(item, "0008103E"))
        if modality in NON_IMAGE_MODALITIES or description.startswith(SERIES_PREFIX):
            continue
        keep.append({"series_uid": str(_value(item, "0020000E")), "modality": modality})
    return keep


def retrieve_series(pacs: Pacs, study_uid: str, series_uid: str) -> list[tuple[bytes, Dataset]]:
    """Every instance of a series (WADO-RS, as stored) as (DICOM file bytes, dataset)."""
    found = pacs.client.retrieve_series(study_uid, series_uid, media_types=AS_STORED)
    return [(to_bytes(ds), ds) for ds in found]


def to_bytes(ds: Dataset) -> bytes:
    """``ds`` as a DICOM file (preamble, file meta, dataset) in its own transfer syntax."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def store(pacs: Pacs, datasets: Sequence[Dataset]) -> None:
    """STOW-RS ``datasets`` (one request); raises when the server refuses any of them.

    Each is sent as a complete DICOM file (preamble and 'DICM'; a dataset without a preamble gets an empty one):
    the client writes datasets as they are, and Orthanc returns what it stored byte for byte, which pydicom then
    refuses to read back as a file."""
    for ds in datasets:
        if getattr(ds, "preamble", None) is None:
            ds.preamble = b"\0" * 128
    response = pacs.client.store_instances(list(datasets))
    failed = response.get("FailedSOPSequence")
    if failed:
        raise RuntimeError(f"the PACS refused {len(failed)} of {len(datasets)} instances")


__all__ = [
    "NON_IMAGE_MODALITIES",
    "Pacs",
    "StudyRow",
    "connect",
    "date_range",
    "film_series",
    "list_studies",
    "retrieve_series",
    "scored_studies",
    "store",
    "to_bytes",
]
