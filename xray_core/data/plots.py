"""The dataset figures, one builder per chart, shared by the HTML report (``stats --html``) and the Dataset explorer.

Presentation only: every number comes from the caller (the summary's counts, a table of image sizes, the class
histograms). One look for every figure of the project (:func:`styled`: font, margins, transparent background, grid
colour) and one colour per class (``config.CLASS_COLORS``), so the report and the dashboard draw the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from xray_core.config import CLASS_COLORS, CLASS_TITLES, OTHER_COLOR, TRACK

FONT = {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13, "color": "#1f2d3d"}


def styled(fig: go.Figure, title: str = "", height: int = 320, **extra: Any) -> go.Figure:
    """``fig`` in the project's look: a left-aligned title, tight margins, a transparent background."""
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        font=FONT,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        **extra,
    )
    return fig


def class_title(label: str) -> str:
    return CLASS_TITLES.get(label, label)


def class_color(label: str) -> str:
    """The label's colour in every figure (a label the map lacks is grey, told apart from the classes)."""
    return CLASS_COLORS.get(label, OTHER_COLOR)


def shortened(text: str, width: int = 40) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (long source names, paths)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def label_bars(values: Mapping[str, float], title: str, axis: str) -> go.Figure:
    """One bar per label of ``values`` (label -> number), in the label's colour, the number on the bar."""
    names = [str(n) for n in values]
    numbers = [values[n] for n in values]
    fig = go.Figure(
        go.Bar(
            x=[class_title(n) for n in names],
            y=numbers,
            text=numbers,
            marker_color=[class_color(n) for n in names],
        )
    )
    fig.update_yaxes(title=axis, gridcolor=TRACK)
    return styled(fig, title, showlegend=False)


def class_bars(counts: pd.DataFrame, title: str, horizontal: bool = False, barmode: str = "group") -> go.Figure:
    """Images per group and class: ``counts`` rows = groups (splits, sources), columns = classes, values = images;
    the hover gives each class's share of its group. ``barmode`` 'stack' stacks the classes of a group."""
    fig = go.Figure()
    totals = counts.sum(axis=1).replace(0, 1)
    groups = [shortened(str(i)) or "(none)" for i in counts.index]
    for label in counts.columns:
        share = counts[label] / totals * 100
        x, y = (counts[label], groups) if horizontal else (groups, counts[label])
        fig.add_bar(
            name=class_title(label),
            x=x,
            y=y,
            orientation="h" if horizontal else "v",
            marker_color=class_color(label),
            customdata=share,
            hovertemplate=f"{class_title(label)}<br>%{{{'y' if horizontal else 'x'}}}: "
            f"%{{{'x' if horizontal else 'y'}}} images (%{{customdata:.1f}} %)<extra></extra>",
        )
    if horizontal:
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(title="images", gridcolor=TRACK)
    else:
        fig.update_yaxes(title="images", gridcolor=TRACK)
    height = max(320, 120 + 24 * len(groups)) if horizontal else 320
    return styled(fig, title, height, barmode=barmode, legend={"orientation": "h", "y": -0.15})


def size_scatter(sizes: pd.DataFrame, title: str = "Image size by class") -> go.Figure:
    """Width against height (``sizes``: ``width``, ``height``; with ``label``, one colour per class; with
    ``count``, images per row: marker area follows it)."""
    fig = go.Figure()
    groups = sizes.groupby("label", sort=False) if "label" in sizes else [("", sizes)]
    for label, rows in groups:
        name = class_title(str(label)) if label else "images"
        if "count" in rows:
            biggest = max(rows["count"].max(), 1)
            marker = {"size": 8 + 40 * (rows["count"] / biggest) ** 0.5, "sizemode": "diameter", "opacity": 0.7}
            hover = "%{x} x %{y} px: %{customdata} images<extra></extra>"
        else:
            marker, hover = {"size": 5, "opacity": 0.45}, "%{x} x %{y} px<extra>" + name + "</extra>"
        fig.add_scattergl(
            x=rows["width"],
            y=rows["height"],
            mode="markers",
            name=name,
            customdata=rows.get("count"),
            marker={**marker, "color": class_color(str(label))},
            hovertemplate=hover,
        )
    fig.update_xaxes(title="width (px)")
    fig.update_yaxes(title="height (px)", gridcolor=TRACK)
    return styled(fig, title, height=380)


def intensity_lines(histograms: Mapping[str, list[float] | None]) -> go.Figure:
    """Mean intensity histogram per class (``histograms``: class -> fractions over equal bins of [0, 1])."""
    fig = go.Figure()
    for label, values in histograms.items():
        if values:
            centres = [(i + 0.5) / len(values) for i in range(len(values))]
            fig.add_scatter(
                x=centres,
                y=[v * 100 for v in values],
                mode="lines",
                name=class_title(label),
                line={"color": class_color(label), "width": 2},
            )
    fig.update_xaxes(title="pixel intensity (0 = black, 1 = white)", range=[0, 1])
    fig.update_yaxes(title="% of pixels", gridcolor=TRACK)
    return styled(fig, "Intensity histogram per class", height=340)


__all__ = [
    "FONT",
    "class_bars",
    "class_color",
    "class_title",
    "intensity_lines",
    "label_bars",
    "shortened",
    "size_scatter",
    "styled",
]
