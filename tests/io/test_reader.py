"""xray_core.io.reader: every supported format to float32 (H, W) in [0, 1], safe metadata, one exception type."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from _factories import (
    PATIENT_FIELDS,
    dicom_bytes,
    gradient,
    jpeg_bytes,
    pil_bytes,
    png_bytes,
    png_header_bytes,
    tiff_bytes,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom.uid import JPEG2000Lossless

from xray_core.io.reader import (
    SUPPORTED_EXTENSIONS,
    XrayImage,
    XrayInputError,
    is_supported_name,
    read_image,
    read_image_header,
)


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _check_contract(image: XrayImage) -> None:
    assert image.pixels.dtype == np.float32 and image.pixels.ndim == 2
    assert image.pixels.min() >= 0.0 and image.pixels.max() <= 1.0
    assert (image.meta["height"], image.meta["width"]) == image.pixels.shape == (image.height, image.width)
    json.dumps(image.meta)


# ---------------------------------------------------------------- rasters


def test_png16_keeps_full_precision(tmp_path):
    stored = gradient(64, 64, high=65535, dtype=np.uint16)
    image = read_image(_write(tmp_path, "film16.png", png_bytes(stored)))
    _check_contract(image)
    np.testing.assert_allclose(image.pixels, stored / 65535.0, atol=1e-6)
    assert len(np.unique(image.pixels)) > 256  # finer than 8 bits
    assert image.meta | {"stored_range": None} == {
        "name": "film16.png", "format": "PNG", "width": 64, "height": 64, "bit_depth": 16,
        "photometric": "I;16", "converted_from_color": False, "stored_range": None,
    }


def test_png8_exact(tmp_path):
    stored = gradient()
    image = read_image(_write(tmp_path, "film.png", png_bytes(stored)))
    _check_contract(image)
    np.testing.assert_allclose(image.pixels, stored / 255.0, atol=1e-7)
    assert (image.meta["bit_depth"], image.meta["photometric"], image.meta["format"]) == (8, "L", "PNG")
    np.testing.assert_array_equal(image.to_uint8(), stored)


def test_jpeg_close_to_source():
    stored = gradient(64, 64)
    image = read_image(jpeg_bytes(stored), name="film.jpg")
    _check_contract(image)
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
    _check_contract(image)
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
    assert read_image(dicom_bytes(np.full((16, 16), 900, np.uint16))).pixels.max() == 0.0
    np.testing.assert_allclose(read_image(png_bytes(np.full((16, 16), 51, np.uint8))).pixels, 0.2)


def test_rgb_png_becomes_luma_and_is_flagged():
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:8, :, 0] = 255  # red top half
    rgb[8:, :, 1] = 255  # green bottom half
    image = read_image(png_bytes(rgb), name="colour.png")
    _check_contract(image)
    assert image.meta["converted_from_color"] is True and image.meta["photometric"] == "RGB"
    np.testing.assert_allclose(image.pixels[0, 0], 0.299, atol=1e-6)
    np.testing.assert_allclose(image.pixels[-1, 0], 0.587, atol=1e-6)


@pytest.mark.parametrize("mode, colour", [("P", True), ("RGBA", True), ("LA", False), ("1", False)])
def test_other_png_modes(mode, colour):
    gray = gradient(16, 16)
    image = read_image(png_bytes(np.stack([gray] * 3, axis=-1), mode=mode), name=f"{mode}.png")
    _check_contract(image)
    assert image.meta["converted_from_color"] is colour and image.meta["photometric"] == mode
    if mode in ("RGBA", "LA"):  # alpha dropped, gray values kept
        np.testing.assert_allclose(image.pixels, gray / 255.0, atol=1 / 255)


@pytest.mark.parametrize("fmt", ["TIFF", "PNG"])
def test_multi_frame_rasters_refused(fmt):
    frames = [Image.fromarray(gradient()), Image.fromarray(255 - gradient())]
    data = pil_bytes(frames[0], fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(XrayInputError, match=f"stack: the {fmt} holds 2 frames; expected a single image"):
        read_image(data, name="stack")


# ---------------------------------------------------------------- DICOM


def test_dicom_monochrome2_meta_and_scaling():
    stored = gradient(32, 32, high=4095, dtype=np.uint16)
    image = read_image(dicom_bytes(stored, bits_stored=12), name="chest.dcm")
    _check_contract(image)
    np.testing.assert_allclose(image.pixels, stored / 4095.0, atol=1e-6)
    meta = image.meta
    assert (meta["format"], meta["photometric"], meta["bit_depth"]) == ("DICOM", "MONOCHROME2", 12)
    assert meta["modality"] == "CR"
    assert (meta["view_position"], meta["body_part"], meta["converted_from_color"]) == ("PA", "CHEST", False)


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


# ---------------------------------------------------------------- broken input


def test_empty_input_refused(tmp_path):
    with pytest.raises(XrayInputError, match="empty.png: the file is empty"):
        read_image(_write(tmp_path, "empty.png", b""))
    with pytest.raises(XrayInputError, match="<bytes>: the file is empty"):
        read_image(b"")


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("notes.png", b"just some text, not an image\n" * 10, "content is not a PNG, JPEG, TIFF or DICOM"),
        ("paper.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 400, "content is not a PNG"),
        ("noise.jpg", bytes(np.random.default_rng(0).integers(1, 255, 500, dtype=np.uint8)), "content is not"),
        ("junk.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, "cannot read the image"),
        ("junk.tif", b"II*\x00" + b"\xff" * 300, "cannot read the image"),
        ("scan.bmp", pil_bytes(Image.fromarray(gradient()), "BMP"), "unsupported file type '.bmp'; expected PNG"),
    ],
)
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_unreadable_content_refused(tmp_path, name, data, message):
    with pytest.raises(XrayInputError, match=f"{name}: .*{message}"):
        read_image(_write(tmp_path, name, data))


@pytest.mark.parametrize("name, data", [("cut.png", png_bytes(gradient(64, 64))),
                                        ("cut.jpg", jpeg_bytes(gradient(64, 64)))])
def test_truncated_images_refused_not_half_read(name, data):
    with pytest.raises(XrayInputError, match=f"{name}: cannot read the image.*truncated"):
        read_image(data[: len(data) * 2 // 3], name=name)


def test_missing_file_refused(tmp_path):
    with pytest.raises(XrayInputError, match="ghost.png: cannot open the file"):
        read_image(tmp_path / "ghost.png")


@pytest.mark.parametrize("shape", [(4, 4), (1, 100), (100, 7)])
def test_tiny_images_refused_with_minimum(shape):
    with pytest.raises(XrayInputError, match=r"tiny.png: .*expected at least 8 x 8"):
        read_image(png_bytes(np.zeros(shape, np.uint8)), name="tiny.png")


@pytest.mark.parametrize(
    "data, max_pixels",
    [
        (png_header_bytes(20_000, 20_000), 50_000_000),  # above our limit and Pillow's own error threshold
        (png_header_bytes(10_000, 10_000), 10**9),  # our limit raised: Pillow's bomb *warning* must still refuse
        (png_header_bytes(30_000, 30_000), 10**10),  # Pillow's DecompressionBombError
        (png_bytes(gradient(64, 64)), 1000),
        (dicom_bytes(gradient(16, 16), rows_columns=(20_000, 20_000)), 50_000_000),
    ],
)
def test_decompression_bombs_refused_from_header(data, max_pixels):
    start = time.perf_counter()
    with pytest.raises(XrayInputError, match="bomb.img: .*(megapixel|too large)"):
        read_image(data, name="bomb.img", max_pixels=max_pixels)
    assert time.perf_counter() - start < 2.0  # refused from the header, nothing decoded


def test_decoder_exceptions_are_wrapped(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("unexpected decoder state")

    monkeypatch.setattr("xray_core.io.reader.Image.open", broken)
    with pytest.raises(XrayInputError, match="x.png: cannot read the image.*KeyError.*unexpected decoder state"):
        read_image(png_bytes(gradient()), name="x.png")


def test_only_xray_input_error_escapes():
    assert issubclass(XrayInputError, ValueError)
    with pytest.raises(XrayInputError, match="cannot read a int; expected a path, bytes or a file"):
        read_image(42)  # type: ignore[arg-type]
    with pytest.raises(XrayInputError, match="binary file"):
        read_image(io.StringIO("text"))


# ---------------------------------------------------------------- sources, header, names


class _UploadedFile(io.BytesIO):
    """Like streamlit's UploadedFile: a BytesIO with a ``name``."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


@pytest.mark.parametrize("data", [png_bytes(gradient(16, 24, 65535, np.uint16)), dicom_bytes(gradient(16, 24))])
def test_path_bytes_and_file_objects_agree(tmp_path, data):
    path = _write(tmp_path, "same.dcm" if data[128:132] == b"DICM" else "same.png", data)
    upload = _UploadedFile(data, path.name)
    upload.read()  # an earlier read must not matter
    with open(path, "rb") as handle:
        images = [read_image(path), read_image(str(path)), read_image(data), read_image(bytearray(data)),
                  read_image(io.BytesIO(data)), read_image(upload), read_image(handle)]
    for image in images[1:]:
        np.testing.assert_array_equal(image.pixels, images[0].pixels)
    names = [image.meta["name"] for image in images]
    assert names == [path.name] * 2 + ["<bytes>"] * 2 + ["<stream>"] + [path.name] * 2
    assert read_image(data, name="given.png").meta["name"] == "given.png"


def test_read_image_header_does_not_decode(tmp_path):
    png = png_bytes(gradient(20, 30, 65535, np.uint16))
    assert read_image_header(_write(tmp_path, "h.png", png[: len(png) // 2])) == {
        "width": 30, "height": 20, "format": "PNG", "bit_depth": 16, "mode": "I;16"}
    dicom = dicom_bytes(gradient(16, 16), rows_columns=(3000, 2500), photometric="MONOCHROME1")
    assert read_image_header(_write(tmp_path, "h.dcm", dicom)) == {
        "width": 2500, "height": 3000, "format": "DICOM", "bit_depth": 8, "mode": "MONOCHROME1"}
    assert read_image_header(jpeg_bytes(gradient()))["format"] == "JPEG"
    assert read_image_header(tiff_bytes(np.zeros((9, 10), np.float32)))["bit_depth"] == 32
    with pytest.raises(XrayInputError, match="h.txt: unsupported file type"):
        read_image_header(_write(tmp_path, "h.txt", b"hello"))
    with pytest.raises(XrayInputError, match="gone.png: cannot open the file"):
        read_image_header(tmp_path / "gone.png")
    with pytest.raises(XrayInputError, match="h.png: the file is empty"):
        read_image_header(_write(tmp_path, "h.png", b""))


def test_supported_names():
    assert all(ext.startswith(".") and ext == ext.lower() for ext in SUPPORTED_EXTENSIONS)
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm"} <= set(SUPPORTED_EXTENSIONS)
    assert is_supported_name("CHEST.PNG") and is_supported_name("a/b/scan.dcm") and is_supported_name("x.Tiff")
    assert not any(map(is_supported_name, ["scan.bmp", "report.pdf", "README", "png"]))


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
    _check_contract(image)
    if dtype is not np.float32:
        np.testing.assert_array_equal(image.pixels, (stored / np.iinfo(dtype).max).astype(np.float32))
