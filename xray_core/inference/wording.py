"""Every decision code worded once, for every surface: the pages, the PDF, the CSV, the CLI and ``Decision.message``.

Three forms per code, all from ``code``, the numbers (``score``, ``threshold``, ``detail``) and what the film is
(its top class and estimated age group), never from another text:

* :func:`short`: a few words without numbers, for badges, batch flags and the CSV;
* :func:`long`: Markdown sentences for Diagnose (refusals as a clause that completes "Reason: ..."), and, without
  the Markdown, the plain text of the CLI and of ``Decision.message`` (:func:`plain`);
* :func:`pdf_safe`: the plain text in the PDF core fonts' character set, Latin-1 (:func:`latin1`).

A new code in :data:`~xray_core.inference.decisions.CODES` needs a line in :data:`SHORT` and in :data:`REASONS`
(refusals) or :data:`WARNINGS` (warnings); a test checks it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from xray_core.config import CLASS_TITLES
from xray_core.inference.decisions import Decision

#: The disclaimer, worded once for every surface: the short form where a line is all there is (the PDF's footer,
#: page captions, command help), the long one where it stands alone (the pages' banners, the CSV and JSON results,
#: the PDF's first lines, with the detail there).
DISCLAIMER_SHORT = "Decision support, not a diagnosis."
DISCLAIMER = "Decision support only, not a diagnosis. A qualified clinician must interpret every image."
DISCLAIMER_DETAIL = (
    "The probabilities say which training class this film most resembles, read with the clinical picture."
)

#: code -> a few words, no numbers.
SHORT: dict[str, str] = {
    "ood_features": "out-of-distribution",
    "extreme_aspect": "extreme aspect ratio",
    "uniform_image": "nearly uniform image",
    "image_statistics": "unusual image statistics",
    "low_confidence": "low confidence",
    "uncertain": "uncertain — refer",
    "age_support": "class unseen in this age group",
    "adult_caution": "adult film: see the measured adult figure",
    "untrained_model": "untrained model",
    "outside_lungs": "heatmap mostly outside the lungs",
}

#: Why an input was refused, a clause completing "Reason: ...". Fields: see :func:`fields`.
REASONS: dict[str, str] = {
    "ood_features": "its features are far from every training radiograph (score {score:.1f} above the threshold "
    "{threshold:.1f} learned from validation radiographs)",
    "extreme_aspect": "its aspect ratio {score:.1f} : 1 is beyond {threshold:g} : 1",
    "uniform_image": "it is nearly uniform (pixel standard deviation {score:.3f} below {threshold})",
    "image_statistics": "its global image statistics are unlike chest radiographs (score {score:.1f} above "
    "{threshold:.1f})",
}

#: Warnings beside an accepted result, in Markdown (a bold heading, then what to do). Fields: see :func:`fields`.
WARNINGS: dict[str, str] = {
    "low_confidence": "**Low confidence.** No class reaches {threshold_pct:.0f} %: the image does not clearly "
    "resemble one class. Rely on clinical reading.",
    "uncertain": "**Uncertain — refer.** The top probability {score_pct:.0f} % is under this model's operating "
    "point of {threshold_pct:.0f} %, below which its calls were not accurate enough on validation and external "
    "films. Refer for a clinician's reading.",
    "age_support": "**Outside training support.** This film looks {age_group} ({age_pct:.0f} %), and only "
    "{score_pct:.1f} % of the training films labelled {label} were {age_group}: the model has hardly seen "
    "{label} in {age_group} patients, so this call may rest on age rather than disease.",
    "adult_caution": "**Adult film: what was measured.** This film looks adult ({age_pct:.0f} %); {measured}. Weigh "
    "the call of {label} with this in mind.",
    "untrained_model": "**Untrained model.** These probabilities come from a placeholder checkpoint and mean nothing.",
    "outside_lungs": "**Most of the heatmap lies outside the lungs.** The model may be responding to something "
    "other than the lungs, such as text markers, the abdomen, devices or the film's edges (a likely shortcut). Do "
    "not read this result as evidence about the lungs.",
}

#: measured figure -> what it says; fields: n, value_pct, low_pct, high_pct.
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


def fields(decision: Decision, label: str | None = None, age: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The template fields: score, threshold, both as percentages (``..._pct``), the class title (``label``), the
    estimated age group and its probability (``age_group``, ``age_pct``, from ``{"group", "probability"}``) and the
    measured figure worded (``measured``)."""
    score, threshold, age = decision.score, decision.threshold, age or {}
    return {
        "score": score,
        "threshold": threshold,
        "score_pct": None if score is None else 100 * score,
        "threshold_pct": None if threshold is None else 100 * threshold,
        "label": CLASS_TITLES.get(label or "", label or ""),
        "age_group": age.get("group", "unknown"),
        "age_pct": 100 * float(age.get("probability", 0.0)),
        "measured": measured_sentence(decision.detail),
    }


def short(code: str) -> str:
    """The few words of one code (:data:`SHORT`)."""
    return SHORT[code]


def reason(decision: Decision) -> str:
    """A refusal as the clause that completes "Reason: ..." (:data:`REASONS`)."""
    return REASONS[decision.code].format(**fields(decision))


def long(decision: Decision, label: str | None = None, age: Mapping[str, Any] | None = None) -> str:
    """The decision in Markdown: "**Refused:** <reason>." or the warning's sentences. ``label`` and ``age``: the
    film's top class and age estimate, for warnings that name them. A number the template needs but the decision
    lacks falls back to the decision's own message, then to :func:`short`."""
    try:
        if decision.refuses:
            return f"**Refused:** {reason(decision)}."
        return WARNINGS[decision.code].format(**fields(decision, label, age))
    except (TypeError, ValueError):  # a None score or threshold in a numeric field
        return decision.message or short(decision.code).capitalize() + "."


def plain(decision: Decision, label: str | None = None, age: Mapping[str, Any] | None = None) -> str:
    """:func:`long` without Markdown: the CLI's text and ``Decision.message``."""
    return long(decision, label, age).replace("**", "")


def pdf_safe(decision: Decision, label: str | None = None, age: Mapping[str, Any] | None = None) -> str:
    """:func:`plain` in the PDF core fonts' Latin-1."""
    return latin1(plain(decision, label, age))


def worded(
    code: str,
    score: float | None = None,
    threshold: float | None = None,
    detail: dict[str, Any] | None = None,
    *,
    label: str | None = None,
    age: Mapping[str, Any] | None = None,
) -> Decision:
    """A :class:`Decision` whose ``message`` is its :func:`plain` wording: what logs and ``--json`` carry."""
    decision = Decision(code, "", score, threshold, detail)
    return dataclasses.replace(decision, message=plain(decision, label, age))


_REPLACEMENTS = {"\u2013": "-", "\u2014": "-", "\u2265": ">=", "\u2264": "<=", "\u00b7": "-", "\u2026": "...",
                 "\u2192": "->", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}  # fmt: skip


def latin1(text: str) -> str:
    """``text`` in the PDF core fonts' Latin-1 (common typography mapped, anything else as '?')."""
    for wide, plain_text in _REPLACEMENTS.items():
        text = text.replace(wide, plain_text)
    return text.encode("latin-1", "replace").decode("latin-1")


__all__ = [
    "DISCLAIMER",
    "DISCLAIMER_DETAIL",
    "DISCLAIMER_SHORT",
    "FIGURE_SENTENCES",
    "NOT_MEASURED",
    "REASONS",
    "SHORT",
    "WARNINGS",
    "fields",
    "latin1",
    "long",
    "measured_sentence",
    "pdf_safe",
    "plain",
    "reason",
    "short",
    "worded",
]
