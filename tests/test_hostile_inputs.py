"""Hostile inputs: >= 200 generated bad files through read_image, predict, explain and the dashboard's upload paths.

Each must end in a clear XrayInputError (naming the file and saying what is accepted) or a valid result, within
bounded traced memory; a file whose header declares more than may be decoded is refused before any pixel is.
A hypothesis test mutates the bytes of valid PNG/JPEG/TIFF/DICOM files.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from _probabilities import shown_probabilities
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xray_core.evaluation.reliability.files import Case, film
from xray_core.evaluation.reliability.hostile import hostile_cases, valid_files
from xray_core.explain.cam import explain
from xray_core.inference.input_checks import input_checks
from xray_core.inference.predict import predict_batch, predict_image
from xray_core.inference.results import batch_row
from xray_core.io.image import MIN_SIDE, XrayImage, XrayInputError
from xray_core.io.reader import read_image
from xray_core.io.source import SUPPORTED_EXTENSIONS
from xray_core.io.uploads import expand_uploads

pytestmark = pytest.mark.timeout(120)
CASES = hostile_cases(seed=0)
BASES = valid_files(seed=1)
#: Files whose header alone says they are too large, too many pages or not a chest film: never decoded.
REFUSED_FROM_HEADER = {"pages40k.tif", "ct_slice.dcm", "lateral.dcm", "knee.dcm"}
MAX_TRACED_BYTES = 256 * 2**20  # the largest accepted case (2048 x 2048) needs about 50 MB


def _bounded(step, *args):
    """Run ``step(*args)`` and check its peak traced (Python + numpy) memory."""
    tracemalloc.start()
    try:
        return step(*args)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MAX_TRACED_BYTES, f"{step.__name__} traced {peak / 2**20:.0f} MB"


def _read(name: str, data: bytes) -> XrayImage | None:
    """The decoded image, or None after a clear XrayInputError (any other exception fails the test)."""
    try:
        image = _bounded(_read_image, data, name)
    except XrayInputError as error:
        message = str(error)
        assert message.startswith(f"{name}:") and "expected" in message, message
        return None
    assert image.pixels.dtype == np.float32 and image.pixels.ndim == 2 and min(image.pixels.shape) >= MIN_SIDE
    assert np.isfinite(image.pixels).all() and image.pixels.min() >= 0.0 and image.pixels.max() <= 1.0
    json.dumps(image.meta)
    return image


def _read_image(data: bytes, name: str) -> XrayImage:  # positional, for _bounded
    return read_image(data, name=name)


def test_the_suite_covers_every_kind_of_hostile_file():
    names = " ".join(case.name for case in CASES)
    assert len(CASES) >= 200
    for kind in (
        "_cut",
        "_flip",
        "empty.png",
        "report.png",
        "scan.pdf.png",
        "bomb_100k.png",
        "deflate_bomb.png",
        "bomb.jpg",
        "bomb.tif",
        "1x1.png",
        "20000x20.png",
        "gray16.tif",
        "float32.tif",
        "float64.tif",
        "rgb.jpg",
        "frames3.dcm",
        "no_pixels.dcm",
        "pages3.tif",
        "pages40k.tif",
        "deflated.dcm",
        "deflate_bomb.dcm",
        "ct_slice.dcm",
        "lateral.dcm",
        "knee.dcm",
        "random",
    ):
        assert kind in names, kind


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file_ends_in_clear_error_or_valid_result(case: Case, loaded, decoded):
    image = _read(case.name, case.data)
    if case.expect != "any":
        assert (image is not None) == (case.expect == "valid"), f"expected {case.expect}"
    if "bomb" in case.name or case.name in REFUSED_FROM_HEADER:
        assert decoded == [], f"{case.name} reached the pixel decoder ({decoded})"
    if image is None:
        return
    prediction = _bounded(predict_image, loaded, image)
    probabilities = np.array(list(prediction.probabilities.values()))
    assert np.isfinite(probabilities).all() and probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert prediction.refused in (True, False) and np.isfinite(prediction.ood_score)
    explanation = _bounded(explain, loaded, image)
    assert explanation.cam.shape == image.pixels.shape and np.isfinite(explanation.cam).all()


def test_degenerate_but_readable_images_are_refused_with_a_reason(loaded):
    by_name = {case.name: case for case in CASES}
    for name, code in (
        ("20000x20.png", "extreme_aspect"),
        ("20x20000.png", "extreme_aspect"),
        ("black_2048.png", "uniform_image"),
    ):
        prediction = predict_image(loaded, read_image(by_name[name].data, name=name))
        assert prediction.refused and code in {d.code for d in prediction.refusals()}, prediction.decisions


def test_batch_upload_path_handles_every_hostile_file(loaded):
    """The dashboard's batch page: expand_uploads, read_image per file, predict_batch, one table row per file."""
    expanded = expand_uploads((case.name, case.data) for case in CASES)
    assert len(expanded.files) + len(expanded.skipped) == len(CASES)
    for message in expanded.skipped:
        assert "unsupported file type" in message
    rows, images = [], []
    for name, data in expanded.files:
        image = _read(name, data)
        if image is None:
            rows.append(batch_row(name, None, loaded.class_names, "unreadable"))
        else:
            images.append(image)
    for image, prediction in zip(images, predict_batch(loaded, images)):
        rows.append(batch_row(image.meta["name"], prediction, loaded.class_names))
    assert len(rows) == len(expanded.files) and len(images) >= 40


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(BASES)),
    edits=st.lists(
        st.one_of(
            st.tuples(st.just("set"), st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=4)),
            st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
            st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.integers(1, 256)),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_mutated_valid_files_never_crash(name: str, edits: list):
    """Overwrite, insert and delete bytes anywhere: read_image returns a valid image or a clear error."""
    data = bytearray(BASES[name])
    for operation, where, value in edits:
        at = int(where * len(data))
        if operation == "set":
            data[at : at + len(value)] = value
        elif operation == "insert":
            data[at:at] = value
        else:
            del data[at : at + value]
    image = _read(name, bytes(data))
    if image is not None:
        assert all(decision.refuses for decision in input_checks(image, None))


@pytest.fixture
def app_env(monkeypatch, tiny_checkpoint, tmp_path):
    monkeypatch.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint))
    monkeypatch.setenv("XRAY_DATA_DIR", str(tmp_path / "no-corpus"))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRAY_AUDIT_LOG", raising=False)


DASHBOARD_SAMPLE = (
    "empty.png",
    "report.png",
    "scan.pdf.png",
    "bomb_100k.png",
    "deflate_bomb.png",
    "1x1.png",
    "frames3.dcm",
    "no_pixels.dcm",
    "nan.tif",
    "random20000_png.png",
    "20000x20.png",
    "deflate_bomb.dcm",
    "ct_slice.dcm",
)


def test_diagnose_page_survives_hostile_uploads(app_env):
    """One session uploads a file of each kind in turn: a clear message or a result, never an exception."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
    at = AppTest.from_file(app, default_timeout=600).run()
    at.button(key="notice_ack_button").click().run()
    by_name = {case.name: case for case in CASES}
    sample = [by_name[n] for n in DASHBOARD_SAMPLE if n in by_name] + [c for c in CASES if "gray_flip" in c.name][:2]
    assert len(sample) >= 13
    for case in sample + [Case("ok", "film.png", _png(film(96, 80, 3)), "valid")]:
        at.file_uploader(key="dx_upload").set_value((case.name, case.data, "application/octet-stream")).run()
        assert not at.exception, (case.name, [e.value for e in at.exception])
        message = any("cannot be analysed" in e.value for e in at.error)
        result = any("Refused" in e.value for e in at.error) or bool(shown_probabilities(at))
        assert message != result, case.name  # exactly one of: a clear message, a (possibly refused) result
        if case.expect == "error":
            assert message, case.name
    assert result and not message  # the app is still usable after all of that


def _png(array: np.ndarray) -> bytes:
    from xray_core.evaluation.reliability.files import encode

    return encode(array, "PNG")


def test_supported_extensions_all_exercised():
    extensions = {Path(case.name).suffix.lower() for case in CASES}
    assert set(SUPPORTED_EXTENSIONS) <= extensions
