"""The PDF report button on Diagnose: one click builds and downloads the film's report.

The PDF is built only when clicked (a deferred download) from what the page already computed: the heatmap of the
chosen method and class, the similar cases. No patient data: a name is printed only when the user types one.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import components, similar_view
from xray_core.explain.methods import DEFAULT_METHOD
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import LoadedModel
from xray_core.report.content import build_report
from xray_core.report.pdf import render_pdf


def pdf_bytes(loaded: LoadedModel, key: str, image: XrayImage, name: str = "") -> bytes:
    """The report of decoded content ``key`` with the page's heatmap settings and similar cases."""
    method = st.session_state.get("dx_method", DEFAULT_METHOD)
    target = st.session_state.get("dx_target", "auto")
    explanation, _ = components.explain(loaded, key, image, method, None if target == "auto" else target)
    found, problem = [], ""
    if explanation is not None and not explanation.prediction.refused:
        found, problem = similar_view.cases(loaded, key, image, build=False)  # never a minutes-long build here
    content = build_report(
        loaded, image, file_name=name.strip(), explanation=explanation, similar=found, similar_note=problem
    )
    return render_pdf(content)


def render(loaded: LoadedModel, key: str, image: XrayImage) -> None:
    """The 'Report (PDF)' button and the optional name printed on the report."""
    name = st.text_input(
        "Name on the report (optional)",
        key="dx_report_name",
        placeholder="none: no patient data is printed",
        help="Printed on the report only if you type it. The uploaded file's name is never printed.",
    )
    stem = Path(str(image.meta.get("name", "image"))).stem or "image"
    st.download_button(
        "Report (PDF)",
        lambda: pdf_bytes(loaded, key, image, name),
        f"{stem}_report.pdf",
        "application/pdf",
        key="dx_download_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        width="stretch",
    )
