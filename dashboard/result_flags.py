"""Beside a result: the 'Uncertain — refer' state, the age-support warning and the other warnings.

The core decides (``uncertain``, ``age_support``, ``low_confidence`` ... codes) and words them
(:mod:`xray_core.inference.wording`); :mod:`dashboard.words` picks one message per film (a referral subsumes
'low confidence'); this module only lays them out.
"""

from __future__ import annotations

import streamlit as st

from dashboard import words
from xray_core.inference import wording
from xray_core.inference.predict import Prediction

ICONS = {"uncertain": ":material/front_hand:", "age_support": ":material/child_care:"}
REFER_BADGE = f":orange-badge[:material/front_hand: {wording.short('uncertain').capitalize()}]"


def show(prediction: Prediction) -> None:
    """The referral badge (when uncertain), one box per shown warning, and the age estimate as a caption."""
    if prediction.uncertain:
        st.markdown(REFER_BADGE)
    for decision, sentence in zip(words.shown_warnings(prediction), words.warnings(prediction), strict=True):
        st.warning(sentence, icon=ICONS.get(decision.code, ":material/help:"))
    caption = words.age_estimate_caption(prediction)
    if caption:
        st.caption(f":material/person: {caption}")
