"""Chest X-ray decision-support dashboard: ``streamlit run dashboard/app.py`` (after ``pip install -e .``).

A thin shell over :mod:`xray_core`: navigation, the first-visit notice and the model banners; each page
lives in ``dashboard/views/``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import notice  # light: no torch, so the notice paints before the model loads

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = {
    "Images": [
        st.Page(
            VIEWS / "diagnose.py", title="Diagnose", icon=":material/radiology:", url_path="diagnose", default=True
        ),
        st.Page(VIEWS / "batch.py", title="Batch", icon=":material/stacks:", url_path="batch"),
    ],
    "Data and model": [
        st.Page(VIEWS / "explore.py", title="Dataset explorer", icon=":material/dataset:", url_path="dataset"),
        st.Page(VIEWS / "model_card.py", title="Model card", icon=":material/description:", url_path="model-card"),
    ],
}


def main() -> None:
    st.set_page_config(
        page_title="Chest X-ray decision support",
        page_icon=":material/radiology:",
        layout="wide",
        menu_items={"About": "Chest X-ray decision support. Not a diagnosis."},
    )
    page = st.navigation(PAGES)
    acknowledged = notice.acknowledged()  # painted first: a new session is interactive before torch loads
    from dashboard import banners, components  # torch, pytorch-grad-cam: imported while the user reads

    loaded, error = components.get_model()  # loads (once) while the user reads the notice
    banners.sidebar_status(loaded)
    if not acknowledged:
        st.stop()
    if loaded is not None and not loaded.trained:
        banners.model_banner(loaded, error)  # persistent: every page, every run
    page.run()


main()
