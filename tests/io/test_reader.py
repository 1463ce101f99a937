"""xray_core.io.reader: dispatch by content, every kind of source, the header-only read, and broken input.

Format details live in test_raster.py, test_dicom.py and test_dicom_compressed.py; the pixel contract in test_image.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from _contract import write
from _factories import dicom_bytes, gradient, jpeg_bytes, pil_bytes, png_bytes, png_header_bytes, tiff_bytes
from PIL import Image

from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image, read_image_header
from xray_core.io.source import SUPPORTED_EXTENSIONS, is_supported_name

# ---------------------------------------------------------------- broken input


def test_empty_input_refused(tmp_path):
    with pytest.raises(XrayInputError, match="empty.png: the file is empty"):
        read_image(write(tmp_path, "empty.png", b""))
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
        read_image(write(tmp_path, name, data))


@pytest.mark.parametrize(
    "name, data", [("cut.png", png_bytes(gradient(64, 64))), ("cut.jpg", jpeg_bytes(gradient(64, 64)))]
)
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
def test_decompression_bombs_refused_from_header(data, max_pixels, decoded):
    with pytest.raises(XrayInputError, match="bomb.img: .*(megapixel|too large)"):
        read_image(data, name="bomb.img", max_pixels=max_pixels)
    assert decoded == []  # refused from the header: no pixel was decoded


def test_decoder_exceptions_are_wrapped(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("unexpected decoder state")

    monkeypatch.setattr("xray_core.io.raster.Image.open", broken)
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
    path = write(tmp_path, "same.dcm" if data[128:132] == b"DICM" else "same.png", data)
    upload = _UploadedFile(data, path.name)
    upload.read()  # an earlier read must not matter
    with open(path, "rb") as handle:
        images = [
            read_image(path),
            read_image(str(path)),
            read_image(data),
            read_image(bytearray(data)),
            read_image(io.BytesIO(data)),
            read_image(upload),
            read_image(handle),
        ]
    for image in images[1:]:
        np.testing.assert_array_equal(image.pixels, images[0].pixels)
    names = [image.meta["name"] for image in images]
    assert names == [path.name] * 2 + ["<bytes>"] * 2 + ["<stream>"] + [path.name] * 2
    assert read_image(data, name="given.png").meta["name"] == "given.png"


def test_read_image_header_does_not_decode(tmp_path):
    png = png_bytes(gradient(20, 30, 65535, np.uint16))
    assert read_image_header(write(tmp_path, "h.png", png[: len(png) // 2])) == {
        "width": 30,
        "height": 20,
        "format": "PNG",
        "bit_depth": 16,
        "mode": "I;16",
    }
    dicom = dicom_bytes(gradient(16, 16), rows_columns=(3000, 2500), photometric="MONOCHROME1")
    assert read_image_header(write(tmp_path, "h.dcm", dicom)) == {
        "width": 2500,
        "height": 3000,
        "format": "DICOM",
        "bit_depth": 8,
        "mode": "MONOCHROME1",
    }
    assert read_image_header(jpeg_bytes(gradient()))["format"] == "JPEG"
    assert read_image_header(tiff_bytes(np.zeros((9, 10), np.float32)))["bit_depth"] == 32
    with pytest.raises(XrayInputError, match="h.txt: unsupported file type"):
        read_image_header(write(tmp_path, "h.txt", b"hello"))
    with pytest.raises(XrayInputError, match="gone.png: cannot open the file"):
        read_image_header(tmp_path / "gone.png")
    with pytest.raises(XrayInputError, match="h.png: the file is empty"):
        read_image_header(write(tmp_path, "h.png", b""))


def test_supported_names():
    assert all(ext.startswith(".") and ext == ext.lower() for ext in SUPPORTED_EXTENSIONS)
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm"} <= set(SUPPORTED_EXTENSIONS)
    assert is_supported_name("CHEST.PNG") and is_supported_name("a/b/scan.dcm") and is_supported_name("x.Tiff")
    assert not any(map(is_supported_name, ["scan.bmp", "report.pdf", "README", "png"]))
