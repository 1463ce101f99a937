"""Follow-up: a prior and a current film side by side, heatmaps on one colour scale, and the change per class.

The maths (shared scale, change per class) is :mod:`xray_core.explain.compare`; this page uploads, caches and draws.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, components, film_input, probability_view, words
from dashboard.display import thumbnail
from xray_core.config import CLASS_TITLES
from xray_core.data.plots import class_color, class_title
from xray_core.explain.cam import Explanation
from xray_core.explain.compare import Comparison, compare
from xray_core.inference.results import percentages
from xray_core.inference.wording import DISCLAIMER_SHORT
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import LoadedModel

SIDE = 768  # pixels sent to the browser per film
FILMS = (("prior", "Prior film (earlier)"), ("current", "Current film (later)"))


def _film(slot: str, label: str) -> tuple[str, XrayImage] | None:
    """(content key, decoded film) of one uploader, or None (with the reason shown) when there is none yet."""
    upload = film_input.within_budget(st.file_uploader(label, key=f"cmp_{slot}", help="PNG, JPEG, TIFF or DICOM"))
    if upload is None:
        return None
    name, data = upload
    image, problem = components.decode(name, data)
    if image is None:
        st.error(f"**This file cannot be analysed.** {problem}", icon=":material/broken_image:")
        return None
    return components.digest(data), image


def change_bars(change: dict[str, float]) -> go.Figure:
    """Horizontal bars of the change per class in percentage points (current minus prior)."""
    names = list(change)[::-1]
    points = [100 * change[n] for n in names]
    fig = go.Figure(
        go.Bar(
            x=points,
            y=[class_title(n) for n in names],
            orientation="h",
            marker_color=[class_color(n) for n in names],
            text=[f"{p:+.1f} pp" for p in points],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:+.1f} percentage points<extra></extra>",
        )
    )
    fig.update_xaxes(range=[-110, 110], ticksuffix=" pp", zeroline=True, zerolinecolor="#888")
    fig.update_layout(height=220, margin=dict(l=10, r=40, t=10, b=10), showlegend=False, bargap=0.35)
    return fig


def _column(slot: str, image: XrayImage, explanation: Explanation, heat, alpha: float) -> None:
    prediction = explanation.prediction
    display = thumbnail(image.pixels, SIDE)
    shown = display if prediction.refused else components.overlay(display, heat, alpha)  # no map on a refused film
    st.image(shown, width="stretch", caption=f"{image.width} x {image.height} px")
    if prediction.refused:
        st.error(f"**Refused.** {words.refusal_reasons(prediction)}", icon=":material/block:")
    shares = percentages(prediction.probabilities)
    st.markdown(f"**{CLASS_TITLES[prediction.label]}** ({shares[prediction.label]:.1f} %)")
    for warning in words.warnings(prediction):
        st.warning(warning, icon=":material/help:")
    probability_view.show(shares, prediction.label, key=f"cmp_probabilities_{slot}")


def _explain(loaded: LoadedModel, films: dict, method: str, target: str | None) -> dict[str, Explanation] | None:
    current, problem = components.explain(loaded, *films["current"], method, target)
    prior = None
    if current is not None:  # both maps explain the current film's class (or the chosen one)
        prior, problem = components.explain(loaded, *films["prior"], method, current.target)
    if prior is None or current is None:
        st.info(problem, icon=":material/info:")
        return None
    return {"prior": prior, "current": current}


def render() -> None:
    st.title("Follow-up comparison")
    st.caption(f"{DISCLAIMER_SHORT} Both films are scored by the same model.")
    loaded, error = components.get_model()
    uploads = st.columns(2, gap="medium")
    films = {}
    for column, (slot, label) in zip(uploads, FILMS):
        with column:
            films[slot] = _film(slot, label)
    if loaded is None:
        st.error(error, icon=":material/error:")
        st.stop()
    if any(film is None for film in films.values()):
        st.info("Upload a prior and a current film of the same patient to compare them.", icon=":material/compare:")
        st.stop()
    methods = components.cam_methods()
    left, middle, right = st.columns(3, vertical_alignment="bottom")
    method = left.selectbox("Method", list(methods), key="cmp_method", format_func=methods.get)
    target = middle.selectbox(
        "Explain class", ["auto", *loaded.class_names], key="cmp_target", format_func=lambda t: CLASS_TITLES.get(t, t)
    )
    alpha = right.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key="cmp_alpha")
    explained = _explain(loaded, films, method, None if target == "auto" else target)
    if explained is None:
        st.stop()
    result: Comparison = compare(explained["prior"], explained["current"])
    maps = {"prior": result.prior_map, "current": result.current_map}
    for column, (slot, label) in zip(st.columns(2, gap="medium"), FILMS):
        with column, st.container(key=f"cmp_{slot}_result"):
            st.markdown(f"##### {label}")
            _column(slot, films[slot][1], explained[slot], maps[slot], alpha)
    st.caption(
        f"Both heatmaps show {methods[result.method]} for {CLASS_TITLES[result.target]} on one colour scale: red is "
        "the stronger film's peak, so a fainter map looks cooler (each map is not stretched on its own)."
    )
    with st.container(key="cmp_change"):
        st.markdown("##### Change per class, current minus prior")
        st.plotly_chart(
            change_bars(result.change), key="cmp_change_chart", config={**charts.CONFIG, "displayModeBar": False}
        )


if __name__ == "__main__":
    render()
