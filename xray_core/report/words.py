"""Report wording: the similar-case summary and class titles.

Decisions and the disclaimer are worded where every surface words them, :mod:`xray_core.inference.wording`.
"""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES


def label_title(label: str | None) -> str:
    return CLASS_TITLES.get(label or "", label or "unknown")


def similar_summary(summary: dict[str, Any]) -> str:
    """'5 of 6 similar training films were labelled Viral pneumonia' from :func:`inference.similar.summary`."""
    if not summary.get("k"):
        return "No similar training films."
    return f"{summary['count']} of {summary['k']} similar training films were labelled {label_title(summary['label'])}."


__all__ = ["label_title", "similar_summary"]
