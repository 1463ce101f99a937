"""Lung-cropped input: the same box at training, prediction and explanation time, from the recorded segmenter."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from xray_core.config import Preprocessing
from xray_core.data.cache import cached_pixels
from xray_core.inference.lungs import crop
from xray_core.models.preprocessing import to_tensor
from xray_core.models.resize import mask_fill, resize_square
from xray_core.models.unet import SegmenterError

LUNGS = Preprocessing(image_size=16, crop="lungs", crop_margin=0.0, crop_segmenter="abc")


@pytest.fixture
def fake_segmenter(monkeypatch):
    """A 'segmenter' whose lungs are rows 10-29, columns 20-59 of any film (a hand-made mask)."""

    def segment(_segmenter, pixels):
        mask = np.zeros(np.asarray(pixels).shape, bool)
        mask[10:30, 20:60] = True
        return mask

    calls = []
    monkeypatch.setattr(crop, "load_segmenter", lambda: calls.append(1) or SimpleNamespace(sha256="abc", path="x"))
    monkeypatch.setattr(crop, "segment", segment)
    monkeypatch.setattr(crop, "segment_batch", lambda seg, films: [segment(seg, film) for film in films])
    return calls


def test_whole_film_preprocessing_has_no_box():
    film = np.random.default_rng(0).random((40, 80)).astype(np.float32)
    tensor, box = crop.model_input(Preprocessing(image_size=16), film)
    assert box is None and tensor.shape == (1, 1, 16, 16)
    assert torch.equal(tensor[0], to_tensor(film, Preprocessing(image_size=16)))


def test_model_input_crops_to_the_lungs(fake_segmenter):
    film = np.random.default_rng(1).random((40, 80)).astype(np.float32)
    tensor, box = crop.model_input(LUNGS, film)
    assert box == (10, 30, 20, 60)
    expected = (resize_square(film[10:30, 20:60], 16) - LUNGS.mean) / LUNGS.std
    assert np.allclose(tensor[0, 0].numpy(), expected, atol=1e-6)


def test_lung_masked_input_blanks_outside_the_lungs_and_training_squares_agree(fake_segmenter, tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    from PIL import Image

    prep = Preprocessing(image_size=16, crop="lungs", crop_margin=0.25, crop_segmenter="abc", mask="lungs")
    film = (np.arange(40 * 80).reshape(40, 80) % 251).astype(np.uint8)
    path = tmp_path / "film.png"
    Image.fromarray(film).save(path)
    tensor, box = crop.model_input(prep, film)
    assert box == (5, 35, 10, 70)  # the 20 x 40 lungs plus a quarter on each side
    unmasked, _ = crop.model_input(dataclasses.replace(prep, mask="none"), film)
    blank = (mask_fill(prep) - prep.mean) / prep.std
    top_row = tensor[0, 0, 0], unmasked[0, 0, 0]  # not lung
    assert np.allclose(top_row[0], blank, atol=1e-6) and not np.allclose(top_row[1], blank, atol=1e-6)
    assert torch.equal(tensor[0, 0, 8, 3:13], unmasked[0, 0, 8, 3:13])  # the middle row's lung part is kept
    assert np.allclose(tensor[0, 0, 8, [0, 15]], blank, atol=1e-6)  # the side margins are blanked
    squares = crop.model_squares(pd.DataFrame({"path": [str(path)]}), prep, progress=False)
    assert squares.shape == (1, 16, 16) and squares.dtype == np.uint8
    from_cache = (squares[0] / 255 - prep.mean) / prep.std
    assert np.abs(from_cache - tensor[0, 0].numpy()).max() <= 1 / 255 / prep.std + 1e-6  # uint8 rounding only
    assert len(list((tmp_path / "cache").glob("lungkeep-*.npy"))) == 1


def test_a_different_segmenter_is_refused(fake_segmenter):
    with pytest.raises(SegmenterError, match="trained on lung boxes"):
        crop.crop_box(Preprocessing(crop="lungs", crop_segmenter="another"), np.zeros((40, 80), np.float32))


def test_boxes_are_cached_and_feed_the_pixel_cache(fake_segmenter, tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    from PIL import Image

    film = (np.arange(40 * 80).reshape(40, 80) % 251).astype(np.uint8)
    path = tmp_path / "film.png"
    Image.fromarray(film).save(path)
    table = pd.DataFrame({"path": [str(path)]})
    cropped = crop.model_squares(table, LUNGS, workers=1, progress=False)[0]
    [box_file] = (tmp_path / "cache").glob("lungboxes-*.npy")
    assert np.load(box_file).tolist() == [[10, 30, 20, 60]]
    segmented = len(fake_segmenter)
    again = crop.model_squares(table, LUNGS, workers=1, progress=False)[0]
    assert np.array_equal(again, cropped) and len(list((tmp_path / "cache").glob("lungboxes-*.npy"))) == 1
    assert len(fake_segmenter) == segmented + 1  # checked the segmenter's identity, did not segment again
    whole = cached_pixels(table, 16, workers=1, progress=False)[0]
    expected = np.rint(resize_square(film[10:30, 20:60].astype(np.float32) / 255, 16) * 255)
    assert np.abs(cropped.astype(int) - expected).max() <= 1 and not np.array_equal(cropped, whole)
    unboxed = crop.model_squares(table, Preprocessing(image_size=16), workers=1, progress=False)[0]
    assert np.array_equal(unboxed, whole) and len(fake_segmenter) == segmented + 1  # whole films: no segmenter


@pytest.mark.corpus
def test_shipped_segmenter_boxes_cover_the_reference_lungs(corpus_dir):
    from xray_core.inference.lungs.segment import read_mask
    from xray_core.io.reader import read_image

    table = pd.read_csv(corpus_dir / "external" / "manifest.csv").head(8)
    prep = Preprocessing(crop="lungs")
    covered = []
    for row in table.itertuples():
        image = read_image(corpus_dir / "external" / row.file)
        top, bottom, left, right = crop.crop_box(prep, image)
        mask = read_mask(corpus_dir / "external" / row.lung_mask)
        covered.append(mask[top:bottom, left:right].sum() / mask.sum())
        assert (bottom - top) * (right - left) < 0.95 * mask.size  # a real crop, not the whole film
    assert np.mean(covered) > 0.97
