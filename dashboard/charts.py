"""The dashboard's own Plotly figures (model card, class shares): presentation only, every number comes from
xray_core. They share the look of :mod:`xray_core.data.plots`, whose dataset figures the explorer draws."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.palette import ACCENT
from xray_core.config import TRACK
from xray_core.data.plots import class_color, class_title, styled

CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def class_pie(counts: pd.Series, label: str) -> go.Figure:
    """Share of each class in ``counts`` (indexed by class)."""
    fig = go.Figure(
        go.Pie(
            labels=[class_title(c) for c in counts.index],
            values=counts.to_numpy(),
            hole=0.45,
            sort=False,
            marker=dict(colors=[class_color(c) for c in counts.index]),
            texttemplate="%{percent:.1%}",
            hovertemplate="%{label}: %{value} images (%{percent})<extra></extra>",
        )
    )
    return styled(fig, f"Class shares ({label})", legend=dict(orientation="h", y=-0.1))


def stacked_shares(counts: pd.DataFrame, title_text: str) -> go.Figure:
    """Horizontal stacked bars: rows of ``counts`` (e.g. classes) split into columns (e.g. sources), in %."""
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0) * 100
    fig = go.Figure()
    for column in shares.columns:
        fig.add_bar(
            name=str(column)[:40],
            y=[class_title(i) for i in shares.index],
            x=shares[column],
            orientation="h",
            customdata=counts[column],
            hovertemplate="%{y}: %{x:.1f} % (%{customdata} images)<extra></extra>",
        )
    fig.update_xaxes(ticksuffix=" %", range=[0, 100])
    return styled(fig, title_text, height=300, barmode="stack", legend=dict(font=dict(size=10)))


def histogram(values: Sequence[float], title_text: str, axis: str) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(values), marker_color=ACCENT))
    fig.update_xaxes(title=axis)
    fig.update_yaxes(title="count", type="log", gridcolor=TRACK)
    return styled(fig, title_text, showlegend=False, bargap=0.05)


def confusion(matrix: Sequence[Sequence[int]], names: Sequence[str], films: str) -> go.Figure:
    """Counts heatmap, rows = truth, columns = prediction, with row-normalised % in the hover."""
    frame = pd.DataFrame(matrix, index=names, columns=names)
    share = frame.div(frame.sum(axis=1).replace(0, 1), axis=0) * 100
    labels = [class_title(n) for n in names]
    fig = go.Figure(
        go.Heatmap(
            z=share.to_numpy(),
            x=labels,
            y=labels,
            colorscale="Blues",
            zmin=0,
            zmax=100,
            text=frame.to_numpy(),
            texttemplate="%{text}",
            customdata=share.to_numpy(),
            colorbar=dict(title="% of row", ticksuffix=" %"),
            hovertemplate="truth %{y}<br>predicted %{x}<br>%{text} (%{customdata:.1f} %)<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title="truth")
    fig.update_xaxes(title="prediction")
    return styled(fig, f"Confusion matrix ({films} films)", height=380)


def roc_curves(curves: dict[str, dict | None]) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#aab4bf"), name="chance")
    for label, curve in curves.items():
        if curve:
            fig.add_scatter(
                x=curve["fpr"],
                y=curve["tpr"],
                mode="lines",
                line=dict(color=class_color(label)),
                name=f"{class_title(label)} (AUC {curve['auc']:.3f})",
            )
    fig.update_xaxes(title="1 - specificity", range=[0, 1])
    fig.update_yaxes(title="sensitivity", range=[0, 1.01], gridcolor=TRACK)
    return styled(fig, "ROC curves, one class vs rest", height=380)


def reliability(bins: Sequence[dict[str, Any]], films: str) -> go.Figure:
    """Accuracy vs mean confidence per confidence bin (the diagonal is perfect calibration)."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#aab4bf"), name="perfect")
    fig.add_scatter(
        x=[b["confidence"] for b in bins],
        y=[b["accuracy"] for b in bins],
        mode="lines+markers",
        marker=dict(size=[6 + min(14, b["count"] ** 0.5 / 2) for b in bins], color=ACCENT),
        customdata=[b["count"] for b in bins],
        name="model",
        hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.2f}<br>%{customdata} images<extra></extra>",
    )
    fig.update_xaxes(title="mean top-class confidence", range=[0, 1])
    fig.update_yaxes(title="accuracy", range=[0, 1.01], gridcolor=TRACK)
    return styled(fig, f"Reliability diagram ({films} films)", height=380)


HISTORY_CURVES = {  # per-epoch figures written by training (metrics.jsonl), drawn on the right axis
    "val_macro_auc": "val macro AUC",
    "external_pneumonia_auc": "external pneumonia vs normal AUC",
    "worst_recall": "worst age group x label recall",
    "selection": "selection score",
}


def history(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Training curves: train loss, and the validation, external and worst-group figures per epoch."""
    frame = pd.DataFrame(list(rows))
    fig = go.Figure()
    if "train_loss" in frame:
        fig.add_scatter(x=frame["epoch"], y=frame["train_loss"], name="train loss", mode="lines+markers")
    for key, name in HISTORY_CURVES.items():
        if key in frame:
            fig.add_scatter(x=frame["epoch"], y=frame[key], name=name, mode="lines+markers", yaxis="y2")
    fig.updatestyled(yaxis2=dict(overlaying="y", side="right", range=[0, 1], title="AUC / recall"))
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="loss", gridcolor=TRACK)
    return styled(fig, "Training history", height=320, legend=dict(orientation="h", y=-0.25))


SPLIT_COLORS = ("#0B5394", "#E69138", "#6AA84F", "#8E7CC3")  # one per evaluated set (test, external, ...)


def risk_coverage(curves: dict[str, dict[str, Any]]) -> go.Figure:
    """Error rate among the films kept vs the share kept (most confident first), one line per evaluated set;
    a marker where each set's operating point ('uncertain — refer' below it) falls."""
    fig = go.Figure()
    for index, (films, curve) in enumerate(curves.items()):
        line_color = SPLIT_COLORS[index % len(SPLIT_COLORS)]
        fig.add_scatter(
            x=curve["coverage"],
            y=curve["risk"],
            customdata=curve["threshold"],
            mode="lines",
            line=dict(color=line_color),
            name=f"{films} (AURC {curve['aurc']:.3f})",
            hovertemplate="coverage %{x:.2f}<br>error %{y:.3f}<br>top probability ≥ %{customdata:.2f}<extra></extra>",
        )
        point = curve.get("operating_point") or {}
        if point.get("coverage") is not None and point.get("accuracy") is not None:
            fig.add_scatter(
                x=[point["coverage"]],
                y=[1 - point["accuracy"]],
                mode="markers",
                marker=dict(color=line_color, size=11, symbol="diamond"),
                name=f"{films}: operating point {point['threshold']:.2f}",
            )
    fig.update_xaxes(title="coverage (share of films kept)", range=[0, 1.01])
    fig.update_yaxes(title="error rate among films kept", rangemode="tozero", gridcolor=TRACK)
    return styled(fig, "Risk–coverage: refer the least confident films", height=380)
