"""Report wording: the similar-case summary, class titles and the disclaimer.

Decisions are worded where every surface words them, :mod:`xray_core.inference.wording` (``pdf_safe``).
"""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES

DISCLAIMER = "Decision support, not a diagnosis."
DISCLAIMER_DETAIL = (
    "The probabilities say which training class this film most resembles; they are not a diagnosis and must be "
    "read with the clinical picture by a qualified clinician."
)


def label_title(label: str | None) -> str:
    return CLASS_TITLES.get(label or "", label or "unknown")


def similar_summary(summary: dict[str, Any]) -> str:
    """'5 of 6 similar training films were labelled Viral pneumonia' from :func:`inference.similar.summary`."""
    if not summary.get("k"):
        return "No similar training films."
    return f"{summary['count']} of {summary['k']} similar training films were labelled {label_title(summary['label'])}."


__all__ = ["DISCLAIMER", "label_title", "similar_summary"]
