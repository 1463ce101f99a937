"""The self-contained HTML report of :func:`xray_core.data.stats.summarize`'s dict, and its figures.

Everything here reads only the JSON-able summary. The charts the Dataset explorer shows too (class bars, image
sizes, intensity histograms) are :mod:`xray_core.data.plots`' builders; the confounding heatmap and the
findings tables are the report's own.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from xray_core.data.plots import (
    class_bars,
    class_title,
    intensity_lines,
    label_bars,
    shortened,
    size_scatter,
    styled,
)

TABLE_ROWS = 50  # rows shown in the duplicate / leakage / outlier tables (the JSON keeps more)


def _counts(nested: dict[str, dict[str, int]], classes: list[str]) -> pd.DataFrame:
    """{group: {class: images}} as a table: rows = groups, columns = ``classes``."""
    return pd.DataFrame.from_dict(nested, orient="index").reindex(columns=classes).fillna(0).astype(int)


def confounding_figure(summary: dict[str, Any], by: str = "source") -> go.Figure | None:
    """Heatmap: share of each class coming from each source (rows sum to 1), Cramer's V in the title."""
    section = summary["confounding"].get(by)
    if not section or not section["shares"]:
        return None
    classes = list(section["shares"])
    values = sorted({v for shares in section["shares"].values() for v in shares})
    z = [[section["shares"][c].get(v, 0.0) for v in values] for c in classes]
    v = section["cramers_v"]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[shortened(v, 30) for v in values],
            y=[class_title(c) for c in classes],
            zmin=0,
            zmax=1,
            colorscale="Blues",
            text=[[f"{x:.0%}" for x in row] for row in z],
            texttemplate="%{text}",
            colorbar_title="share",
        )
    )
    strength = "undefined" if v is None else f"{v:.2f}"
    return styled(figure, f"Share of each class by {by} (Cramer's V = {strength})", height=380)


def _table(rows: list[dict[str, Any]], columns: list[str], title: str) -> go.Figure:
    cells = [[shortened(str(row.get(c, "")), 60) for row in rows[:TABLE_ROWS]] for c in columns]
    figure = go.Figure(go.Table(header={"values": columns}, cells={"values": cells}))
    return styled(figure, title, height=180 + 22 * min(len(rows), TABLE_ROWS))


def findings_figures(summary: dict[str, Any]) -> dict[str, go.Figure]:
    """Tables of duplicate groups spanning splits, patients in several splits and outliers."""
    duplicates, leaks, flagged = summary["duplicates"], summary["leakage"], summary["outliers"]
    return {
        "leaking_duplicates": _table(
            leaks["duplicates"],
            ["group", "kind", "split", "label", "path"],
            f"Duplicate groups across splits: {leaks['n_duplicate_groups_across_splits']} "
            f"(all duplicates: {duplicates['n_exact_groups']} exact, "
            f"{duplicates['n_near_groups']} near groups)",
        ),
        "leaking_patients": _table(
            leaks["patients"],
            ["patient_id", "splits", "n_images", "labels"],
            f"Patients in more than one split: {leaks['n_patients_across_splits']}",
        ),
        "outliers": _table(
            flagged["items"], ["path", "reasons"], f"Likely non-radiographs or inverted images: {len(flagged['items'])}"
        ),
    }


def figures(summary: dict[str, Any]) -> dict[str, go.Figure]:
    """Dashboard-facing. Every report figure by name, in report order."""
    classes = summary["class_names"]
    sources = _counts(summary["source_class_counts"], classes)
    result = {
        "classes": label_bars(
            summary["class_counts"], f"Class distribution ({summary['n_images']:,} images)", "images"
        ),
        "splits": class_bars(_counts(summary["split_class_counts"], classes), "Images per split"),
        "sources": class_bars(sources, "Images per source", horizontal=True, barmode="stack"),
    }
    for by in summary["confounding"]:
        figure = confounding_figure(summary, by)
        if figure is not None:
            result[f"confounding_{by}"] = figure
    sizes = pd.DataFrame(summary["image_properties"]["common_sizes"], columns=["width", "height", "count"])
    intensities = intensity_lines(summary["intensity"]["class_histograms"])
    result.update(sizes=size_scatter(sizes, "Most common image sizes"), intensities=intensities)
    return {**result, **findings_figures(summary)}


def write_html(summary: dict[str, Any], path: str | Path, title: str = "Dataset statistics") -> Path:
    """Write a self-contained HTML report (plotly.js embedded once, so it opens offline)."""
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"]) or "<li>None.</li>"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='font-family:sans-serif;max-width:1100px;margin:auto'><h1>{html.escape(title)}</h1>"
        f"<p>{summary['n_images']:,} images.</p><h2>Warnings</h2><ul>{warnings}</ul>"
    ]
    for index, figure in enumerate(figures(summary).values()):
        parts.append(figure.to_html(full_html=False, include_plotlyjs=index == 0))
    parts.append("</body></html>")
    path = Path(path)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


__all__ = ["figures", "write_html"]
