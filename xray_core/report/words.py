"""Report wording: decisions by code and number, the similar-case summary, the disclaimer. Plain Latin-1 text.

Decisions are worded from ``code``, ``score`` and ``threshold`` (the contract in ARCHITECTURE.md); a code this
table does not know yet falls back to the decision's own message, so a new check still reaches the report.
"""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES
from xray_core.inference.decisions import Decision

DISCLAIMER = "Decision support, not a diagnosis."
DISCLAIMER_DETAIL = (
    "The probabilities say which training class this film most resembles; they are not a diagnosis and must be "
    "read with the clinical picture by a qualified clinician."
)

#: code -> sentence; fields: score, threshold, score_pct, threshold_pct.
DECISION_WORDS: dict[str, str] = {
    "ood_features": "Refused: the film's features are far from every training radiograph "
    "(score {score:.1f} above the threshold {threshold:.1f}).",
    "extreme_aspect": "Refused: the aspect ratio {score:.1f} : 1 is beyond {threshold:g} : 1.",
    "uniform_image": "Refused: the image is nearly uniform (pixel standard deviation {score:.3f} below {threshold}).",
    "image_statistics": "Refused: global image statistics unlike chest radiographs "
    "(score {score:.1f} above {threshold:.1f}).",
    "low_confidence": "Low confidence: no class reaches {threshold_pct:.0f} % (top class {score_pct:.1f} %).",
    "uncertain": "Uncertain - refer: the top probability {score_pct:.1f} % is under the operating point "
    "{threshold_pct:.1f} % chosen for 95 % accuracy on the films kept.",
    "untrained_model": "Untrained model: these probabilities come from a placeholder checkpoint and mean nothing.",
}


def _fields(decision: Decision) -> dict[str, Any]:
    score, threshold = decision.score, decision.threshold
    return {
        "score": score,
        "threshold": threshold,
        "score_pct": None if score is None else 100 * score,
        "threshold_pct": None if threshold is None else 100 * threshold,
    }


def decision_sentence(decision: Decision) -> str:
    """One sentence for one decision (its own message when the code has no wording here or a number is missing)."""
    template = DECISION_WORDS.get(decision.code)
    try:
        return template.format(**_fields(decision)) if template else decision.message
    except (TypeError, ValueError):  # a None score or threshold in a numeric field
        return decision.message


def label_title(label: str | None) -> str:
    return CLASS_TITLES.get(label or "", label or "unknown")


def similar_summary(summary: dict[str, Any]) -> str:
    """'5 of 6 similar training films were labelled Viral pneumonia' from :func:`inference.similar.summary`."""
    if not summary.get("k"):
        return "No similar training films."
    return f"{summary['count']} of {summary['k']} similar training films were labelled {label_title(summary['label'])}."


_REPLACEMENTS = {"\u2013": "-", "\u2014": "-", "\u2265": ">=", "\u2264": "<=", "\u00b7": "-", "\u2026": "...",
                 "\u2192": "->", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}  # fmt: skip


def latin1(text: str) -> str:
    """``text`` in the PDF core fonts' Latin-1 (common typography mapped, anything else as '?')."""
    for wide, plain in _REPLACEMENTS.items():
        text = text.replace(wide, plain)
    return text.encode("latin-1", "replace").decode("latin-1")


__all__ = ["DECISION_WORDS", "DISCLAIMER", "decision_sentence", "label_title", "latin1", "similar_summary"]
