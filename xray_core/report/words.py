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
    "adult_caution": "Adult film: {measured}.",
    "untrained_model": "Untrained model: these probabilities come from a placeholder checkpoint and mean nothing.",
}

#: measured figure -> what it says; fields: n, n_patients, value_pct, low_pct, high_pct.
FIGURE_SENTENCES: dict[str, str] = {
    "adult_non_covid_pneumonia_called_covid": "of {n} adult non-COVID pneumonia films from a COVID-19 repository "
    "(external films, never trained on), this model called {value_pct:.0f} % COVID-19 (95 % CI {low_pct:.0f}-"
    "{high_pct:.0f} %)",
    "adult_pneumonia_call_precision": "of {n} adult external films this model called bacterial or viral pneumonia, "
    "{value_pct:.0f} % were pneumonias (95 % CI {low_pct:.0f}-{high_pct:.0f} %); the rest were normal films",
}
NOT_MEASURED = (
    "no adult figure was measured for this model (its evaluation report is missing or scored another checkpoint); "
    "its calls on adult films are not validated"
)


def measured_sentence(detail: dict[str, Any] | None) -> str:
    """The measured figure a decision carries (``Decision.detail``) as a clause, with the small-sample caveat."""
    template = FIGURE_SENTENCES.get((detail or {}).get("figure", ""))
    if template is None or detail.get("value") is None:
        return NOT_MEASURED
    low, high = detail.get("interval_95") or (detail["value"], detail["value"])
    text = template.format(n=detail.get("n"), value_pct=100 * detail["value"], low_pct=100 * low, high_pct=100 * high)
    if detail.get("small_sample"):
        text += f"; a small sample ({detail.get('n')} films, {detail.get('n_patients')} patients)"
    return text


def _fields(decision: Decision) -> dict[str, Any]:
    score, threshold = decision.score, decision.threshold
    return {
        "score": score,
        "threshold": threshold,
        "score_pct": None if score is None else 100 * score,
        "threshold_pct": None if threshold is None else 100 * threshold,
        "measured": measured_sentence(decision.detail),
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


__all__ = [
    "DECISION_WORDS",
    "DISCLAIMER",
    "FIGURE_SENTENCES",
    "decision_sentence",
    "label_title",
    "latin1",
    "measured_sentence",
    "similar_summary",
]
