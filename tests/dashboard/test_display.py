"""Screen pixels: window/level, zoom, fitting, thumbnails, painted outlines, PNG encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dashboard.display import (
    apply_window,
    default_window,
    fit,
    needs_window,
    outline_width,
    paint,
    png_bytes,
    thumbnail,
    zoom_crop,
)
from xray_core.io.image import XrayImage


def test_apply_window_maps_the_window_to_0_255_and_inverts():
    pixels = np.array([[0.0, 0.25, 0.5, 0.75, 1.0]], np.float32)
    assert apply_window(pixels, 0.5, 1.0).tolist() == [[0, 64, 128, 191, 255]]
    assert apply_window(pixels, 0.5, 0.5).tolist() == [[0, 0, 128, 255, 255]]
    assert apply_window(pixels, 0.5, 1.0, invert=True).tolist() == [[255, 191, 128, 64, 0]]
    assert apply_window(pixels, 0.5, 0.0).dtype == np.uint8  # zero width is clamped, not a division by zero


def test_default_window_full_range_for_8_bit_and_percentiles_for_16_bit_and_dicom():
    pixels = np.linspace(0.1, 0.3, 64 * 64, dtype=np.float32).reshape(64, 64)
    assert default_window(XrayImage(pixels, {"format": "PNG", "bit_depth": 8})) == (0.5, 1.0)
    level, width = default_window(XrayImage(pixels, {"format": "PNG", "bit_depth": 16}))
    assert level == pytest.approx(0.2, abs=0.02) and width == pytest.approx(0.2, abs=0.02)
    assert needs_window(XrayImage(pixels, {"format": "DICOM", "bit_depth": 12}))
    constant = XrayImage(np.full((16, 16), 0.4, np.float32), {"format": "DICOM"})
    assert default_window(constant) == (0.5, 1.0)


def test_zoom_crop_keeps_the_window_inside_the_image():
    image = np.arange(100).reshape(10, 10)
    assert zoom_crop(image, 1.0) is image
    assert zoom_crop(image, 2.0).shape == (5, 5)
    assert zoom_crop(image, 2.0, 0.0, 0.0)[0, 0] == 0
    assert zoom_crop(image, 2.0, 1.0, 1.0)[-1, -1] == 99
    assert zoom_crop(np.zeros((10, 20, 3)), 4.0).shape == (2, 5, 3)


def test_fit_and_thumbnail_keep_aspect_and_never_upscale():
    assert fit(np.zeros((100, 400), np.uint8), 200).shape == (50, 200)
    assert fit(np.zeros((10, 20, 3), np.uint8), 200).shape == (10, 20, 3)
    thumb = thumbnail(np.ones((300, 150), np.float32), 100)
    assert thumb.shape == (100, 50) and thumb.dtype == np.uint8 and thumb.max() == 255
    padded = thumbnail(np.ones((300, 150), np.float32), 100, square=True)
    assert padded.shape == (100, 100) and padded[:, :25].max() == 0 and padded[:, 25:75].min() == 255


def test_paint_sets_only_the_masked_pixels_on_a_copy():
    rgb = np.zeros((4, 5, 3), np.uint8)
    where = np.zeros((4, 5), bool)
    where[1, 2] = True
    painted = paint(rgb, where, (0, 229, 255))
    assert painted[1, 2].tolist() == [0, 229, 255] and painted.sum() == 229 + 255 and rgb.sum() == 0
    assert outline_width((100, 2000)) == 1 and outline_width((2500, 3000)) == 10


def test_png_bytes_round_trip():
    array = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(array)))), array)
