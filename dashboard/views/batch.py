"""Batch: many radiographs or ZIPs of them; a results table, a CSV download and a thumbnail grid."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import banners, budget, components, probability_view, safe_text, words
from dashboard.display import thumbnail
from xray_core import config
from xray_core.config import CLASS_TITLES
from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
from xray_core.inference.audit import audit_prediction
from xray_core.inference.batch import predict_sources
from xray_core.inference.predict import Prediction
from xray_core.inference.results import batch_row, flag_words, percentages, prediction_flags, results_csv
from xray_core.inference.wording import DISCLAIMER_SHORT
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image
from xray_core.io.uploads import MAX_ZIP_FILES, expand_uploads
from xray_core.models.checkpoint import LoadedModel

CHUNK = 16  # images decoded and predicted together (bounded memory; the progress bar moves per chunk)
GRID_COLUMNS = 6
GRID_LIMIT = 60  # thumbnails drawn at once (the table lists every file)


def _signature(files: list[Any]) -> str:
    return hashlib.sha1("|".join(f"{f.file_id}:{f.name}:{f.size}" for f in files).encode()).hexdigest()


def _expand(files: list[Any]) -> Any:
    """The uploads with ZIPs opened, inflating no more than this session's upload budget."""
    uploads = [(f.name, f.getvalue()) for f in files]
    return expand_uploads(uploads, max_bytes=config.SERVER_BUDGET.session_upload_bytes)


def _read(name: str, data: bytes) -> XrayImage | XrayInputError:
    """A film under the dashboard's pixel limit (read lazily: one chunk of films in memory at a time)."""
    try:
        return read_image(data, name=name, max_pixels=config.SERVER_BUDGET.max_pixels)
    except XrayInputError as error:
        return error


def _analyse(loaded: LoadedModel, files: list[Any]) -> dict[str, Any]:
    """Decode and predict every file in chunks, with a progress bar; unreadable files become flagged rows.

    Keeps thumbnails, predictions and content keys, never the uploaded bytes (the uploader holds those).
    """
    expanded = _expand(files)
    total = len(expanded.files)
    bar = st.progress(0.0, text=f"Analysing {total} image(s)…")
    items: list[dict[str, Any]] = []
    data_by_name = dict(expanded.files)  # names are unique after expand_uploads
    user = st.session_state.get("signed_in_user", "")

    def progress(done: int) -> None:
        bar.progress(done / max(total, 1), text=f"Analysed {done} of {total} image(s)")

    films = ((name, _read(name, data)) for name, data in expanded.files)
    for scored in predict_sources(loaded, films, CHUNK, progress):  # the one read-and-predict loop
        if scored.prediction is None:
            items.append({"name": scored.name, "key": "", "thumb": None, "prediction": None, "error": scored.error})
            continue
        data = data_by_name.pop(scored.name)
        audit_prediction(data, scored.prediction, loaded, user=user)  # one line per prediction, as on Diagnose
        thumb = thumbnail(scored.image.pixels, square=True)
        item = {"name": scored.name, "key": components.digest(data), "thumb": thumb, "error": ""}
        items.append({**item, "prediction": scored.prediction})
    bar.empty()
    rows = [batch_row(i["name"], i["prediction"], loaded.class_names, i["error"]) for i in items]
    return {"items": items, "rows": rows, "skipped": expanded.skipped}


@st.dialog("Heatmap", width="large")
def _overlay_dialog(loaded: LoadedModel, files: list[Any], item: dict[str, Any]) -> None:
    data = dict(_expand(files).files).get(item["name"], b"")  # the bytes again, from the uploader (not kept)
    image, problem = components.decode(item["name"], data)
    if image is None:
        st.error(problem)
        return
    prediction = item["prediction"]
    st.markdown(f"**{safe_text.name(item['name'])}**: most similar to {CLASS_TITLES[prediction.label]}")
    if prediction.refused:
        st.error(
            "**Refused: this does not look like a frontal chest radiograph.** "
            f"{words.refusal_reasons(prediction)} Shown for review only.",
            icon=":material/block:",
        )
    left, right = st.columns(2)
    display = thumbnail(image.pixels, 640)
    left.image(display, caption="Original", width="stretch")
    explanation, message = components.explain(loaded, item["key"], image, DEFAULT_METHOD, None)
    if explanation is None:
        right.info(message)
    else:
        caption = f"{CAM_METHODS[DEFAULT_METHOD].title} (top class)"
        right.image(components.overlay(display, explanation.cam, 0.45), caption=caption, width="stretch")
    probability_view.show(percentages(prediction.probabilities), prediction.label, key="batch_dialog_probabilities")


def _table(loaded: LoadedModel, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    config = {
        f"{c} %": st.column_config.ProgressColumn(CLASS_TITLES[c], min_value=0, max_value=100, format="%.1f %%")
        for c in loaded.class_names
    }
    config.update(
        file=st.column_config.TextColumn("File"),
        top_class=st.column_config.TextColumn("Top class"),
        uncertain=st.column_config.CheckboxColumn(
            "Uncertain — refer", help="Top probability under the model's operating point: refer for reading."
        ),
        age_group_estimate=st.column_config.TextColumn("Looks", help="Age group estimated from the film."),
        flags=st.column_config.TextColumn("Flags"),
        adult_measured=st.column_config.TextColumn(
            "Measured on adults",
            help="On an adult-looking film called COVID-19, bacterial or viral: what this "
            "model did on adult external films.",
        ),
    )
    st.dataframe(frame, hide_index=True, column_config=config, key="batch_table")
    st.download_button(
        "Download results (CSV)",
        results_csv(safe_text.csv_rows(rows)),  # no cell a spreadsheet would run as a formula
        "xray_batch_results.csv",
        "text/csv",
        key="batch_csv",
        icon=":material/download:",
        on_click="ignore",
    )


def _caption(name: str, prediction: Prediction) -> str:
    """'file · top class NN % · ⚠ flags', the flags worded from the decision codes."""
    share = percentages(prediction.probabilities)[prediction.label]
    flags = flag_words(prediction_flags(prediction))
    short = safe_text.name(name[-28:])
    return f"{short} · {CLASS_TITLES[prediction.label]} {share:.0f} %" + (f" · ⚠ {flags}" if flags else "")


def _grid(loaded: LoadedModel, files: list[Any], items: list[dict[str, Any]]) -> None:
    readable = [i for i in items if i["prediction"] is not None]
    choices = ["All", "Flagged", *[CLASS_TITLES[c] for c in loaded.class_names]]
    shown = st.selectbox("Show", choices, key="batch_grid_filter")
    if shown == "Flagged":
        readable = [i for i in readable if i["prediction"].decisions]
    elif shown != "All":
        readable = [i for i in readable if CLASS_TITLES[i["prediction"].label] == shown]
    if len(readable) > GRID_LIMIT:
        st.caption(f"Showing the first {GRID_LIMIT} of {len(readable)} images; narrow the filter to see others.")
    columns = st.columns(GRID_COLUMNS)
    for index, item in enumerate(readable[:GRID_LIMIT]):
        with columns[index % GRID_COLUMNS]:
            st.image(item["thumb"], width="stretch", caption=_caption(item["name"], item["prediction"]))
            if st.button("Heatmap", key=f"batch_open_{index}", icon=":material/visibility:", width="stretch"):
                _overlay_dialog(loaded, files, item)


def render() -> None:
    st.title("Batch analysis")
    loaded, error = components.get_model()
    if loaded is None:
        st.error(error, icon=":material/error:")
        st.stop()
    files = st.file_uploader(
        "Radiographs (PNG, JPEG, TIFF, DICOM) or ZIP archives of them",
        key="batch_files",
        accept_multiple_files=True,
        help=f"Up to {MAX_ZIP_FILES} images per ZIP; patient fields in DICOM headers are never read into the app.",
    )
    if not files:
        st.info("Upload several images, or a ZIP of images, to analyse them together.", icon=":material/upload:")
        st.stop()
    problem = budget.upload_problem(budget.session_upload_sizes(st.session_state, budget.UPLOADERS))
    if problem:
        st.error(problem, icon=":material/block:")
        st.stop()
    signature = _signature(files)
    stored = st.session_state.get("batch_result")
    if stored is None or stored["signature"] != (signature, loaded.sha256):
        if not st.button(
            f"Analyse {len(files)} upload(s)", key="batch_run", type="primary", icon=":material/play_arrow:"
        ):
            st.stop()
        stored = {"signature": (signature, loaded.sha256), **_analyse(loaded, files)}
        st.session_state["batch_result"] = stored
    for message in stored["skipped"]:
        st.warning(f"Skipped: {safe_text.name(message)}", icon=":material/warning:")
    if not stored["rows"]:
        st.error("None of the uploads contained a readable image.")
        st.stop()
    failed = sum(1 for item in stored["items"] if item["prediction"] is None)
    st.success(
        f"{len(stored['rows']) - failed} image(s) analysed"
        + (f", {failed} unreadable" if failed else "")
        + f". {DISCLAIMER_SHORT}",
        icon=":material/task_alt:",
    )
    _table(loaded, stored["rows"])
    st.subheader("Thumbnails")
    _grid(loaded, files, stored["items"])
    banners.confounding_note(loaded)


if __name__ == "__main__":
    render()
