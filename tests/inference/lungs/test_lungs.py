import json

import numpy as np
import pytest
import torch

from xray_core.config import REPO_ROOT, Preprocessing
from xray_core.inference.lungs import segment as lungs
from xray_core.inference.lungs.masks import default_segmenter, postprocess
from xray_core.inference.lungs.segment import dice, load_segmenter, lung_outline, mask_pairs, segment, surface_distances
from xray_core.models.unet import SegmenterError, SegmenterMeta, UNet, save_segmenter


def _square(top, left, side, shape=(20, 20)):
    mask = np.zeros(shape, bool)
    mask[top : top + side, left : left + side] = True
    return mask


def test_dice_by_hand():
    prediction = np.zeros((4, 4), bool)
    prediction[0, :4] = True  # 4 pixels
    reference = np.zeros((4, 4), bool)
    reference[0, 1:4] = reference[1, 1:4] = True  # 6 pixels, 3 shared
    assert dice(prediction, reference) == pytest.approx(2 * 3 / 10)
    assert dice(prediction, prediction) == 1.0
    assert dice(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) is None
    with pytest.raises(ValueError, match="shapes differ"):
        dice(prediction, np.zeros((3, 4), bool))


def test_surface_distances_by_hand():
    same = surface_distances(_square(2, 2, 6), _square(2, 2, 6))
    assert same == {"assd": 0.0, "hd95": 0.0, "hausdorff": 0.0}
    shifted = surface_distances(_square(2, 2, 6), _square(2, 4, 6))  # two columns to the right
    assert shifted["hausdorff"] == 2.0 and 0 < shifted["assd"] < 2 and shifted["hd95"] <= 2
    assert surface_distances(_square(2, 2, 6), np.zeros((20, 20), bool))["assd"] is None


def test_postprocess_keeps_two_lungs_and_fills_holes():
    mask = _square(1, 1, 10, (30, 30)) | _square(1, 15, 9, (30, 30)) | _square(25, 25, 3, (30, 30))
    mask[4, 4] = False  # a hole in the right lung (a catheter)
    kept = postprocess(mask)
    assert kept[4, 4] and not kept[25:28, 25:28].any()
    assert kept.sum() == 100 + 81
    speck = _square(1, 1, 10, (30, 30)) | _square(25, 25, 2, (30, 30))  # 4 px < 5 % of 100 px
    assert postprocess(speck).sum() == 100
    assert not postprocess(np.zeros((5, 5), bool)).any()


def test_outline_is_the_inner_edge():
    edge = lung_outline(_square(2, 2, 5, (9, 9)))
    assert edge.sum() == 16 and not edge[4, 4] and edge[2, 2]
    assert lung_outline(_square(2, 2, 5, (9, 9)), thickness=2).sum() == 16 + 8


@pytest.fixture()
def untrained(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "lungs.pt"
    save_segmenter(path, UNet(1, (4, 8)), SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8)))
    return path


def test_segment_returns_a_bool_mask_at_the_films_size(untrained):
    segmenter = load_segmenter(untrained)
    film = np.random.default_rng(0).random((50, 70)).astype(np.float32)
    mask = segment(segmenter, film)
    assert mask.shape == (50, 70) and mask.dtype == bool
    assert lungs.lung_probability(segmenter, film).shape == (50, 70)
    assert load_segmenter(untrained) is segmenter  # cached until the file changes


def test_segment_batch_matches_one_film_at_a_time(untrained):
    segmenter = load_segmenter(untrained)
    rng = np.random.default_rng(1)
    films = [rng.random((50, 70)).astype(np.float32), rng.random((33, 40)).astype(np.float32)]
    batched = lungs.segment_batch(segmenter, films)
    assert [m.shape for m in batched] == [(50, 70), (33, 40)]
    assert all(np.array_equal(b, segment(segmenter, f)) for b, f in zip(batched, films, strict=True))
    assert lungs.segment_batch(segmenter, []) == []


def test_segment_remembers_recent_films_by_content(untrained, monkeypatch):
    segmenter = load_segmenter(untrained)
    calls = []
    real = lungs.lung_probability
    monkeypatch.setattr(lungs, "lung_probability", lambda s, f: calls.append(1) or real(s, f))
    film = np.random.default_rng(7).random((40, 60)).astype(np.float32)
    first = segment(segmenter, film)
    first[:] = ~first  # a caller's copy: changing it must not change what the memo returns
    second = segment(segmenter, film.copy())  # same content, another array
    assert len(calls) == 1 and np.array_equal(second, ~first)
    film[0, 0] = 1.0 - film[0, 0]
    segment(segmenter, film)  # new content: segmented again
    assert len(calls) == 2


def test_default_path_and_env_override(monkeypatch, tmp_path, untrained):
    monkeypatch.delenv("XRAY_SEGMENTER", raising=False)
    assert default_segmenter() == REPO_ROOT / "weights" / "lung_unet.pt"
    monkeypatch.setenv("XRAY_SEGMENTER", str(untrained))
    assert load_segmenter().path == str(untrained.resolve())
    with pytest.raises(SegmenterError, match="XRAY_SEGMENTER"):
        load_segmenter(tmp_path / "missing.pt")


def test_mask_pairs_rejects_unknown_sections(tmp_path):
    with pytest.raises(ValueError, match="'lungs' or 'external'"):
        mask_pairs(tmp_path, "images")
    with pytest.raises(FileNotFoundError, match="XRAY_DATA_DIR"):
        mask_pairs(tmp_path, "lungs")


@pytest.mark.corpus
def test_shipped_segmenter_reaches_its_card_on_external(corpus_dir):
    """The shipped U-Net on every 4th external film (by id) reaches the card's external Dice within 0.01."""
    report = json.loads((REPO_ROOT / "weights" / "lung_metrics.json").read_text())
    card_dice = report["sections"]["external"]["summary"]["dice_mean"]
    assert f"{card_dice:.3f}" in (REPO_ROOT / "weights" / "LUNG_CARD.md").read_text()
    pairs = mask_pairs(corpus_dir, "external").sort_values("path").iloc[::4]
    segmenter = load_segmenter(REPO_ROOT / "weights" / "lung_unet.pt")
    scores = [
        dice(segment(segmenter, lungs.read_image(p)), lungs.read_mask(m)) for p, m in zip(pairs["path"], pairs["mask"])
    ]
    recorded = {row["id"]: row["dice"] for row in report["sections"]["external"]["per_image"]}
    assert np.mean(scores) >= card_dice - 0.01
    expected = np.mean([recorded[p.rsplit("/", 1)[1].rsplit(".", 1)[0]] for p in pairs["path"]])
    assert np.mean(scores) == pytest.approx(expected, abs=0.01)
