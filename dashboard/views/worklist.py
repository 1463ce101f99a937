"""Worklist: studies from a DICOMweb PACS (``$XRAY_DICOMWEB_URL``), filtered by date, modality and whether this
model version has scored them; open one to see its film as on Diagnose, and send the result back.

Patient name and id are shown to the clinician on this page only: the study list lives in this session's state
(never a shared cache), and nothing here writes them to a file, a log or a cache key.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import streamlit as st

from dashboard import components, pacs_film, safe_text
from xray_core.pacs.client import StudyRow, connect, film_series, list_studies, retrieve_series

ENV = "XRAY_DICOMWEB_URL"
STATUSES = {"all": "All", "unscored": "Not scored by this model", "scored": "Scored by this model"}
MODALITIES = ("Any", "DX", "CR")


def _filters() -> tuple[date | None, str | None, str]:
    since_col, modality_col, status_col = st.columns([1, 1, 2])
    window = since_col.selectbox("Studies from", ["Any date", "Last 7 days", "Last 30 days", "Last year"],
                                 key="wl_since")  # fmt: skip
    days = {"Last 7 days": 7, "Last 30 days": 30, "Last year": 365}.get(window)
    modality = modality_col.selectbox("Modality", MODALITIES, key="wl_modality")
    status = status_col.radio("Status", list(STATUSES), key="wl_status", horizontal=True, format_func=STATUSES.get)
    return (date.today() - timedelta(days=days) if days else None), (None if modality == "Any" else modality), status


def _label(row: StudyRow) -> str:
    mark = "✓ scored" if row.scored else "not scored"
    modalities = "/".join(row.modalities)
    return f"{row.patient_name} ({row.patient_id}) · {row.study_date} · {row.accession} · {modalities} · {mark}"


def _open(url: str, row: StudyRow) -> None:
    """Retrieve the study's first film (WADO-RS) into this session's state."""
    pacs = connect(url)
    try:
        with st.spinner("Retrieving the study…"):
            films = [pair for s in film_series(pacs, row.study_uid)
                     for pair in retrieve_series(pacs, row.study_uid, s["series_uid"])]  # fmt: skip
    except Exception as failure:  # the PACS is down or refuses: say so, never a stack trace
        st.error(f"The study could not be retrieved: {type(failure).__name__}.", icon=":material/error:")
        return
    st.session_state["wl_open"] = {"study_uid": row.study_uid, "data": films[0][0] if films else None,
                                   "films": len(films)}  # fmt: skip


def render() -> None:
    st.title("Worklist")
    url = os.environ.get(ENV, "").strip()
    if not url:
        st.info(
            f"No PACS configured: set {ENV} to a DICOMweb root (e.g. `make pacs` prints one).", icon=":material/info:"
        )
        st.stop()
    loaded, error = components.get_model()
    if loaded is None:
        st.error(error, icon=":material/error:")
        st.stop()
    since, modality, status = _filters()
    try:
        rows = list_studies(connect(url), since=since, modality=modality, model_sha256=loaded.sha256)
    except Exception as failure:  # the server is down or refuses: say so, never a stack trace
        st.error(
            f"The PACS at {safe_text.name(url)} did not answer: {type(failure).__name__}.", icon=":material/error:"
        )
        st.stop()
    rows = [r for r in rows if status == "all" or r.scored == (status == "scored")]
    st.caption(f"{len(rows)} {'study' if len(rows) == 1 else 'studies'} · decision support, not a diagnosis")
    if not rows:
        st.stop()
    by_uid = {row.study_uid: row for row in rows}
    picked = st.selectbox("Study", list(by_uid), key="wl_study", format_func=lambda uid: _label(by_uid[uid]))
    if st.button("Open study", key="wl_open_button", icon=":material/folder_open:"):
        _open(url, by_uid[picked])
    opened = st.session_state.get("wl_open")
    if not opened or opened["study_uid"] not in by_uid:
        st.stop()
    row = by_uid[opened["study_uid"]]
    if opened["data"] is None:
        st.warning("This study holds no film to analyse.", icon=":material/info:")
        st.stop()
    st.subheader(safe_text.name(f"{row.patient_name} · {row.study_date} · {row.accession}"))
    if opened["films"] > 1:
        st.caption(f"This study holds {opened['films']} films; the first is shown.")
    if pacs_film.show_film(loaded, opened["data"], "Film from the PACS") and st.button(
        "Send to PACS", key="wl_send", icon=":material/send:", help="Store the structured report and the heatmap "
        "capture in this study (a new series), marked decision support, not for primary diagnosis."
    ):  # fmt: skip
        try:
            with st.spinner("Sending…"):
                st.success(pacs_film.send(url, loaded, opened["data"]), icon=":material/check_circle:")
        except Exception as failure:  # a refused STOW-RS or a dropped connection: the page stays usable
            st.error(f"Not sent: the PACS answered {type(failure).__name__}: {failure}", icon=":material/error:")


if __name__ == "__main__":
    render()
