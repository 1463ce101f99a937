"""A film opened from the PACS, shown with the Diagnose page's pieces: viewer, probability bars, warnings,
heatmap with the lung outline; and the "Send to PACS" action (SR + heatmap capture, STOW-RS).

The retrieved DICOM (it holds the patient's name) stays in this session's state; the shared caches see only its
content hash and the anonymous decoded pixels (``components.decode``), and the audit log UIDs and hashes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from dashboard import components, film_input, probability_view, result_flags
from xray_core.config import CLASS_TITLES
from xray_core.explain.methods import DEFAULT_METHOD
from xray_core.inference.results import percentages
from xray_core.io.image import XrayImage

FILM_NAME = "pacs-film.dcm"  # never the patient's or the archive's names: shared caches and captions see this


def _heatmap(loaded: Any, key: str, image: XrayImage, display: Any, view: dict[str, float]) -> Any:
    """The default method's map over the film with the lung outline (as Diagnose draws it), or None."""
    from dashboard import lung_view  # torch: imported once a film is open (preloaded by dashboard.warmup)

    explanation, problem = components.explain(loaded, key, image, DEFAULT_METHOD, None)
    if explanation is None:
        st.info(problem, icon=":material/info:")
        return None
    rgb = components.overlay(display, film_input.zoomed(explanation.cam, view), 0.45)
    lungs = lung_view.lungs(key, image, explanation.prediction.refused)
    if lungs.outline is not None:
        rgb = lung_view.draw(rgb, dataclasses.replace(lungs, outline=film_input.fitted(lungs.outline, view, rgb.shape)))
    with st.container(key="wl_heatmap"):
        film_input.show(rgb, f"{components.cam_methods()[DEFAULT_METHOD]} for {CLASS_TITLES[explanation.target]}")
        lung_view.report(lungs, explanation)
    return explanation


def show_film(loaded: Any, data: bytes, title: str) -> bool:
    """Film, heatmap and result of DICOM ``data``; False (after saying why) when it cannot be analysed."""
    image, problem = components.decode(FILM_NAME, data)
    if image is None:
        st.error(f"**This film cannot be analysed.** {problem}", icon=":material/block:")
        return False
    key = components.digest(data)
    original_col, heat_col, result_col = st.columns([1, 1, 1.15], gap="medium")
    with original_col:
        display, view = film_input.viewer(image, key)
        film_input.show(display, f"{title} · {image.width} x {image.height} px")
    with heat_col:
        explanation = _heatmap(loaded, key, image, display, view)
    prediction = explanation.prediction if explanation is not None else components.predict(loaded, key, image)
    components.audit_once(data, prediction, loaded, key)
    with result_col:
        if prediction.refused:
            st.error("**Refused: this does not look like a frontal chest radiograph.**", icon=":material/block:")
        shares = percentages(prediction.probabilities)
        st.markdown(f"#### Most similar to: {CLASS_TITLES[prediction.label]} ({shares[prediction.label]:.1f} %)")
        result_flags.show(prediction)
        probability_view.show(shares, prediction.label, key="wl_probabilities")
        st.caption("Calibrated probabilities, summing to 100 %. Decision support, not a diagnosis.")
    return True


def send(url: str, loaded: Any, data: bytes) -> str:
    """Score ``data`` in the core and store its SR and heatmap capture in its study; returns what was done."""
    from xray_core.explain.methods import DEFAULT_METHOD as method
    from xray_core.pacs.client import connect
    from xray_core.pacs.scoring import parse_film, score_films

    [outcome] = score_films(connect(url), loaded, [(data, parse_film(data))], method)
    if outcome.status == "refused" and outcome.reason.startswith("dicom_"):
        return f"Not sent: {outcome.detail}"
    kind = "report is" if outcome.status == "refused" else "report and heatmap capture are"
    return f"Sent: the decision-support {kind} stored in this study (new series)."
