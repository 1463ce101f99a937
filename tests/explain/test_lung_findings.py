"""The one lung-findings service: what is withheld and why, the share and the pointing result, the warning."""

from __future__ import annotations

import numpy as np
import pytest
from _lung_cases import CASES, checkpoint, corner_lungs, film, segmenter

from xray_core.explain import lung_findings as service
from xray_core.explain.cam import explain
from xray_core.explain.lung_findings import FilmLungs, film_lungs, lung_findings
from xray_core.inference.refusal import OUTSIDE_LUNGS, assess_lungs
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import load_checkpoint


def _mask() -> np.ndarray:
    mask = np.zeros((20, 20), bool)
    mask[4:16, 2:9] = mask[4:16, 11:18] = True  # two lungs
    return mask


def test_a_map_inside_the_lungs_gives_its_share_and_no_warning():
    findings = lung_findings(FilmLungs(_mask(), _mask()), _mask().astype(np.float32), flat=False)
    assert findings.reason is None and findings.lung_fraction == pytest.approx(1.0) and findings.pointing_hit
    assert findings.lung_area == pytest.approx(_mask().mean()) and findings.decisions == ()


def test_a_map_below_the_lungs_carries_the_outside_lungs_decision():
    cam = np.zeros((20, 20), np.float32)
    cam[17:, :] = 1.0  # the abdomen
    cam[5, 5] = 0.5
    findings = lung_findings(FilmLungs(_mask(), _mask()), cam, flat=False)
    (decision,) = findings.decisions
    assert decision.code == "outside_lungs" and decision.severity == "warn"
    assert decision.score == pytest.approx(findings.lung_fraction) and decision.threshold == OUTSIDE_LUNGS == 0.5
    assert findings.to_dict()["decisions"][0]["code"] == "outside_lungs" and findings.pointing_hit is False


def test_the_limit_is_strict_and_no_share_decides_nothing():
    assert assess_lungs(0.5) == [] and assess_lungs(None) == []
    assert [d.code for d in assess_lungs(0.49)] == ["outside_lungs"]


def test_no_share_for_a_flat_map_or_a_film_without_lungs_but_the_outline_stays():
    cam = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    flat = lung_findings(FilmLungs(_mask(), _mask()), cam, flat=True)
    assert flat.reason == "flat_map" and flat.lung_fraction is None and flat.pointing_hit is None
    assert flat.lungs.outline is not None and flat.decisions == ()
    empty = np.zeros((20, 20), bool)
    none = lung_findings(FilmLungs(empty, empty, reason="no_lungs"), cam, flat=False)
    assert none.reason == "no_lungs" and none.lung_fraction is None and none.lung_area == 0


def test_a_missing_segmenter_says_which_file(tmp_path):
    found = film_lungs(XrayImage(film()), refused=False, segmenter=tmp_path / "none.pt")
    assert found.reason == "no_segmenter" and found.mask is None and "not found" in found.note


@pytest.mark.parametrize("case", list(CASES))
def test_each_case_gives_its_reason(case, tmp_path, monkeypatch):
    kind, trained, reason = CASES[case]
    loaded = load_checkpoint(checkpoint(tmp_path / "model.pt", kind))
    if case == "outside":
        monkeypatch.setattr(service, "segment", corner_lungs)
    image = XrayImage(film())
    explanation = explain(loaded, image)
    found = film_lungs(image, explanation.prediction.refused, segmenter(tmp_path / "lungs.pt", trained))
    findings = lung_findings(found, explanation.cam, explanation.flat)
    assert findings.reason == reason and (findings.lung_fraction is None) == (reason is not None)
    assert [d.code for d in findings.decisions] == (["outside_lungs"] if case == "outside" else [])
    if case == "normal":
        assert findings.lung_fraction == pytest.approx(1.0) and findings.pointing_hit is True
