"""How the pages lay out what the core decided: refusal reasons, the warnings shown, the training-data caveat.

Every decision is worded by :mod:`xray_core.inference.wording` (the same words as the PDF, the CSV and the CLI);
this module only picks which decisions a page shows and joins them.
"""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES
from xray_core.inference import wording
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction

#: Warnings a referral makes redundant: one message per film, not "low confidence" and "uncertain" side by side.
SUBSUMED_BY: dict[str, str] = {"low_confidence": "uncertain"}


def refusal_reasons(prediction: Prediction) -> str:
    """'Reason: ...' worded from the refusing decisions' codes and numbers ('' when nothing refuses)."""
    reasons = [wording.reason(d) for d in prediction.refusals()]
    return ("Reason: " + "; ".join(reasons) + ".") if reasons else ""


def warnings(prediction: Prediction) -> list[str]:
    """One sentence per warning decision of an accepted prediction, in the core's order (see :data:`SUBSUMED_BY`)."""
    label, age = prediction.label, prediction.age_group_estimate
    return [wording.long(d, label, age) for d in shown_warnings(prediction)]


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
