"""Similar cases on Diagnose: the training films nearest to an accepted film in the model's features.

The index is built once per checkpoint (``xray_core.inference.similar.search``: on disk, keyed by the checkpoint's
SHA-256) and held here with ``st.cache_resource``; each film's neighbours are one cached query.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import components
from xray_core.config import CLASS_TITLES, default_data_dir
from xray_core.inference.predict import Prediction
from xray_core.inference.similar.search import (
    DEFAULT_K,
    SimilarCase,
    SimilarCasesUnavailable,
    index_is_current,
    load_index,
    similar_cases,
    summary,
    thumbnail,
)
from xray_core.inference.similar.store import SimilarIndex, index_path
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.models.checkpoint import LoadedModel

PER_ROW = 6  # one row of small thumbnails: context, not a second viewer
AUTO_BUILD_FILMS = 2000  # larger train splits wait for a click: their first build takes minutes on 2 cores
HELP = (
    "Training films whose features, in the model's own penultimate layer, point the same way as this film's "
    "(cosine distance: 0 = same direction). They show what the model finds alike, not a diagnosis."
)


@st.cache_resource(show_spinner="Building the similar-case index (once per model: a pass over every training film)…")
def _index(model: str, data_dir: str, _loaded: LoadedModel) -> SimilarIndex:
    return load_index(_loaded, data_dir)


@st.cache_data(max_entries=8, show_spinner=False)
def _on_disk(model: str, data_dir: str, stamp: float, _loaded: LoadedModel) -> bool:
    return index_is_current(_loaded, data_dir)


def _waits_for_click(loaded: LoadedModel, data_dir: Path) -> int:
    """Training films to index when a build would stall the page for minutes and nobody asked yet, else 0."""
    file = index_path(loaded)
    if st.session_state.get(f"similar_build_{loaded.sha256[:16]}"):
        return 0
    if file.is_file() and _on_disk(loaded.sha256, str(data_dir), file.stat().st_mtime, loaded):
        return 0
    table, _ = components.load_table(str(data_dir))
    films = 0 if table is None else int((table["split"] == "train").sum())
    return films if films > AUTO_BUILD_FILMS else 0


def index(loaded: LoadedModel, build: bool = True) -> tuple[SimilarIndex | None, str]:
    """(the index of this model over the corpus' train split, "") or (None, why there are no similar cases).

    ``build=False``: a large index that is not on disk yet is not built here (the panel offers a button)."""
    data_dir = default_data_dir()
    if not data_dir.exists():
        return None, f"No similar cases: the dataset folder `{data_dir}` is missing (set `XRAY_DATA_DIR`)."
    if not build and _waits_for_click(loaded, data_dir):
        return None, "The similar-case index of this model is not built yet."
    try:
        return _index(loaded.sha256, str(data_dir), loaded), ""
    except SimilarCasesUnavailable as error:
        return None, f"No similar cases: {error}"


def _offer_build(loaded: LoadedModel) -> bool:
    """A button for the one-off build of a large index; True once asked (this session)."""
    films = _waits_for_click(loaded, default_data_dir())
    if not films:
        return True
    st.info(
        f"Similar cases need a one-off index of this model's features over the {films:,} training films "
        "(a few minutes on this server; then kept on disk for every later film and user). "
        "`python -m xray_core similar --build-index` builds it ahead of time.",
        icon=":material/dataset:",
    )
    if st.button("Build the similar-case index", key="dx_similar_build", icon=":material/build:"):
        st.session_state[f"similar_build_{loaded.sha256[:16]}"] = True
        return True
    return False


@st.cache_data(max_entries=64, show_spinner=False)
def _cases(model: str, key: str, k: int, _loaded: LoadedModel, _image: XrayImage, _index: SimilarIndex):
    return similar_cases(_loaded, _image, _index, k)


def cases(
    loaded: LoadedModel, key: str, image: XrayImage, k: int = DEFAULT_K, build: bool = True
) -> tuple[list[SimilarCase], str]:
    """The ``k`` nearest training films of decoded content ``key`` (cached), or ([], why not)."""
    found, problem = index(loaded, build)
    if found is None:
        return [], problem
    return _cases(loaded.sha256, key, k, loaded, image, found), ""


def sentence(cases_found: list[SimilarCase]) -> str:
    """'5 of 6 similar films were Viral pneumonia' from the core's summary data."""
    top = summary(cases_found)
    title = CLASS_TITLES.get(top["label"], top["label"])
    return f"**{top['count']} of {top['k']}** similar training films were **{title}**."


@st.cache_data(max_entries=256, show_spinner=False)
def _thumbnail(path: str, _case: SimilarCase):
    return thumbnail(_case, side=192)


def render(loaded: LoadedModel, key: str, image: XrayImage, prediction: Prediction) -> None:
    """The similar-case panel of an accepted film (nothing for a refused one)."""
    if prediction.refused:
        return
    with st.container(key="dx_similar"):
        st.markdown("#### Similar training films", help=HELP)
        if not _offer_build(loaded):
            return
        found, problem = cases(loaded, key, image)
        if not found:
            st.info(problem, icon=":material/dataset:")
            return
        st.markdown(sentence(found))
        for start in range(0, len(found), PER_ROW):
            for column, case in zip(st.columns(PER_ROW), found[start : start + PER_ROW]):
                with column:
                    try:
                        st.image(_thumbnail(case.path, case), width="stretch")
                    except XrayInputError:
                        st.caption(":material/broken_image: film unavailable")
                    st.caption(
                        f"**{CLASS_TITLES.get(case.label, case.label)}** · {case.age_group or 'age unknown'} · "
                        f"distance {case.distance:.3f}  \n{case.source}"
                    )
