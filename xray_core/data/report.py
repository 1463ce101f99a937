"""Plotly figures and a self-contained HTML report built from :func:`xray_core.data.stats.summarize`'s dict.

Everything here reads only the JSON-able summary, so the dashboard can draw the same figures from a cached
or saved summary without rescanning.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from xray_core.config import CLASS_COLORS, CLASS_TITLES

TABLE_ROWS = 50  # rows shown in the duplicate / leakage / outlier tables (the JSON keeps more)


def _title(label: str) -> str:
    return CLASS_TITLES.get(label, label)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _stacked(nested: dict[str, dict[str, int]], classes: list[str], title: str, horizontal: bool) -> go.Figure:
    """One bar per key of ``nested`` ({key: {class: count}}), stacked by class."""
    keys = list(nested)
    figure = go.Figure()
    for label in classes:
        values = [nested[k].get(label, 0) for k in keys]
        names = [_short(k) or "(none)" for k in keys]
        x, y = (values, names) if horizontal else (names, values)
        figure.add_bar(
            x=x, y=y, name=_title(label), orientation="h" if horizontal else "v", marker_color=CLASS_COLORS.get(label)
        )
    figure.update_layout(barmode="stack", title=title, legend_title="class")
    if horizontal:
        figure.update_yaxes(autorange="reversed")
    return figure


def class_figure(summary: dict[str, Any]) -> go.Figure:
    """Images per class."""
    counts = summary["class_counts"]
    figure = go.Figure(
        go.Bar(
            x=[_title(c) for c in counts],
            y=list(counts.values()),
            text=list(counts.values()),
            marker_color=[CLASS_COLORS.get(c, "#888") for c in counts],
        )
    )
    return figure.update_layout(title=f"Class distribution ({summary['n_images']:,} images)", yaxis_title="images")


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
            x=[_short(v, 30) for v in values],
            y=[_title(c) for c in classes],
            zmin=0,
            zmax=1,
            colorscale="Blues",
            text=[[f"{x:.0%}" for x in row] for row in z],
            texttemplate="%{text}",
            colorbar_title="share",
        )
    )
    strength = "undefined" if v is None else f"{v:.2f}"
    return figure.update_layout(title=f"Share of each class by {by} (Cramer's V = {strength})")


def sizes_figure(summary: dict[str, Any]) -> go.Figure:
    """Most common image sizes; bubble area follows the number of images."""
    sizes = summary["image_properties"]["common_sizes"]
    counts = [s["count"] for s in sizes]
    biggest = max(counts, default=1)
    figure = go.Figure(
        go.Scatter(
            x=[s["width"] for s in sizes],
            y=[s["height"] for s in sizes],
            mode="markers",
            text=counts,
            marker={"size": [8 + 40 * (c / biggest) ** 0.5 for c in counts], "sizemode": "diameter"},
            hovertemplate="%{x} x %{y}: %{text} images<extra></extra>",
        )
    )
    return figure.update_layout(title="Most common image sizes", xaxis_title="width (px)", yaxis_title="height (px)")


def intensity_figure(summary: dict[str, Any]) -> go.Figure:
    """Mean intensity histogram per class (0 = black, 1 = white)."""
    bins = summary["intensity"]["hist_bins"]
    centres = [(i + 0.5) / bins for i in range(bins)]
    figure = go.Figure()
    for label, hist in summary["intensity"]["class_histograms"].items():
        if hist:
            figure.add_scatter(x=centres, y=hist, mode="lines", name=_title(label), line_color=CLASS_COLORS.get(label))
    return figure.update_layout(
        title="Intensity histograms (mean per class)", xaxis_title="intensity", yaxis_title="share of pixels"
    )


def _table(rows: list[dict[str, Any]], columns: list[str], title: str) -> go.Figure:
    cells = [[_short(str(row.get(c, "")), 60) for row in rows[:TABLE_ROWS]] for c in columns]
    figure = go.Figure(go.Table(header={"values": columns}, cells={"values": cells}))
    return figure.update_layout(title=title, height=180 + 22 * min(len(rows), TABLE_ROWS))


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
    result = {
        "classes": class_figure(summary),
        "splits": _stacked(summary["split_class_counts"], classes, "Images per split", horizontal=False),
        "sources": _stacked(summary["source_class_counts"], classes, "Images per source", horizontal=True),
    }
    for by in summary["confounding"]:
        figure = confounding_figure(summary, by)
        if figure is not None:
            result[f"confounding_{by}"] = figure
    result.update(sizes=sizes_figure(summary), intensities=intensity_figure(summary))
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
