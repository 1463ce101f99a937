"""xray_core.io.image: XrayImage normalises its pixels once, where it is built.

The same film must give the same pixels whatever its dtype or file format, so that image-level checks and the
model see one scale (before, a uint8 film reached them as 0..255).
"""

from __future__ import annotations

import numpy as np
import pytest
from _compressed import compress
from _contract import check_contract
from _factories import dicom_bytes, png_bytes, tiff_bytes
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, RLELossless

from xray_core.io.image import MIN_SIDE, XrayImage, XrayInputError, check_size, normalise_pixels
from xray_core.io.reader import read_image


def _film() -> np.ndarray:
    """An 8-bit synthetic chest-like film using the full range (0 and 255 present), 96 x 80."""
    rows, columns = np.mgrid[0:96, 0:80]
    lungs = np.exp(-(((columns - 24) / 12.0) ** 2 + ((rows - 48) / 28.0) ** 2)) + np.exp(
        -(((columns - 56) / 12.0) ** 2 + ((rows - 48) / 28.0) ** 2)
    )
    film = 200 - 150 * lungs + np.random.default_rng(0).normal(0, 6, rows.shape)
    film = film.clip(0, 255).round().astype(np.uint8)
    film[0, 0], film[-1, -1] = 0, 255
    return film


FILM = _film()


def test_uint8_uint16_and_float_films_give_identical_pixels():
    expected = (FILM / 255.0).astype(np.float32)
    for pixels in (FILM, FILM.astype(np.uint16) * 257, FILM / 255.0, expected, np.asfortranarray(FILM / 255.0)):
        image = XrayImage(pixels)
        assert image.pixels.dtype == np.float32 and image.pixels.flags.c_contiguous
        np.testing.assert_array_equal(image.pixels, expected)


def test_same_film_in_every_format_reads_within_one_grey_level():
    sixteen = FILM.astype(np.uint16) * 257
    files = {
        "8-bit PNG": png_bytes(FILM),
        "16-bit PNG": png_bytes(sixteen),
        "float32 TIFF": tiff_bytes(FILM.astype(np.float32) / 255),
        "8-bit DICOM": dicom_bytes(FILM),
        "16-bit DICOM": dicom_bytes(sixteen),
        "MONOCHROME1 DICOM": dicom_bytes(255 - FILM, photometric="MONOCHROME1"),
        "RLE DICOM": compress(dicom_bytes(sixteen), RLELossless),
        "JPEG 2000 DICOM": compress(dicom_bytes(FILM), JPEG2000Lossless, "pylibjpeg"),
        "JPEG lossless DICOM": compress(dicom_bytes(sixteen), JPEGLosslessSV1),
    }
    reference = XrayImage(FILM).pixels
    for kind, data in files.items():
        image = read_image(data, name=kind)
        check_contract(image)
        assert np.abs(image.pixels - reference).max() <= 1 / 255, kind


def test_uint16_uses_the_declared_bit_depth():
    stored = np.array([[0, 2048, 4095, 5000]] * 8, np.uint16)  # 12-bit film; 5000 is out of range
    np.testing.assert_allclose(XrayImage(stored, {"bit_depth": 12}).pixels[0], [0, 2048 / 4095, 1, 1], atol=1e-7)
    np.testing.assert_allclose(XrayImage(stored).pixels[0], stored[0] / 65535, atol=1e-7)
    for ignored in ("12", 0, 17, True, None):  # not an int in 1..16: the container's range
        np.testing.assert_array_equal(XrayImage(stored, {"bit_depth": ignored}).pixels, XrayImage(stored).pixels)
    np.testing.assert_array_equal(XrayImage(FILM, {"bit_depth": 1}).pixels, XrayImage(FILM).pixels)  # uint8: 255


def test_bool_and_out_of_range_float():
    mask = np.eye(8, dtype=bool)
    np.testing.assert_array_equal(XrayImage(mask).pixels, mask.astype(np.float32))
    clipped = XrayImage(np.array([[-0.5, 0.25, 1.0, 7.0]] * 8)).pixels[0]
    np.testing.assert_array_equal(clipped, np.array([0.0, 0.25, 1.0, 1.0], np.float32))
    half = XrayImage(np.full((8, 8), 0.5, np.float16)).pixels
    assert half.dtype == np.float32 and half.max() == 0.5


def test_pixels_already_right_are_not_copied():
    pixels = np.random.default_rng(0).random((16, 16), dtype=np.float32)
    assert XrayImage(pixels).pixels is pixels
    assert normalise_pixels(pixels) is pixels


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_not_replaced(bad):
    pixels = np.full((8, 8), 0.5)
    pixels[2, 3] = bad
    with pytest.raises(XrayInputError, match="scan.png: the image contains NaN or infinite values"):
        XrayImage(pixels, {"name": "scan.png"})


@pytest.mark.parametrize(
    "pixels, message",
    [
        (np.zeros((8, 8, 3), np.uint8), r"shape \(8, 8, 3\).*convert colour to grayscale"),
        (np.zeros((2, 8, 8), np.float32), r"shape \(2, 8, 8\)"),
        (np.zeros(64, np.float32), r"shape \(64,\)"),
        (np.zeros((0, 8), np.float32), r"shape \(0, 8\)"),
        (np.zeros((8, 8), np.int16), "type int16.*scale it to"),
        (np.zeros((8, 8), np.uint32), "type uint32"),
        (np.zeros((8, 8), object), "type object"),
        (np.zeros((8, 8), np.complex64), "type complex64"),
    ],
)
def test_arrays_that_are_not_one_grayscale_image_are_refused(pixels, message):
    with pytest.raises(XrayInputError, match=f"image: pixel array of {message}"):
        XrayImage(pixels)


def test_to_uint8_round_trips_8_bit():
    np.testing.assert_array_equal(XrayImage(FILM).to_uint8(), FILM)


def test_size_limits():
    check_size("ok.png", MIN_SIDE, MIN_SIDE, 10**6)
    with pytest.raises(XrayInputError, match="small.png: the image is 7 x 8 pixels; expected at least 8 x 8"):
        check_size("small.png", MIN_SIDE - 1, MIN_SIDE, 10**6)
    with pytest.raises(XrayInputError, match="big.png: .*above the 0.01-megapixel limit"):
        check_size("big.png", 200, 200, 10_000)
