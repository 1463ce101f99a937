"""xray_core.io.raster: PNG, JPEG and TIFF to float32 (H, W) in [0, 1], with their metadata."""

from __future__ import annotations

import io

import numpy as np
import pytest
from _contract import check_contract, write
from _factories import gradient, jpeg_bytes, pil_bytes, png_bytes, tiff_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image, read_image_header


def test_png16_keeps_full_precision(tmp_path):
    stored = gradient(64, 64, high=65535, dtype=np.uint16)
    image = read_image(write(tmp_path, "film16.png", png_bytes(stored)))
    check_contract(image)
    np.testing.assert_allclose(image.pixels, stored / 65535.0, atol=1e-6)
    assert len(np.unique(image.pixels)) > 256  # finer than 8 bits
    assert image.meta | {"stored_range": None} == {
        "name": "film16.png",
        "format": "PNG",
        "width": 64,
        "height": 64,
        "bit_depth": 16,
        "photometric": "I;16",
        "converted_from_color": False,
        "stored_range": None,
    }


def test_png8_exact(tmp_path):
    stored = gradient()
    image = read_image(write(tmp_path, "film.png", png_bytes(stored)))
    check_contract(image)
    np.testing.assert_allclose(image.pixels, stored / 255.0, atol=1e-7)
    assert (image.meta["bit_depth"], image.meta["photometric"], image.meta["format"]) == (8, "L", "PNG")
    np.testing.assert_array_equal(image.to_uint8(), stored)


def test_jpeg_close_to_source():
    stored = gradient(64, 64)
    image = read_image(jpeg_bytes(stored), name="film.jpg")
    check_contract(image)
    assert np.abs(image.pixels - stored / 255.0).max() < 0.03
    assert (image.meta["format"], image.meta["bit_depth"], image.meta["name"]) == ("JPEG", 8, "film.jpg")


def test_jpeg_exif_rotation_applied_also_in_header():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    data = pil_bytes(Image.fromarray(gradient(16, 40)), "JPEG", exif=exif)
    assert read_image(data).pixels.shape == (40, 16)
    assert (read_image_header(data)["height"], read_image_header(data)["width"]) == (40, 16)


def test_tiff16_exact_and_float_scaled_by_own_range():
    stored = gradient(32, 32, high=65535, dtype=np.uint16)
    image = read_image(tiff_bytes(stored), name="film.tif")
    np.testing.assert_allclose(image.pixels, stored / 65535.0, atol=1e-6)
    assert (image.meta["format"], image.meta["bit_depth"]) == ("TIFF", 16)

    values = np.linspace(-5.0, 10.0, 32 * 32, dtype=np.float32).reshape(32, 32)
    image = read_image(tiff_bytes(values), name="film.tiff")
    check_contract(image)
    np.testing.assert_allclose(image.pixels, (values + 5.0) / 15.0, atol=1e-6)
    assert image.meta["bit_depth"] == 32 and image.meta["stored_range"] == [-5.0, 10.0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_tiff_with_nan_or_inf_refused(bad):
    values = np.ones((16, 16), np.float32)
    values[3, 4] = bad
    with pytest.raises(XrayInputError, match="nan.tif: .*NaN or infinite"):
        read_image(tiff_bytes(values), name="nan.tif")


def test_constant_images_do_not_crash():
    assert read_image(tiff_bytes(np.full((16, 16), 7.5, np.float32))).pixels.max() == 0.0
    np.testing.assert_allclose(read_image(png_bytes(np.full((16, 16), 51, np.uint8))).pixels, 0.2)


def test_rgb_png_becomes_luma_and_is_flagged():
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:8, :, 0] = 255  # red top half
    rgb[8:, :, 1] = 255  # green bottom half
    image = read_image(png_bytes(rgb), name="colour.png")
    check_contract(image)
    assert image.meta["converted_from_color"] is True and image.meta["photometric"] == "RGB"
    np.testing.assert_allclose(image.pixels[0, 0], 0.299, atol=1e-6)
    np.testing.assert_allclose(image.pixels[-1, 0], 0.587, atol=1e-6)


@pytest.mark.parametrize("mode, colour", [("P", True), ("RGBA", True), ("LA", False), ("1", False)])
def test_other_png_modes(mode, colour):
    gray = gradient(16, 16)
    image = read_image(png_bytes(np.stack([gray] * 3, axis=-1), mode=mode), name=f"{mode}.png")
    check_contract(image)
    assert image.meta["converted_from_color"] is colour and image.meta["photometric"] == mode
    if mode in ("RGBA", "LA"):  # alpha dropped, gray values kept
        np.testing.assert_allclose(image.pixels, gray / 255.0, atol=1 / 255)


@pytest.mark.parametrize("fmt", ["TIFF", "PNG"])
def test_multi_frame_rasters_refused(fmt):
    frames = [Image.fromarray(gradient()), Image.fromarray(255 - gradient())]
    data = pil_bytes(frames[0], fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(XrayInputError, match=f"stack: the {fmt} holds 2 frames; expected a single image"):
        read_image(data, name="stack")


@settings(max_examples=25, deadline=None)
@given(
    st.integers(8, 24),
    st.integers(8, 24),
    st.sampled_from([np.uint8, np.uint16, np.float32]),
    st.integers(0, 2**31),
)
def test_any_small_raster_meets_the_contract(height, width, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype is np.float32:
        stored = rng.normal(0, 1000, (height, width)).astype(np.float32)
        data = tiff_bytes(stored)
    else:
        stored = rng.integers(0, np.iinfo(dtype).max, (height, width), dtype=dtype, endpoint=True)
        data = png_bytes(stored)
    image = read_image(data)
    check_contract(image)
    if dtype is not np.float32:
        np.testing.assert_array_equal(image.pixels, (stored / np.iinfo(dtype).max).astype(np.float32))


def test_tiff_pages_beyond_the_count_limit_are_never_visited(monkeypatch):
    """Pillow's n_frames walks every page (superlinearly): a 40-page TIFF is refused after at most 9 pages."""
    import tifffile
    from PIL import TiffImagePlugin

    from xray_core.io.raster import MAX_PAGES_COUNTED

    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for _ in range(40):
            writer.write(gradient(), contiguous=False)
    visited: list[int] = []
    real_seek = TiffImagePlugin.TiffImageFile._seek

    def spying_seek(self, frame):
        visited.append(frame)
        return real_seek(self, frame)

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_seek", spying_seek)
    with pytest.raises(XrayInputError, match=f"^stack.tif: the TIFF holds more than {MAX_PAGES_COUNTED} frames"):
        read_image(buffer.getvalue(), name="stack.tif")
    assert max(visited) <= MAX_PAGES_COUNTED


def test_a_single_page_tiff_still_reads_after_the_page_probe():
    image = read_image(tiff_bytes(gradient(20, 30)), name="one.tif")
    np.testing.assert_array_equal(image.pixels, gradient(20, 30) / np.float32(255))
