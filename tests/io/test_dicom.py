"""xray_core.io.dicom, uncompressed: LUTs, photometry, safe metadata, refusals (compressed: test_dicom_compressed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _contract import check_contract
from _factories import PATIENT_FIELDS, dicom_bytes, gradient
from pydicom.uid import JPEG2000Lossless

from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image, read_image_header


def test_dicom_monochrome2_meta_and_scaling():
    stored = gradient(32, 32, high=4095, dtype=np.uint16)
    image = read_image(dicom_bytes(stored, bits_stored=12), name="chest.dcm")
    check_contract(image)
    np.testing.assert_allclose(image.pixels, stored / 4095.0, atol=1e-6)
    meta = image.meta
    assert (meta["format"], meta["photometric"], meta["bit_depth"]) == ("DICOM", "MONOCHROME2", 12)
    assert meta["modality"] == "CR"
    assert (meta["view_position"], meta["body_part"], meta["converted_from_color"]) == ("PA", "CHEST", False)


def test_constant_dicom_does_not_crash():
    assert read_image(dicom_bytes(np.full((16, 16), 900, np.uint16))).pixels.max() == 0.0


def test_dicom_meta_holds_no_patient_data():
    data = dicom_bytes(gradient(16, 16), window=(128, 64), slope=2, intercept=-10)
    text = json.dumps(read_image(data, name="chest.dcm").meta)
    for value in PATIENT_FIELDS.values():
        assert value not in text and value.split("^")[0] not in text
    assert "1.2." not in text  # no UIDs either (generated ones start with pydicom's root 1.2.826...)


def test_dicom_monochrome1_inverted():
    stored = gradient(16, 16, high=1000, dtype=np.uint16)
    image = read_image(dicom_bytes(stored, photometric="MONOCHROME1"))
    assert image.meta["photometric"] == "MONOCHROME1"
    assert image.pixels[stored == stored.max()].max() == 0.0  # brightest stored value is air: black
    assert image.pixels[stored == 0].min() == 1.0
    np.testing.assert_allclose(image.pixels, 1.0 - stored / 1000.0, atol=1e-6)


def test_dicom_window_clips_outside_values():
    stored = gradient(64, 64, high=4095, dtype=np.uint16)
    image = read_image(dicom_bytes(stored, window=(2048, 1024)))
    assert np.all(image.pixels[stored < 1536] == 0.0)
    assert np.all(image.pixels[stored > 2560] == 1.0)
    inside = image.pixels[(stored > 1600) & (stored < 2500)]
    assert inside.min() > 0.0 and inside.max() < 1.0 and np.all(np.diff(inside) >= 0)


def test_dicom_rescale_applied_before_window():
    stored = gradient(64, 64, high=4095, dtype=np.uint16)  # HU = stored - 1024
    image = read_image(dicom_bytes(stored, window=(40, 400), intercept=-1024))  # soft tissue: -160..240 HU
    assert np.all(image.pixels[stored < 1024 - 160] == 0.0)  # e.g. stored 500 = -524 HU is below the window
    assert np.all(image.pixels[stored > 1024 + 240] == 1.0)
    assert image.meta["rescale_intercept"] == -1024.0 and image.meta["window_center"] == 40.0


def test_dicom_without_window_uses_rescaled_min_max():
    stored = gradient(16, 16, high=100, dtype=np.uint16)
    image = read_image(dicom_bytes(stored, slope=-1, intercept=0))  # a negative slope reverses the ramp
    np.testing.assert_allclose(image.pixels, 1.0 - stored / 100.0, atol=1e-6)


def test_preamble_less_dicom_needs_dicom_extension():
    data = dicom_bytes(gradient(16, 16), preamble=False)
    assert read_image(data, name="bare.dcm").meta["format"] == "DICOM"
    assert read_image_header(data, name="bare.DICOM")["format"] == "DICOM"
    with pytest.raises(XrayInputError, match="bare.bin: unsupported file type '.bin'"):
        read_image(data, name="bare.bin")


def test_dicom_detected_by_content_whatever_the_name():
    data = dicom_bytes(gradient(16, 16))
    assert read_image(data, name="1.2.840.113619.2.55.3").meta["format"] == "DICOM"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"frames": 3}, r"multi-frame DICOM \(3 frames\)"),
        ({"samples": 3}, r"colour DICOM \(RGB\)"),
        ({"photometric": "YBR_FULL", "samples": 3}, r"colour DICOM \(YBR_FULL\)"),
        ({"photometric": "PALETTE COLOR"}, "colour DICOM"),
        ({"with_pixels": False}, "no pixel data"),
        ({"transfer_syntax": JPEG2000Lossless}, r"cannot decode compressed DICOM pixel data \(JPEG 2000"),
        ({"rows_columns": (4, 4)}, "the image is 4 x 4 pixels; expected at least 8 x 8"),
    ],
)
def test_dicom_refusals(kwargs, message):
    with pytest.raises(XrayInputError, match="scan.dcm: " + message):
        read_image(dicom_bytes(gradient(16, 16), **kwargs), name="scan.dcm")


def test_truncated_dicom_pixel_data_refused():
    data = dicom_bytes(gradient(32, 32, dtype=np.uint16))
    with pytest.raises(XrayInputError, match="cut.dcm: cannot read"):
        read_image(data[:-100], name="cut.dcm")
