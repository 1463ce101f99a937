"""The Worklist page in AppTest against a real Orthanc: the studies with their (fake) patient names on screen,
open one -> probabilities and heatmap, send -> our report in the study; names never reach the audit log."""

from __future__ import annotations

import pytest
from _apptest import shown_percentages, start, texts
from _orthanc import orthanc_server, study

from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
from xray_core.pacs.client import connect, scored_studies, store

pytestmark = pytest.mark.pacs


@pytest.fixture(scope="module")
def server():
    with orthanc_server() as running:
        yield running


@pytest.fixture
def worklist(env, server, tmp_path):
    """Two fresh studies in the PACS and the app pointed at it, with an audit log."""
    films = [study(601, size=128), study(602, size=128, modality="CR")]
    store(connect(server.dicomweb), films)
    env.setenv("XRAY_DICOMWEB_URL", server.dicomweb)
    env.setenv("XRAY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    return films


def test_without_a_pacs_the_page_says_what_to_set(env):
    env.delenv("XRAY_DICOMWEB_URL", raising=False)
    at = start("worklist")
    assert "XRAY_DICOMWEB_URL" in texts(at)


def test_open_show_send(worklist, server, tiny_checkpoint, tmp_path):
    at = start("worklist")
    uids = [film.StudyInstanceUID for film in worklist]
    labels = at.selectbox(key="wl_study").options  # what the clinician reads: the patient's name first
    assert any("0601" in label for label in labels) and any("0602" in label for label in labels)
    at.selectbox(key="wl_study").select_index(next(i for i, label in enumerate(labels) if "0601" in label)).run()
    at.button(key="wl_open_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert sum(shown_percentages(at)) == pytest.approx(100, abs=0.5)
    captions = [c for image in at.image for c in image.captions]
    assert any("Film from the PACS" in c for c in captions) and any(
        CAM_METHODS[DEFAULT_METHOD].title in c for c in captions
    )
    at.button(key="wl_send").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("stored in this study" in s.value or "Not sent" in s.value for s in at.success)
    pacs = connect(server.dicomweb)
    from xray_core.models.checkpoint import load_checkpoint

    assert uids[0] in scored_studies(pacs, load_checkpoint(tiny_checkpoint).sha256)
    at.radio(key="wl_status").set_value("scored").run()
    labels = at.selectbox(key="wl_study").options
    assert any("0601" in label for label in labels) and not any("0602" in label for label in labels)
    assert (tmp_path / "audit.jsonl").read_bytes()
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):  # the audit log and the app's cache
        assert b"DEMO^06" not in path.read_bytes() and b"DEMO06" not in path.read_bytes(), path
