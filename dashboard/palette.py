"""The dashboard's few colours, apart from the figure builders so that HTML views need not import Plotly."""

from __future__ import annotations

ACCENT = "#0B5394"  # the theme's primary colour: the top class
MUTED = "#9FB3C8"
