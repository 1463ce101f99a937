"""One film's result as a DICOM Comprehensive SR (highdicom): in the film's study, a new series, referencing it.

The report holds what the Diagnose page shows, as coded items a viewer or a script can read without parsing
words: the four calibrated probabilities, the top class, whether the input was refused, every decision (its code,
score and threshold, and its wording), the model version and weights SHA-256, the heatmap method and the share of
the heatmap inside the lungs (or why none is given), and the "decision support, not a diagnosis" statement.
Codes: :mod:`xray_core.pacs.identity`; reading back: :mod:`xray_core.pacs.sr_read`.
"""

from __future__ import annotations

import highdicom as hd
from highdicom.sr import (
    CodeContentItem,
    ContainerContentItem,
    ContentSequence,
    ImageContentItem,
    NumContentItem,
    RelationshipTypeValues,
    TextContentItem,
)
from pydicom import Dataset
from pydicom.uid import generate_uid

from xray_core.inference import wording
from xray_core.inference.decisions import Decision
from xray_core.pacs import identity as codes
from xray_core.report.content import ReportContent

CONTAINS = RelationshipTypeValues.CONTAINS
HAS_PROPERTIES = RelationshipTypeValues.HAS_PROPERTIES
DIGITS = 8  # probabilities and scores: a DICOM DS holds 16 characters; 8 decimals are far below 1e-4


def _num(name: hd.sr.CodedConcept, value: float, relationship=CONTAINS) -> NumContentItem:
    return NumContentItem(name, round(float(value), DIGITS), codes.NO_UNITS, relationship_type=relationship)


def _text(name: hd.sr.CodedConcept, value: str, relationship=CONTAINS) -> TextContentItem:
    return TextContentItem(name, wording.latin1(value), relationship_type=relationship)


def _decision(decision: Decision, label: str | None) -> ContainerContentItem:
    """One decision: its code, its score and threshold where it has them, and its words."""
    item = ContainerContentItem(codes.DECISION, relationship_type=CONTAINS)
    children = [CodeContentItem(codes.DECISION_CODE, codes.local(decision.code[:16], decision.code), HAS_PROPERTIES)]
    if decision.score is not None:
        children.append(_num(codes.DECISION_SCORE, decision.score, HAS_PROPERTIES))
    if decision.threshold is not None:
        children.append(_num(codes.DECISION_THRESHOLD, decision.threshold, HAS_PROPERTIES))
    children.append(_text(codes.DECISION_TEXT, wording.plain(decision, label), HAS_PROPERTIES))
    item.ContentSequence = ContentSequence(children)
    return item


def report_decisions(report: ReportContent) -> list[Decision]:
    """The prediction's decisions and the heatmap's lung warning, as every surface lists them."""
    lungs = tuple(report.lungs.decisions) if report.lungs is not None else ()
    return [*report.prediction.decisions, *lungs]


def _lung_items(report: ReportContent) -> list:
    findings = report.lungs
    if findings is not None and findings.lung_fraction is not None:
        return [_num(codes.LUNG_SHARE, findings.lung_fraction)]
    why = findings.lungs.note if findings is not None else "no heatmap"
    return [_text(codes.LUNG_SHARE_WITHHELD, why or "not given")]


def content_items(source: Dataset, report: ReportContent, method: str) -> list:
    """The report's items, in reading order."""
    prediction, model = report.prediction, report.model
    items: list = [
        _text(codes.STATEMENT, f"{wording.DISCLAIMER} Not for primary diagnosis."),
        CodeContentItem(codes.TOP_CLASS, codes.CLASS_CODES[prediction.label], CONTAINS),
        CodeContentItem(codes.REFUSED, codes.YES if prediction.refused else codes.NO, CONTAINS),
    ]
    items += [_num(codes.PROBABILITY[name], p) for name, p in prediction.probabilities.items()]
    items += [_decision(decision, prediction.label) for decision in report_decisions(report)]
    items += [
        _text(codes.MODEL_VERSION, str(model.get("version", ""))),
        _text(codes.MODEL_SHA256, str(model.get("sha256", ""))),
        _text(codes.HEATMAP_METHOD, method if report.heatmap is not None else f"{method} (not shown: refused)"),
        *_lung_items(report),
        ImageContentItem(codes.SOURCE_IMAGE, source.SOPClassUID, source.SOPInstanceUID, relationship_type=CONTAINS),
    ]
    return items


def build_sr(source: Dataset, report: ReportContent, method: str, instance_number: int = 1) -> hd.sr.ComprehensiveSR:
    """The Comprehensive SR of ``report`` on the film ``source`` (its study, patient and a new series)."""
    root = ContainerContentItem(codes.REPORT)
    root.ContentSequence = ContentSequence(content_items(source, report, method))
    sha = str(report.model.get("sha256", ""))
    sr = hd.sr.ComprehensiveSR(
        evidence=[source],
        content=root,
        series_instance_uid=generate_uid(),
        series_number=codes.SR_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=codes.MANUFACTURER,
        is_complete=True,
        series_description=codes.series_description("report", sha),
    )
    scheme = Dataset()  # declares the private scheme of our item codes
    scheme.CodingSchemeDesignator, scheme.CodingSchemeName = codes.SCHEME, "xray_core decision support items"
    sr.CodingSchemeIdentificationSequence = [scheme]
    sr.SoftwareVersions = str(report.model.get("version", ""))[:64]
    return sr


__all__ = ["build_sr", "content_items", "report_decisions"]
