"""The first-visit notice. Deliberately light (streamlit and the wording module only, no torch import) so that it
is the first thing a new session paints while the model loads behind it."""

from __future__ import annotations

import streamlit as st

from xray_core.inference.wording import DISCLAIMER

NOTICE = (
    "This tool shows how strongly a frontal chest radiograph resembles the normal, bacterial pneumonia, "
    "viral pneumonia and COVID-19 films it was trained on, with a heatmap of the regions that drove the "
    "result. It is not a medical device and has not been clinically validated. Do not upload identifiable "
    "patient data."
)


def acknowledged() -> bool:
    """Show the notice until the user acknowledges it (once per session); True once acknowledged."""
    if st.session_state.get("notice_ack"):
        return True
    with st.container(border=True, key="notice"):
        st.markdown("### :material/info: Before you start")
        st.markdown(f"**{DISCLAIMER}** {NOTICE}")
        st.button(
            "I understand — continue",
            key="notice_ack_button",
            type="primary",
            on_click=lambda: st.session_state.update(notice_ack=True),
        )
    return False
