"""What every page says about the model: the sidebar identity, the untrained-model banner, the age/source caveat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard.words import age_confounding_notes
from xray_core.inference.wording import DISCLAIMER

if TYPE_CHECKING:  # torch behind it: the sidebar is drawn before the model has loaded
    from xray_core.models.checkpoint import LoadedModel


def model_banner(loaded: LoadedModel | None, error: str) -> None:
    """Persistent warnings about the model itself: missing or untrained."""
    if loaded is None:
        st.error(error, icon=":material/error:")
    elif not loaded.trained:
        st.error(
            "**Untrained placeholder model.** This checkpoint was never trained: every probability and "
            "heatmap it produces is meaningless. Install a trained checkpoint before use.",
            icon=":material/dangerous:",
        )


def confounding_note(loaded: LoadedModel) -> None:
    """The age/source caveat, with the checkpoint's own training shares when it records them."""
    notes = age_confounding_notes(loaded.meta.data_summary)
    detail = (
        ("Training data: " + "; ".join(notes) + ". ")
        if notes
        else (
            "In the training data, bacterial and viral pneumonia images are almost all pediatric (ages 1–5) while "
            "COVID-19 images are adult. "
        )
    )
    st.caption(
        f":material/warning: {detail}The model may partly recognise age or image source instead of "
        "disease: treat bacterial/viral results in adults and COVID-19 results in children with caution."
    )


def identity_line(loaded: LoadedModel) -> str:
    """'Model **v** · arch · trained · `sha…`' from the model's one identity dict."""
    identity = loaded.identity()
    status = "trained" if identity["trained"] else "UNTRAINED"
    return f"Model **{identity['version']}** · {identity['arch']} · {status} · `{identity['sha256'][:12]}`"


SIDEBAR_SLOT = "model_sidebar_slot"  # session state: this run's sidebar model line, redrawn once a page has the model


def sidebar_status(loaded: LoadedModel | None, error: str = "") -> None:
    """The model's identity; while dashboard.warmup is still loading it (``loaded`` None, no ``error``), says so.
    A page that then waits for the model itself (Diagnose) redraws the line with :func:`model_ready`."""
    with st.sidebar:
        st.session_state[SIDEBAR_SLOT] = st.empty()
        model_ready(loaded, error)
        st.caption(DISCLAIMER)


def model_ready(loaded: LoadedModel | None, error: str = "") -> None:
    """Redraw this run's sidebar model line (drawn by :func:`sidebar_status`) from what the page now has."""
    slot = st.session_state.get(SIDEBAR_SLOT)
    if slot is None:
        return
    if loaded is not None:
        slot.caption(identity_line(loaded))
    else:
        slot.caption(":material/error: No model loaded" if error else ":material/hourglass_top: Loading the model…")


BANNER_DRAWN = "model_banner_drawn"  # session-state flag, reset by app.py at the start of every full run


def new_run() -> None:
    """Called first thing in every full run: no untrained-model banner drawn yet."""
    st.session_state[BANNER_DRAWN] = False


def untrained_banner(loaded: LoadedModel | None) -> None:
    """The untrained-model banner, once per full run: app.py draws it above the page when the model is already
    loaded; Diagnose, which lets the user pick a film while the model loads, calls it again once it has waited."""
    if loaded is None or loaded.trained or st.session_state.get(BANNER_DRAWN):
        return
    st.session_state[BANNER_DRAWN] = True
    model_banner(loaded, "")
