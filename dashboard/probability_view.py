"""Calibrated probabilities as plain HTML bars.

Four numbers do not need a plotting library: on Diagnose the Plotly chart cost the browser its 4.7 MB script
and a layout pass per upload, and the server an import, for bars a ``<div>`` draws at once. Each row carries its
class and percentage as ``data-`` attributes, so tests read the numbers the page shows.
"""

from __future__ import annotations

from html import escape

import streamlit as st

from dashboard.palette import ACCENT, MUTED
from xray_core.config import CLASS_TITLES, TRACK

_ROW = "display:flex;align-items:center;gap:0.6rem;margin:0.3rem 0;font-size:0.95rem"
_NAME = "flex:0 0 10.5rem"
_TRACK = f"flex:1 1 auto;background:{TRACK};border-radius:3px;height:1.05rem;overflow:hidden"
_VALUE = "flex:0 0 4.2rem;text-align:right;font-variant-numeric:tabular-nums"


def bars_html(percent: dict[str, float], top: str) -> str:
    """One row per class, in ``percent``'s order: name, a bar as wide as its share, the share to 0.1 %;
    the top class in the accent colour and bold."""
    rows = []
    for name, share in percent.items():
        title = escape(CLASS_TITLES.get(name, name))
        colour, weight = (ACCENT, 600) if name == top else (MUTED, 400)
        width = min(max(float(share), 0.0), 100.0)
        rows.append(
            f'<div class="dx-prob" data-class="{escape(name)}" data-percent="{share:.1f}" style="{_ROW}">'
            f'<span style="{_NAME};font-weight:{weight}">{title}</span>'
            f'<span style="{_TRACK}" role="img" aria-label="{title}: {share:.1f} %">'
            f'<span style="display:block;height:100%;width:{width:.1f}%;background:{colour}"></span></span>'
            f'<span style="{_VALUE};font-weight:{weight}">{share:.1f} %</span></div>'
        )
    return f'<div class="dx-probabilities">{"".join(rows)}</div>'


def show(percent: dict[str, float], top: str, key: str) -> None:
    """The bars in a container keyed ``key`` (the browser tests and the bench find it as ``.st-key-<key>``)."""
    with st.container(key=key):
        st.html(bars_html(percent, top))
