"""The card's input and operating-point lines, rendered from the checkpoint's metadata."""

from __future__ import annotations

from xray_core.config import Preprocessing
from xray_core.evaluation.card_words import operating_point_words, region_words
from xray_core.models.records import OperatingPoint


def test_region_names_the_crop_and_its_segmenter():
    assert region_words(Preprocessing()) == "the whole film"
    cropped = region_words(Preprocessing(crop="lungs", crop_margin=0.08, crop_segmenter="ab" * 32))
    assert "lungs' bounding box" in cropped and "abababababab" in cropped and "8%" in cropped
    assert "blanked" not in cropped
    masked = region_words(Preprocessing(crop="lungs", crop_segmenter="ab" * 32, mask="lungs", mask_dilation=0.04))
    assert masked.startswith(cropped[:30]) and "blanked outside the lung mask grown by 4%" in masked


def test_operating_point_words_single_and_per_age_group():
    assert operating_point_words(None) == "normal logit +0.00 (folded into the final bias)"
    single = {
        "normal_logit_offset": -0.3,
        "fitted_on": "val+external",
        "worst_after": {"cell": "val:a/b", "recall": 0.75},
    }
    assert operating_point_words(OperatingPoint.from_dict(single)) == (
        "normal logit -0.30 (folded into the final bias); chosen on val+external to maximise the worst cell recall "
        "(val:a/b: 0.750)"
    )
    aged = {
        **single,
        "normal_logit_offset": 0.0,
        "normal_logit_offset_total": -0.3,
        "age_offsets": {"adult": -0.35, "pediatric": 1.2},
    }
    words = operating_point_words(OperatingPoint.from_dict(aged))
    assert words.startswith("normal logit -0.30") and "-0.35 on films the age probe calls adult" in words
    assert "+1.20 on films it calls pediatric" in words
