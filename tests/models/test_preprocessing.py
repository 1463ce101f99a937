"""Shapes, hand-computed values and determinism of xray_core.models.preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xray_core.config import Preprocessing
from xray_core.models.preprocessing import TrainAugment, normalize, normalize_batch, to_tensor, tta_views
from xray_core.models.resize import cam_to_image, resize_square


def _ramp(height: int, width: int) -> np.ndarray:
    """Asymmetric H x W float32 image in [0, 1] (bright on the right, brighter at the bottom)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return (0.7 * x / max(width - 1, 1) + 0.3 * y / max(height - 1, 1)).astype(np.float32)


@pytest.mark.parametrize("shape", [(16, 16), (300, 100), (100, 300), (40, 400), (600, 20), (7, 9), (64, 64)])
def test_resize_square_any_aspect(shape: tuple[int, int]) -> None:
    out = resize_square(_ramp(*shape), 64)
    assert out.shape == (64, 64) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_resize_square_hand_values() -> None:
    image = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0]], dtype=np.float32)
    np.testing.assert_allclose(resize_square(image, 2), [[0, 1], [0.5, 0]], atol=1e-6)  # area = block means
    enlarged = resize_square(np.array([[0, 1], [1, 0]], dtype=np.float32), 4)
    assert enlarged[0, 0] == 0 and enlarged[0, 3] == 1  # linear keeps the corners
    constant = resize_square(np.full((30, 500), 0.25, np.float32), 32)  # one axis shrinks, one grows
    np.testing.assert_allclose(constant, 0.25, atol=1e-6)


def test_resize_square_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        resize_square(np.zeros((4, 4, 3), np.float32), 8)
    with pytest.raises(ValueError):
        resize_square(np.zeros((0, 4), np.float32), 8)


def test_to_tensor_normalisation_values() -> None:
    prep = Preprocessing(image_size=4, mean=0.5, std=0.25)
    image = np.array([[0.0, 0.25, 0.5, 1.0]] * 4, dtype=np.float32)
    tensor = to_tensor(image, prep)
    assert tensor.shape == (1, 4, 4) and tensor.dtype == torch.float32
    np.testing.assert_allclose(tensor[0, 0].numpy(), [-2.0, -1.0, 0.0, 2.0], atol=1e-6)
    as_uint8 = to_tensor(np.full((3, 5), 255, np.uint8), prep)
    np.testing.assert_allclose(as_uint8.numpy(), 2.0, atol=1e-6)


def test_to_tensor_three_channels_any_size() -> None:
    prep = Preprocessing(image_size=32, in_channels=3)
    tensor = to_tensor(_ramp(200, 90), prep)
    assert tensor.shape == (3, 32, 32)
    assert torch.equal(tensor[0], tensor[1]) and torch.equal(tensor[1], tensor[2])


def test_normalize_batch_shapes_and_values() -> None:
    prep = Preprocessing(image_size=8, in_channels=3, mean=0.5, std=0.25)
    cached = torch.full((2, 8, 8), 255, dtype=torch.uint8)
    for batch in (cached, cached[:, None]):
        out = normalize_batch(batch, prep)
        assert out.shape == (2, 3, 8, 8) and out.dtype == torch.float32
        assert torch.allclose(out, torch.full_like(out, 2.0))
    with pytest.raises(ValueError):
        normalize_batch(torch.zeros((2, 16, 16), dtype=torch.uint8), prep)  # wrong side
    with pytest.raises(ValueError):
        normalize_batch(torch.zeros((2, 8, 8)), prep)  # not uint8


def _batch(n: int = 6, size: int = 32) -> torch.Tensor:
    return torch.from_numpy(_ramp(size, size))[None, None].repeat(n, 1, 1, 1)


def test_augment_identity_at_strength_zero() -> None:
    batch = _batch()
    assert torch.equal(TrainAugment(strength=0.0, hflip=True)(batch), batch)


@pytest.mark.parametrize("strength", [0.5, 1.0, 3.0])
def test_augment_shape_range_and_change(strength: float) -> None:
    batch = _batch()
    out = TrainAugment(strength)(batch, generator=torch.Generator().manual_seed(1))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not torch.allclose(out, batch)


def test_augment_deterministic_given_generator() -> None:
    batch, augment = _batch(), TrainAugment(1.0)
    first = augment(batch, generator=torch.Generator().manual_seed(7))
    again = augment(batch, generator=torch.Generator().manual_seed(7))
    other = augment(batch, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, again) and not torch.equal(first, other)
    seeded = TrainAugment(1.0, generator=torch.Generator().manual_seed(7))
    assert torch.equal(seeded(batch), first)


def _sharpness(batch: torch.Tensor) -> torch.Tensor:
    """Mean absolute horizontal difference per image: blur lowers it, sharpening and noise raise it."""
    return (batch[..., 1:] - batch[..., :-1]).abs().mean(dim=(1, 2, 3))


def test_processing_augment_varies_sharpness_and_stays_in_range() -> None:
    film = torch.rand(1, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    batch = film.expand(64, 1, 48, 48).contiguous()
    plain = TrainAugment(1.0)(batch, generator=torch.Generator().manual_seed(1))
    processed = TrainAugment(1.0, processing=1.0)(batch, generator=torch.Generator().manual_seed(1))
    assert processed.min() >= 0.0 and processed.max() <= 1.0
    assert _sharpness(processed).std() > 2 * _sharpness(plain).std()
    again = TrainAugment(1.0, processing=1.0)(batch, generator=torch.Generator().manual_seed(1))
    assert torch.equal(processed, again)


def test_processing_off_keeps_the_plain_draws() -> None:
    batch = _batch()
    plain = TrainAugment(1.0)(batch, generator=torch.Generator().manual_seed(5))
    off = TrainAugment(1.0, processing=0.0)(batch, generator=torch.Generator().manual_seed(5))
    assert torch.equal(plain, off)
    with pytest.raises(ValueError, match="processing"):
        TrainAugment(1.0, processing=-1.0)


@pytest.mark.parametrize("hflip", [False, True])
def test_augment_moves_masks_with_the_images(hflip: bool) -> None:
    square = torch.zeros(16, 1, 32, 32)
    square[:, :, 6:20, 4:14] = 1.0  # off-centre, so rotation, shift, scale and flip all move it
    augment = TrainAugment(1.5, hflip=hflip)
    plain = augment(square, generator=torch.Generator().manual_seed(3))
    images, masks = augment.with_masks(square, square.clone(), generator=torch.Generator().manual_seed(3))
    assert torch.equal(images, plain)  # the same draws with or without masks
    assert masks.shape == square.shape and not torch.equal(masks, square)
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    bright = images > (low + high) / 2  # intensity changes keep two ordered levels; the geometry is the mask's
    assert (bright == (masks > 0.5)).float().mean() > 0.99
    assert augment.with_masks(square, None)[1] is None
    with pytest.raises(ValueError, match="do not match"):
        augment.with_masks(square, square[:, :, :16])


def test_hflip_off_by_default() -> None:
    batch = _batch(n=64)
    mirrored = batch.flip(-1)
    tiny = 1e-4  # geometry and intensity nearly unchanged, so only a flip could move pixels far

    def flipped(augment: TrainAugment) -> torch.Tensor:
        out = augment(batch, generator=torch.Generator().manual_seed(0))
        return (out - mirrored).abs().amax(dim=(1, 2, 3)) < (out - batch).abs().amax(dim=(1, 2, 3))

    assert TrainAugment().hflip is False
    assert not flipped(TrainAugment(tiny)).any()
    assert 10 < int(flipped(TrainAugment(tiny, hflip=True)).sum()) < 54


def test_tta_views_shapes_and_commute_with_normalisation() -> None:
    prep = Preprocessing(image_size=32)
    batch = _batch(n=3)
    views = tta_views(batch)
    assert len(views) >= 3 and torch.equal(views[0], batch)
    assert all(view.shape == batch.shape for view in views)
    assert not torch.allclose(views[1], batch)
    for raw_view, normalised_view in zip(views, tta_views(normalize(batch, prep))):
        assert torch.allclose(normalize(raw_view, prep), normalised_view, atol=1e-5)
    assert tta_views(torch.zeros(2, 3, 16, 16))[1].shape == (2, 3, 16, 16)


@pytest.mark.parametrize("height,width", [(512, 384), (100, 900), (20, 20)])
def test_cam_to_image_shape_and_range(height: int, width: int) -> None:
    cam = np.random.default_rng(0).uniform(-0.2, 1.2, size=(10, 10)).astype(np.float32)
    out = cam_to_image(cam, height, width)
    assert out.shape == (height, width) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(cam_to_image(np.full((1, 10, 10), 0.3), height, width), 0.3, atol=1e-6)


def test_box_from_mask_adds_the_margin_and_stays_on_the_film():
    from xray_core.models.resize import box_from_mask

    mask = np.zeros((100, 200), bool)
    mask[20:60, 50:150] = True  # 40 x 100 px
    assert box_from_mask(mask, 0.0) == (20, 60, 50, 150)
    assert box_from_mask(mask, 0.1) == (16, 64, 40, 160)  # 4 px and 10 px on each side
    assert box_from_mask(mask, 1.0) == (0, 100, 0, 200)  # clipped to the film
    speck = np.zeros((100, 200), bool)
    speck[5:8, 5:8] = True  # under MIN_LUNG_SHARE: no lungs found, the whole film
    assert box_from_mask(speck, 0.1) == (0, 100, 0, 200)


def test_cropping_preprocessing_needs_a_box_and_maps_return_to_it():
    from xray_core.models.resize import cam_to_image

    prep = Preprocessing(image_size=8, crop="lungs")
    film = np.random.default_rng(0).random((20, 30)).astype(np.float32)
    with pytest.raises(ValueError, match="pass the crop box"):
        to_tensor(film, prep)
    with pytest.raises(ValueError, match="does not fit"):
        to_tensor(film, prep, box=(0, 25, 0, 30))
    assert torch.allclose(to_tensor(film, prep, box=(5, 15, 10, 20)), to_tensor(film[5:15, 10:20], Preprocessing(8)))
    cam = cam_to_image(np.ones((8, 8), np.float32), 20, 30, box=(5, 15, 10, 20))
    assert cam.shape == (20, 30) and cam[5:15, 10:20].min() == 1.0 and cam.sum() == 100
    with pytest.raises(ValueError, match="Unknown crop"):
        Preprocessing(crop="heart")


def test_lung_masked_preprocessing_blanks_outside_the_grown_lungs():
    from xray_core.models.resize import keep_square, mask_fill

    prep = Preprocessing(image_size=20, crop="lungs", mask="lungs", mask_dilation=0.0)
    film = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    lungs = np.zeros((40, 40), bool)
    lungs[10:30, 10:20] = True  # the left half of the box below
    box = (10, 30, 10, 30)
    with pytest.raises(ValueError, match="pass the lung mask"):
        to_tensor(film, prep, box=box)
    masked = to_tensor(film, prep, box=box, lung_mask=lungs)[0].numpy()
    plain = to_tensor(film, Preprocessing(image_size=20, crop="lungs"), box=box)[0].numpy()
    fill = (mask_fill(prep) - prep.mean) / prep.std
    np.testing.assert_array_equal(masked[:, :10], plain[:, :10])  # inside the lungs: what the crop alone gives
    np.testing.assert_allclose(masked[:, 10:], fill, atol=1e-6)  # outside: the mean on the uint8 grid
    grown = keep_square(lungs, box, 20, dilation=0.1)  # 2 px wider
    assert grown[:, :12].all() and not grown[:, 12:].any()
    speck = np.zeros((40, 40), bool)
    speck[0, 0] = True  # no lungs found: the whole film box, nothing blanked
    assert keep_square(speck, (0, 40, 0, 40), 20, 0.04).all()


def test_a_lung_mask_needs_the_lung_crop():
    with pytest.raises(ValueError, match="needs crop='lungs'"):
        Preprocessing(mask="lungs")
    with pytest.raises(ValueError, match="Unknown mask"):
        Preprocessing(crop="lungs", mask="heart")
    assert Preprocessing.from_dict(Preprocessing(crop="lungs").to_dict()).mask == "none"  # older checkpoints
