"""How our objects name themselves in a PACS: the codes of the report's items and the series descriptions.

A study counts as scored by a model when it holds a report series whose description ends with that model's
marker (the first 16 hex digits of its weights' SHA-256): one QIDO query finds every such study, and a new
model version, whose hash differs, scores them again. The items' codes live in a private coding scheme
(``99XRAYDS``; the ``99`` prefix is DICOM's convention for local schemes), except where DICOM, LOINC, SNOMED or
UCUM already has the concept.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept

from xray_core.config import CLASS_NAMES, CLASS_TITLES

SCHEME = "99XRAYDS"
SERIES_PREFIX = "Decision support"
MANUFACTURER = "xray_core (open-source chest X-ray decision support)"
SR_SERIES_NUMBER, CAPTURE_SERIES_NUMBER = 9901, 9902
MARKER_DIGITS = 16


def series_marker(model_sha256: str) -> str:
    """The part of a series description that names the model: ``sha-`` and 16 hex digits of its SHA-256."""
    return f"sha-{model_sha256[:MARKER_DIGITS]}"


def series_description(kind: str, model_sha256: str) -> str:
    """'Decision support report sha-0123...' (at most 64 characters, a DICOM LO)."""
    return f"{SERIES_PREFIX} {kind} {series_marker(model_sha256)}"


def local(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, SCHEME, meaning)


REPORT = CodedConcept("18748-4", "LN", "Diagnostic imaging report")
SOURCE_IMAGE = CodedConcept("121112", "DCM", "Source of Measurement")
NO_UNITS = CodedConcept("1", "UCUM", "no units")
YES, NO = CodedConcept("373066001", "SCT", "Yes"), CodedConcept("373067005", "SCT", "No")
STATEMENT = local("XDS-NOTE", "Statement on use")
TOP_CLASS = local("XDS-TOP", "Most similar class")
REFUSED = local("XDS-REFUSED", "Input refused")
DECISION = local("XDS-DECISION", "Decision")
DECISION_CODE = local("XDS-DCODE", "Decision code")
DECISION_SCORE = local("XDS-DSCORE", "Decision score")
DECISION_THRESHOLD = local("XDS-DLIMIT", "Decision threshold")
DECISION_TEXT = local("XDS-DTEXT", "Decision wording")
MODEL_VERSION = local("XDS-MVERSION", "Model version")
MODEL_SHA256 = local("XDS-MSHA256", "Model weights SHA-256")
HEATMAP_METHOD = local("XDS-HMETHOD", "Heatmap method")
LUNG_SHARE = local("XDS-LUNGSHARE", "Share of heatmap inside lungs")
LUNG_SHARE_WITHHELD = local("XDS-LUNGNONE", "Why no share inside lungs")
#: One probability item per class, coded by the class name ('XDS-P-NORMAL').
PROBABILITY = {
    name: local(f"XDS-P-{name.upper()}"[:16], f"Probability of {CLASS_TITLES[name]}") for name in CLASS_NAMES
}
CLASS_CODES = {name: local(name.upper()[:16], CLASS_TITLES[name]) for name in CLASS_NAMES}


__all__ = [
    "MANUFACTURER",
    "PROBABILITY",
    "SCHEME",
    "SERIES_PREFIX",
    "series_description",
    "series_marker",
]
