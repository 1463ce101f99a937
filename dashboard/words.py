"""How the pages word what the core decided: tables keyed by decision code, and the training-data caveat.

The core hands over typed decisions (code, score, threshold); only here do they become sentences. A new code
in :data:`xray_core.inference.decisions.CODES` needs a line in one of these tables (a test checks it).
"""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction
from xray_core.report.words import measured_sentence

#: Why an input was refused, completing "Reason: ...". Fields: score, threshold.
REFUSAL_WORDS: dict[str, str] = {
    "ood_features": "its features are far from every training radiograph (score {score:.1f} above the threshold "
    "{threshold:.1f} learned from validation radiographs)",
    "extreme_aspect": "its aspect ratio {score:.1f} : 1 is beyond {threshold:g} : 1",
    "uniform_image": "it is nearly uniform (pixel standard deviation {score:.3f} below {threshold})",
    "image_statistics": "its global image statistics are unlike chest radiographs (score {score:.1f} above "
    "{threshold:.1f})",
}

#: Warnings shown beside an accepted result. Fields: score, threshold, and both as percentages (…_pct); the
#: predicted class (``label``), the film's estimated age group (``age_group``) and its probability (``age_pct``);
#: the measured figure a decision carries, worded (``measured``).
WARNING_WORDS: dict[str, str] = {
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
}


#: Warnings a referral makes redundant: one message per film, not "low confidence" and "uncertain" side by side.
SUBSUMED_BY: dict[str, str] = {"low_confidence": "uncertain"}


def _fields(decision: Decision, prediction: Prediction | None = None) -> dict[str, Any]:
    score, threshold = decision.score, decision.threshold
    age = (prediction.age_group_estimate if prediction is not None else None) or {}
    return {
        "score": score,
        "threshold": threshold,
        "score_pct": None if score is None else 100 * score,
        "threshold_pct": None if threshold is None else 100 * threshold,
        "label": CLASS_TITLES.get(prediction.label, prediction.label) if prediction is not None else "",
        "age_group": age.get("group", "unknown"),
        "age_pct": 100 * float(age.get("probability", 0.0)),
        "measured": measured_sentence(decision.detail),
    }


def refusal_reasons(prediction: Prediction) -> str:
    """'Reason: ...' worded from the refusing decisions' codes and numbers ('' when nothing refuses)."""
    reasons = [REFUSAL_WORDS[d.code].format(**_fields(d)) for d in prediction.refusals()]
    return ("Reason: " + "; ".join(reasons) + ".") if reasons else ""


def warnings(prediction: Prediction) -> list[str]:
    """One sentence per warning decision of an accepted prediction, in the core's order (see :data:`SUBSUMED_BY`)."""
    return [WARNING_WORDS[d.code].format(**_fields(d, prediction)) for d in shown_warnings(prediction)]


def shown_warnings(prediction: Prediction) -> list[Decision]:
    """The warning decisions a page shows: all of them, less those another present decision subsumes."""
    codes = {d.code for d in prediction.decisions}
    return [d for d in prediction.decisions if not d.refuses and SUBSUMED_BY.get(d.code) not in codes]


def age_estimate_caption(prediction: Prediction) -> str:
    """'Looks adult (97 %) to the age probe.' ('' when the checkpoint has no age probe)."""
    age = prediction.age_group_estimate
    if not age:
        return ""
    return f"Film looks {age['group']} ({100 * age['probability']:.0f} %) to the model's age probe."


def age_confounding_notes(data_summary: dict[str, Any]) -> list[str]:
    """Plain-language notes from the checkpoint's training counts per age group, one per label that is >= 80 %
    one age group, e.g. '98% of training images labelled Bacterial pneumonia are pediatric'."""
    counts = data_summary.get("age_group_class_counts") or {}
    notes = []
    for label, title in CLASS_TITLES.items():
        per_group = {group: int(row.get(label, 0)) for group, row in counts.items() if group}
        total = sum(per_group.values())
        if total:
            group, n = max(per_group.items(), key=lambda item: item[1])
            if n / total >= 0.8:
                notes.append(f"{n / total:.0%} of training images labelled {title} are {group}")
    return notes
