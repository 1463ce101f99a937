"""Our Comprehensive SR read back with plain pydicom into the numbers it was built from.

The check that the report says what the model said (tests compare it with ``predict --json``), and how the
Worklist page shows a study's stored result without scoring it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydicom import Dataset

from xray_core.pacs import identity as codes


@dataclass
class StoredResult:
    """What one of our reports holds. ``decisions``: ``{'code', 'score', 'threshold', 'text'}`` each."""

    probabilities: dict[str, float] = field(default_factory=dict)
    label: str | None = None
    refused: bool | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    model_version: str = ""
    model_sha256: str = ""
    heatmap_method: str = ""
    lung_share: float | None = None
    lung_share_withheld: str = ""
    statement: str = ""
    source_sop_instance_uid: str = ""


def _code(item: Dataset, attribute: str) -> str:
    sequence = item.get(attribute)
    return str(sequence[0].CodeValue) if sequence else ""


def _number(item: Dataset) -> float:
    measured = item.MeasuredValueSequence[0]
    if "FloatingPointValue" in measured:
        return float(measured.FloatingPointValue)
    return float(measured.NumericValue)


def _decision(container: Dataset) -> dict[str, Any]:
    found: dict[str, Any] = {"code": "", "score": None, "threshold": None, "text": ""}
    for item in container.get("ContentSequence", []):
        name = _code(item, "ConceptNameCodeSequence")
        if name == codes.DECISION_CODE.value:
            found["code"] = str(item.ConceptCodeSequence[0].CodeMeaning)
        elif name == codes.DECISION_SCORE.value:
            found["score"] = _number(item)
        elif name == codes.DECISION_THRESHOLD.value:
            found["threshold"] = _number(item)
        elif name == codes.DECISION_TEXT.value:
            found["text"] = str(item.TextValue)
    return found


def read_sr(ds: Dataset) -> StoredResult:
    """The result held by ``ds`` (one of our reports); unknown items are ignored."""
    result = StoredResult()
    by_probability = {concept.value: name for name, concept in codes.PROBABILITY.items()}
    by_class = {concept.value: name for name, concept in codes.CLASS_CODES.items()}
    texts = {codes.MODEL_VERSION.value: "model_version", codes.MODEL_SHA256.value: "model_sha256",
             codes.HEATMAP_METHOD.value: "heatmap_method", codes.LUNG_SHARE_WITHHELD.value: "lung_share_withheld",
             codes.STATEMENT.value: "statement"}  # fmt: skip
    for item in ds.get("ContentSequence", []):
        name = _code(item, "ConceptNameCodeSequence")
        if name in by_probability:
            result.probabilities[by_probability[name]] = _number(item)
        elif name == codes.TOP_CLASS.value:
            result.label = by_class.get(_code(item, "ConceptCodeSequence"))
        elif name == codes.REFUSED.value:
            result.refused = _code(item, "ConceptCodeSequence") == codes.YES.value
        elif name == codes.DECISION.value:
            result.decisions.append(_decision(item))
        elif name in texts:
            setattr(result, texts[name], str(item.TextValue))
        elif name == codes.LUNG_SHARE.value:
            result.lung_share = _number(item)
        elif name == codes.SOURCE_IMAGE.value:
            result.source_sop_instance_uid = str(item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
    return result


__all__ = ["StoredResult", "read_sr"]
