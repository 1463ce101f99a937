"""Chest X-ray decision-support dashboard: ``streamlit run dashboard/app.py`` (after ``pip install -e .``).

A thin shell over :mod:`xray_core`: navigation, the first-visit notice and the model banners; each page
lives in ``dashboard/views/``. Nothing here imports torch: :mod:`dashboard.warmup` loads the models in the
background from the first page view, so the notice and the Diagnose uploader are usable at once.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit import delta_generator

from dashboard import notice, sign_in, warmup  # no torch: the notice paints before the model is imported
from xray_core.inference.wording import DISCLAIMER_SHORT

# `streamlit run` is never a REPL, yet Streamlit checks once per process, at the first element, with an
# inspect.stack() that resolves the file of every loaded module: 0.3-2.5 s before the first page of a busy
# 2-core server paints. The check only decides whether to print a "use streamlit run" hint.
if hasattr(delta_generator, "_use_warning_has_been_displayed"):
    delta_generator._use_warning_has_been_displayed = True

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = {
    "Images": [
        st.Page(
            VIEWS / "diagnose.py", title="Diagnose", icon=":material/radiology:", url_path="diagnose", default=True
        ),
        st.Page(VIEWS / "batch.py", title="Batch", icon=":material/stacks:", url_path="batch"),
        st.Page(VIEWS / "compare.py", title="Follow-up", icon=":material/compare:", url_path="follow-up"),
        st.Page(VIEWS / "worklist.py", title="Worklist", icon=":material/dns:", url_path="worklist"),
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
        menu_items={"About": f"Chest X-ray decision support. {DISCLAIMER_SHORT}"},
    )
    if not sign_in.gate():  # before any page: on a network address nothing is shown until a user signs in
        st.stop()
    page = st.navigation(PAGES)
    sign_in.sidebar()
    acknowledged = notice.acknowledged()  # painted first: a new session is interactive before torch loads
    warmup.start()  # once per process: imports torch and loads the models while the user reads the notice
    from dashboard import banners, components  # no torch either (the warm-up thread imports it)

    banners.new_run()
    # Diagnose shows its uploader without waiting for the model (it waits once a film is picked); other pages wait.
    waits = page.title != "Diagnose" or not warmup.enabled()
    loaded, error = components.get_model(wait=waits)
    banners.sidebar_status(loaded, error)
    if not acknowledged:
        st.stop()
    banners.untrained_banner(loaded)  # persistent: every page, every run
    try:
        page.run()
    finally:  # st.stop() included: the page is drawn, the warm-up may take the interpreter for a while
        warmup.release()


main()
