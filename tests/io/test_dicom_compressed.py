"""Compressed DICOM: hospital exports in RLE, JPEG lossless, JPEG-LS, JPEG 2000 and 12-bit JPEG read.

Generated files (in memory or ``tmp_path``) must decode to exactly the pixels of the uncompressed original;
pydicom's bundled test files (never downloaded) must read when grayscale single-frame, and otherwise end in a clear
XrayInputError: 0 crashes.
"""

from __future__ import annotations

import collections
import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from _compressed import compress, jpeg_lossless
from _contract import check_contract, write
from _factories import dicom_bytes
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000, JPEG2000Lossless, JPEGLosslessSV1, RLELossless

from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image, read_image_header

BUNDLED = Path(pydicom.__file__).parent / "data" / "test_files"  # shipped inside the wheel: no download
LOSSLESS = [
    (RLELossless, "pydicom"),
    (RLELossless, "pylibjpeg"),
    (JPEG2000Lossless, "pylibjpeg"),
    (JPEGLosslessSV1, ""),
]


def _film(bits: int, shape: tuple[int, int] = (70, 45)) -> np.ndarray:
    """A ramp with noise and a bright band, using the full stored range (both 0 and 2**bits - 1 present)."""
    rng = np.random.default_rng(bits)
    high = 2**bits - 1
    ramp = np.linspace(0, high, shape[0] * shape[1]).reshape(shape) + rng.normal(0, high / 40, shape)
    ramp[shape[0] // 3 : shape[0] // 2] = high * 0.9
    film = ramp.clip(0, high).round().astype(np.uint8 if bits <= 8 else np.uint16)
    film[0, 0], film[-1, -1] = 0, high
    return film


def _bundled(name: str) -> str:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not bundled with this pydicom; the pinned pydicom 3.0.2 ships it"
    return path


@pytest.mark.parametrize("bits", [8, 12, 16])
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize(
    "syntax, plugin", LOSSLESS, ids=["rle-pydicom", "rle-pylibjpeg", "j2k-lossless", "jpeg-lossless-sv1"]
)
def test_lossless_compression_reads_the_uncompressed_pixels(tmp_path, syntax, plugin, photometric, bits):
    original = dicom_bytes(_film(bits), photometric=photometric, bits_stored=bits)
    path = write(tmp_path, "chest.dcm", compress(original, syntax, plugin))
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == syntax
    image, reference = read_image(path), read_image(original, name="chest.dcm")
    check_contract(image)
    np.testing.assert_array_equal(image.pixels, reference.pixels)
    assert image.meta == reference.meta | {"transfer_syntax": syntax.name}
    assert image.meta["photometric"] == photometric and image.meta["bit_depth"] == bits
    assert read_image_header(path) == read_image_header(original, name="chest.dcm")


def test_lossy_jpeg2000_reads_close_to_the_original():
    original = dicom_bytes(_film(12), bits_stored=12)
    image = read_image(compress(original, JPEG2000, "pylibjpeg", j2k_psnr=[60]))
    check_contract(image)
    assert np.abs(image.pixels - read_image(original).pixels).max() < 0.02
    assert image.meta["transfer_syntax"] == JPEG2000.name


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"])
def test_bundled_lossless_files_equal_their_uncompressed_original(name):
    image = read_image(_bundled(name), chest_only=False)  # MR: a decoding test, not a chest film
    reference = read_image(_bundled("MR_small.dcm"), chest_only=False)
    check_contract(image)
    np.testing.assert_array_equal(image.pixels, reference.pixels)
    assert image.meta["stored_range"] == reference.meta["stored_range"] == [127.0, 2145.0]


@pytest.mark.parametrize(
    "name, syntax, bit_depth",
    [
        ("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS Lossless", 16),
        ("JPEGLSNearLossless_08.dcm", "JPEG-LS Lossy (Near-Lossless)", 8),
        ("JPEGLSNearLossless_16.dcm", "JPEG-LS Lossy (Near-Lossless)", 16),
        ("JPGExtended.dcm", "JPEG Extended", 12),  # 12-bit JPEG
        ("JPEG2000.dcm", "JPEG 2000", 16),
        ("693_J2KI.dcm", "JPEG 2000", 14),
        ("J2K_pixelrep_mismatch.dcm", "JPEG 2000", 13),
        ("MR_small_RLE.dcm", "RLE Lossless", 16),
    ],
)
def test_bundled_grayscale_compressed_files_read(name, syntax, bit_depth):
    image = read_image(_bundled(name), chest_only=False)  # MR and CT files: decoding, not the header's scope
    check_contract(image)
    assert image.meta["transfer_syntax"].startswith(syntax) and image.meta["bit_depth"] == bit_depth
    assert image.pixels.std() > 0.05  # real content, not a blank decode


@pytest.mark.parametrize(
    "name, message",
    [
        ("SC_rgb_jpeg_gdcm.dcm", r"colour DICOM \(RGB\)"),  # JPEG lossless, colour
        ("examples_jpeg2k.dcm", r"colour DICOM \(YBR_RCT\)"),
        ("SC_rgb_rle_2frame.dcm", r"multi-frame DICOM \(2 frames\)"),
        ("rtdose_rle.dcm", r"multi-frame DICOM \(15 frames\)"),
        ("JPEG-lossy.dcm", r"cannot decode compressed DICOM pixel data \(JPEG Extended"),  # non-conformant stream
        ("JPEG2000-embedded-sequence-delimiter.dcm", "the compressed image is .* but the DICOM header says 256 x 1024"),
    ],
)
def test_bundled_compressed_files_we_cannot_use_are_refused_clearly(name, message):
    with pytest.raises(XrayInputError, match=f"^{name}: {message}.*expected"):
        read_image(_bundled(name), chest_only=False)


def test_every_bundled_pydicom_file_reads_or_is_refused_clearly(record_property):
    outcomes: collections.Counter[str] = collections.Counter()
    for path in sorted(p for p in BUNDLED.rglob("*") if p.is_file()):
        try:
            image = read_image(path, chest_only=False)  # the decoders; the header's scope: test_dicom_scope
        except XrayInputError as error:
            assert str(error).startswith(f"{path.name}:") and "expected" in str(error), str(error)
            outcomes["refused"] += 1
        else:  # any other exception fails the test: a crash
            check_contract(image)
            outcomes["read"] += 1
    record_property("bundled_pydicom_files", dict(outcomes))
    print(f"pydicom bundled test files: {outcomes['read']} read, {outcomes['refused']} refused clearly, 0 crashes")
    assert outcomes["read"] >= 53 and outcomes["refused"] >= 100  # pydicom 3.0.2: 53 read, 123 refused (176 files)


def test_codestream_larger_than_the_header_is_refused_before_decoding(decoded):
    """A 16 x 16 header over a codestream that claims 60000 x 60000: never handed to the decoder."""
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(_film(12, (16, 16)), bits_stored=12)))
    codestream = bytearray(jpeg_lossless(ds.pixel_array, 12))
    size_at = codestream.index(b"\xff\xc3") + 5  # SOF3: marker, length, precision, then rows and columns
    codestream[size_at : size_at + 4] = (60000).to_bytes(2, "big") * 2
    ds.PixelData, ds.file_meta.TransferSyntaxUID = encapsulate([bytes(codestream)]), JPEGLosslessSV1
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    decoded.clear()  # building the file decoded its source pixels
    with pytest.raises(
        XrayInputError,
        match="bomb.dcm: the compressed image is 60000 x 60000 pixels but the DICOM "
        "header says 16 x 16; expected a consistent DICOM",
    ):
        read_image(buffer.getvalue(), name="bomb.dcm")
    assert decoded == []


def test_jpeg2000_size_mismatch_refused():
    ds = pydicom.dcmread(io.BytesIO(compress(dicom_bytes(_film(8)), JPEG2000Lossless, "pylibjpeg")))
    ds.Rows = 40
    buffer = io.BytesIO()
    ds.save_as(buffer)
    with pytest.raises(XrayInputError, match=r"odd.dcm: the compressed image is 45 x 70 pixels .* says 45 x 40"):
        read_image(buffer.getvalue(), name="odd.dcm")


def test_missing_decoder_says_what_to_install(monkeypatch):
    class _Unavailable:
        is_available = False

    monkeypatch.setattr("xray_core.io.dicom.get_decoder", lambda syntax: _Unavailable())
    data = compress(dicom_bytes(_film(8)), RLELossless, "pydicom")
    with pytest.raises(
        XrayInputError,
        match="x.dcm: no decoder is installed for RLE Lossless .*pip install -r "
        "requirements.txt.*expected an uncompressed DICOM",
    ):
        read_image(data, name="x.dcm")


def test_unknown_transfer_syntax_refused():
    data = compress(dicom_bytes(_film(8)), RLELossless, "pydicom")
    assert data.count(RLELossless.encode()) == 1  # the file meta's TransferSyntaxUID, same length below
    data = data.replace(RLELossless.encode(), b"1.2.840.10008.1.2.9")  # no such transfer syntax
    with pytest.raises(
        XrayInputError,
        match=r"x.dcm: DICOM pixel data in transfer syntax 1.2.840.10008.1.2.9 cannot "
        r"be decoded; expected uncompressed, RLE",
    ):
        read_image(data, name="x.dcm")


def test_codestream_size_parsing_tolerates_fill_bytes_and_junk():
    from xray_core.io.dicom import _codestream_size

    codestream = jpeg_lossless(np.zeros((20, 30), np.uint16), 12)
    assert _codestream_size(codestream, j2k=False) == (20, 30)
    assert _codestream_size(codestream[:2] + b"\xff\xff" + codestream[2:], j2k=False) == (20, 30)
    assert _codestream_size(b"not a codestream", j2k=False) is None
    assert _codestream_size(b"\xff\x4f\xff\x51\x00", j2k=True) is None  # SIZ cut short
