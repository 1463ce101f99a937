"""Diagnose: one radiograph in; calibrated class probabilities and the heatmap of the measured default CAM method
(``explain.methods.DEFAULT_METHOD``, any other on request) beside it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from dashboard import banners, components, fast_engine, film_input, probability_view, result_flags, safe_text, words
from dashboard.display import png_bytes
from xray_core.config import CLASS_NAMES, CLASS_TITLES
from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD, REMOVE_PERCENTILE
from xray_core.explain.overlay import OUTLINE_PERCENTILE
from xray_core.inference.predict import Prediction
from xray_core.inference.results import percentages, result_json, result_record
from xray_core.inference.wording import DISCLAIMER_SHORT
from xray_core.io.image import XrayImage

if TYPE_CHECKING:  # torch behind these: the uploader shows before torch loads (dashboard.warmup)
    from xray_core.explain.cam import Explanation
    from xray_core.inference.onnx.engine import OnnxModel
    from xray_core.models.checkpoint import LoadedModel

META_FIELDS = (
    "name",
    "format",
    "width",
    "height",
    "bit_depth",
    "photometric",
    "modality",
    "view_position",
    "body_part",
    "manufacturer",
    "manufacturer_model",
    "pixel_spacing",
    "converted_from_color",
)


def _results(loaded: LoadedModel | OnnxModel, prediction: Prediction, key: str) -> bool:
    """Banners and the probability bars; False when an out-of-distribution refusal is not overridden."""
    if prediction.refused:
        st.error(
            "**Refused: this does not look like a frontal chest radiograph.** "
            f"{words.refusal_reasons(prediction)} No classification is shown.",
            icon=":material/block:",
        )
        if not st.checkbox("Show the prediction anyway", key=f"dx_anyway_{key[:10]}"):
            return False
        st.warning(
            "Shown at your request: the input is unlike the training radiographs, so the probabilities "
            "and the heatmap are unreliable.",
            icon=":material/warning:",
        )
    shares = percentages(prediction.probabilities)
    st.markdown(
        f"#### Most similar to: {CLASS_TITLES.get(prediction.label, prediction.label)} "
        f"({shares[prediction.label]:.1f} %)"
    )
    result_flags.show(prediction)  # 'Uncertain — refer', age support and other warnings
    probability_view.show(shares, prediction.label, key="dx_probabilities")
    st.caption("Calibrated probabilities (temperature scaling), summing to 100 %.")
    if prediction.ood_score is not None and not prediction.refused:
        st.caption(
            f"Out-of-distribution score {prediction.ood_score:.1f} (refusal above "
            f"{prediction.ood_threshold:.1f}): resembles the training radiographs."
        )
    banners.confounding_note(loaded)
    return True


REMOVED = f"hottest {100 - REMOVE_PERCENTILE:g} %"  # what the faithfulness check takes away
FAITHFULNESS_HELP = (
    "Does the highlighted region drive the result? The class probability is re-measured with the "
    f"{REMOVED} of the film removed (ROAD imputation), compared with a random map; a larger "
    "drop than random means a more faithful heatmap. Takes a few forward passes."
)


def _strength_help() -> str:
    """The strength scale, read from the limits that set it (``explain.cam``: torch, so imported once a film is
    picked)."""
    from xray_core.explain.cam import MODERATE_EVIDENCE, STRONG_EVIDENCE

    return (
        "Calibrated log-odds the highlighted regions contribute to the explained class: strong >= "
        f"{STRONG_EVIDENCE:g}, moderate >= {MODERATE_EVIDENCE:g}, else weak; flat = no region stands out."
    )


def _heatmap_controls(lung_aware: bool) -> tuple[str, str | None, float, bool, bool]:
    """Method, target (None = top class), opacity, hot-region outline, lung outline (only when lung-aware)."""
    methods = components.cam_methods()
    method_col, target_col = st.columns(2)
    method = method_col.selectbox("Method", list(methods), key="dx_method", format_func=methods.get)
    target = target_col.selectbox(
        "Explain class", ["auto", *CLASS_NAMES], key="dx_target", format_func=lambda t: CLASS_TITLES.get(t, "Top class")
    )
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key="dx_alpha")
    outline_col, lungs_col = st.columns(2)  # own row: beside the slider the labels were cut to "O…" and "L…"
    outline = outline_col.checkbox(
        "Outline", key="dx_outline", help=f"Draw the contour of the hottest {100 - OUTLINE_PERCENTILE:g} % of the map."
    )
    lungs = lung_aware and lungs_col.checkbox(
        "Lungs", key="dx_lungs", help="Draw the outline of the lungs found by the lung segmenter."
    )
    return method, None if target == "auto" else target, alpha, outline, lungs


def _map_notes(explanation: Explanation) -> list[str]:
    """What the viewer must know about this map, from its data (flatness, the method's class specificity)."""
    notes = []
    if explanation.flat:
        notes.append("Near-flat map: the colours stretch tiny differences; no region stands out.")
    spec = CAM_METHODS[explanation.method]
    if not spec.class_specific:
        notes.append(f"{spec.title} is not class-specific: the same map for every target class.")
    return notes


def _heatmap(
    loaded: LoadedModel, key: str, image: XrayImage, display: Any, view: dict[str, float], prediction: Prediction
) -> tuple[Any | None, dict[str, Any] | None]:
    """The overlay image, its strength and (accepted inputs only) the lungs; returns (overlay RGB, JSON summary)."""
    from dashboard import lung_view  # torch: imported once a film is picked (preloaded by dashboard.warmup)

    slot = st.container(key="dx_heatmap")  # image first, controls below it, aligned with the original
    lungs = lung_view.lungs(key, image, prediction.refused)  # no lung claims on a refused input
    method, target, alpha, outline, show_lungs = _heatmap_controls(lung_aware=lungs.outline is not None)
    explanation, problem = components.explain(loaded, key, image, method, target)
    if explanation is None:
        slot.info(problem, icon=":material/info:")
        return None, None
    rgb = components.overlay(display, film_input.zoomed(explanation.cam, view), alpha, outline)
    if show_lungs and lungs.outline is not None:
        rgb = lung_view.draw(rgb, dataclasses.replace(lungs, outline=film_input.fitted(lungs.outline, view, rgb.shape)))
    summary = {k: v for k, v in explanation.summary().items() if k != "prediction"}  # the JSON has it once
    with slot:
        film_input.show(rgb, f"{components.cam_methods()[method]} for {CLASS_TITLES[explanation.target]}")
        st.markdown(
            f"Heatmap strength: **{explanation.strength}** · evidence {explanation.evidence:.2f} log-odds",
            help=_strength_help(),
        )
        for note in _map_notes(explanation):
            st.caption(f":material/info: {note}")
        summary["lungs"] = lung_view.report(lungs, explanation)
    if st.toggle("Faithfulness check", key="dx_faithfulness", help=FAITHFULNESS_HELP):
        summary["faithfulness"] = _faithfulness(loaded, key, image, explanation)
    return rgb, summary


def _faithfulness(loaded: LoadedModel, key: str, image: XrayImage, explanation: Explanation) -> dict[str, Any] | None:
    scores, problem = components.faithfulness(loaded, key, image, explanation)
    if scores is None:
        st.info(problem)
        return None
    drop, random_drop = scores.get("road_drop"), scores.get("random_road_drop")
    if drop is None:
        st.caption("Undefined for a flat map: there is no hottest region to remove.")
        return scores
    left, right = st.columns(2)
    left.metric(
        f"Drop, {REMOVED} removed",
        f"{100 * drop:.1f} pp",
        delta=None if random_drop is None else f"{100 * (drop - random_drop):+.1f} pp vs random map",
    )
    keep = scores.get("keep_change")
    right.metric("Change, only hot region kept", "n/a" if keep is None else f"{100 * keep:+.1f} pp")
    return scores


def _downloads(
    loaded: LoadedModel, image: XrayImage, prediction: Prediction, rgb: Any, summary: dict[str, Any] | None
) -> None:
    stem = Path(str(image.meta.get("name", "image"))).stem or "image"

    def record() -> str:  # built only when clicked (a deferred download)
        return result_json(result_record(prediction, image.meta, loaded.identity(), summary))

    left, right = st.columns(2)
    left.download_button(
        "Result (JSON)",
        record,
        f"{stem}_result.json",
        "application/json",
        key="dx_download_json",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
    )
    right.download_button(
        "Overlay (PNG)",
        (lambda: png_bytes(rgb)) if rgb is not None else b"",
        f"{stem}_overlay.png",
        "image/png",
        key="dx_download_png",
        icon=":material/image:",
        on_click="ignore",
        disabled=rgb is None,
        width="stretch",
    )


def _prediction(loaded: LoadedModel | OnnxModel, key: str, image: XrayImage) -> Prediction:
    """The ONNX engine's prediction (tens of milliseconds, no torch), else the one from the heatmap's own forward
    pass (one pass, not two), else a plain prediction."""
    if hasattr(loaded, "predict_batch"):  # the ONNX engine (dashboard.fast_engine)
        return components.predict(loaded, key, image)
    method = st.session_state.get("dx_method", DEFAULT_METHOD)  # the heatmap widgets' values, before they are drawn
    target = st.session_state.get("dx_target", "auto")
    explanation, _ = components.explain(loaded, key, image, method, None if target == "auto" else target)
    return explanation.prediction if explanation is not None else components.predict(loaded, key, image)


def render() -> None:
    st.title("Diagnose")
    source = st.radio(
        "Image source",
        ["Upload a file", "Sample from the dataset"],
        key="dx_source",
        horizontal=True,
        label_visibility="collapsed",
    )
    picked = film_input.upload() if source == "Upload a file" else film_input.sample()
    if picked is None:
        st.caption(f"{DISCLAIMER_SHORT} Images stay on this server and are not stored.")
        st.stop()
    # The probabilities come from the ONNX engine once dashboard.warmup has loaded it (no torch, loaded first), so
    # they show while torch, which the heatmap, the lungs and the PDF need, may still be loading.
    fast = fast_engine.model()
    scorer, error = (fast, "") if fast is not None else components.get_model()  # may wait for dashboard.warmup
    banners.model_ready(scorer, error)  # the sidebar said "Loading the model…" if app.py did not wait for it
    banners.untrained_banner(scorer)  # when app.py could not draw it yet
    image, problem = components.decode(*picked)
    if image is None:
        st.error(f"**This file cannot be analysed.** {problem}", icon=":material/broken_image:")
        st.stop()
    key = components.digest(picked[1])
    original_col, heat_col, result_col = st.columns([1, 1, 1.15], gap="medium")
    with original_col:
        slot = st.container(key="dx_original")
        display, view = film_input.viewer(image, key)
        with slot:
            caption = f"{safe_text.name(image.meta.get('name', 'image'))} · {image.width} x {image.height} px"
            film_input.show(display, caption)
        with st.expander("Image details", icon=":material/info:"):
            st.json({k: image.meta[k] for k in META_FIELDS if k in image.meta}, expanded=True)
    if scorer is None:
        result_col.error(error, icon=":material/error:")
        st.stop()
    prediction = _prediction(scorer, key, image)
    components.audit_once(picked[1], prediction, scorer, key)
    with result_col:
        shown = _results(scorer, prediction, key)
    loaded, error = components.get_model() if fast is not None else (scorer, error)  # torch: drawn above already
    if loaded is None:
        heat_col.error(error, icon=":material/error:")
        st.stop()
    rgb, summary = None, None
    with heat_col:
        if shown:
            rgb, summary = _heatmap(loaded, key, image, display, view, prediction)
        else:
            st.info("The heatmap is hidden with the refused prediction.", icon=":material/visibility_off:")
    if shown:
        from dashboard import report_button, similar_view  # torch: imported once a film is picked

        with result_col:
            _downloads(loaded, image, prediction, rgb, summary)
            report_button.render(loaded, key, image)  # the PDF report
        similar_view.render(loaded, key, image, prediction)  # similar training films


if __name__ == "__main__":
    render()
