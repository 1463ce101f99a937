"""The inputs the reliability report and the hostile-input tests throw at the reader, the model and Grad-CAM.

Every case is a file as a user would upload it: a name (its extension matters) and bytes. Families:

* ``natural photos``: the photographs bundled with scikit-image, scikit-learn and matplotlib, made grayscale.
* ``other non-radiographs``: microscopy, a fundus photo, a CT phantom, logos and synthetic figures.
* ``generated``: noise, constant and gradient images.
* ``hostile files``: corrupt, truncated, bit-flipped, renamed, degenerate and oversized files (>= 200).

Everything is generated in memory from fixed seeds: nothing is downloaded, nothing is written to disk.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid

PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "clock", "moon", "rocket", "hubble_deep_field",
          "brick", "grass", "gravel", "page", "text")
FIGURES = ("cell", "immunohistochemistry", "retina", "microaneurysms", "checkerboard", "binary_blobs", "horse",
           "shepp_logan_phantom", "logo", "colorwheel")


@dataclass(frozen=True)
class Case:
    """One input file: ``expect`` is 'valid' (must decode), 'error' (must raise XrayInputError) or 'any'."""

    family: str
    name: str
    data: bytes
    expect: str = "any"


# ---------------------------------------------------------------------------------------------- encoders


def encode(array: np.ndarray, fmt: str, mode: str | None = None, **save_args: Any) -> bytes:
    """PNG/JPEG/TIFF/BMP/GIF/WEBP/PDF bytes of an array through Pillow (``mode`` converts first)."""
    image = Image.fromarray(array)
    buffer = io.BytesIO()
    (image.convert(mode) if mode else image).save(buffer, fmt, **save_args)
    return buffer.getvalue()


def tiff(array: np.ndarray, pages: int = 1) -> bytes:
    """TIFF via tifffile (any dtype, several pages)."""
    import tifffile

    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for _ in range(pages):
            writer.write(array, contiguous=False)
    return buffer.getvalue()


def dicom(array: np.ndarray, photometric: str = "MONOCHROME2", frames: int = 1, samples: int = 1,
          pixels: bool = True, preamble: bool = True, compressed: bool = False,
          rows_columns: tuple[int, int] | None = None) -> bytes:
    """A chest CR DICOM of a uint8/uint16 (H, W) array; the options make the odd and broken variants."""
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Doe^Jane", "PID-0042", "19600101"
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", "PA", "CHEST"
    ds.Rows, ds.Columns = rows_columns or array.shape[:2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, "RGB" if samples > 1 else photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
        array = np.repeat(array[..., None], samples, axis=-1)
    ds.BitsAllocated = ds.BitsStored = array.dtype.itemsize * 8
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if pixels:
        raw = np.ascontiguousarray(array).tobytes() * frames
        ds.PixelData = encapsulate([raw]) if compressed else raw
    buffer = io.BytesIO()
    if not preamble:
        pydicom.dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
        return buffer.getvalue()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit if compressed else ExplicitVRLittleEndian
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def png_header(width: int, height: int, payload: bytes = b"") -> bytes:
    """A PNG claiming ``width`` x ``height`` (8-bit gray) with ``payload`` as its compressed IDAT data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", payload) + chunk(b"IEND", b"")


def _deflate_bomb(side: int) -> bytes:
    """A real PNG of ``side`` x ``side`` black pixels: a few kB that would inflate to side**2 bytes."""
    compressor, row = zlib.compressobj(9), b"\x00" * (side + 1)
    payload = b"".join(compressor.compress(row * 256) for _ in range(side // 256)) + compressor.flush()
    return png_header(side, side, payload)


def _patch(data: bytes, marker: bytes, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written ``offset`` bytes after the first ``marker``."""
    at = data.index(marker) + offset
    return data[:at] + value + data[at + len(value):]


# ---------------------------------------------------------------------------------------------- images


def film(height: int = 96, width: int = 80, seed: int = 0) -> np.ndarray:
    """A chest-film-like uint8 image: dark lungs either side of a bright mediastinum, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    values = 0.3 + 0.45 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.2 * y + rng.normal(0, 0.04, (height, width))
    return np.clip(values * 255, 0, 255).astype(np.uint8)


def _gray_uint8(array: Any) -> np.ndarray:
    """uint8 (H, W) luma of a sample: uint8 as is, bool and [0, 1] floats scaled by 255, colour via BT.601."""
    array = np.asarray(array)
    scale = 255.0 if array.dtype == bool or (array.dtype.kind == "f" and float(array.max()) <= 1.0) else 1.0
    values = array.astype(np.float64) * scale
    if values.ndim == 3:
        values = values[..., :3] @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _bundled(loaders: dict[str, Callable[[], Any]], family: str) -> list[Case]:
    """Grayscale PNGs of whichever bundled sample images load offline (missing ones are skipped)."""
    cases = []
    for name, load in loaders.items():
        try:
            array = _gray_uint8(load())
        except Exception:  # a sample that needs a download (pooch) or a newer package: skip it
            continue
        cases.append(Case(family, f"{name}.png", encode(array, "PNG"), "valid"))
    return cases


def photo_cases() -> list[Case]:
    """Natural photographs shipped inside installed packages, made grayscale."""
    import matplotlib
    import skimage.data as samples
    from sklearn.datasets import load_sample_image

    loaders: dict[str, Callable[[], Any]] = {name: getattr(samples, name) for name in PHOTOS}
    loaders["motorcycle"] = lambda: samples.stereo_motorcycle()[0]
    loaders["china"] = lambda: load_sample_image("china.jpg")
    loaders["flower"] = lambda: load_sample_image("flower.jpg")
    hopper = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    loaders["grace_hopper"] = lambda: np.asarray(Image.open(hopper))
    return _bundled(loaders, "natural photos")


def figure_cases() -> list[Case]:
    """Non-photographic non-radiographs bundled with scikit-image: microscopy, fundus, phantom, figures."""
    import skimage.data as samples

    return _bundled({name: getattr(samples, name) for name in FIGURES}, "other non-radiographs")


def generated_cases(seed: int = 0, side: int = 256) -> list[Case]:
    """Noise (uniform, Gaussian, salt-and-pepper, smooth), constant and gradient images, 8-bit PNG."""
    import cv2

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, side)
    y, x = np.mgrid[-1:1:side * 1j, -1:1:side * 1j]
    images = {
        "noise_uniform": rng.random((side, side)), "noise_gaussian": np.clip(rng.normal(0.5, 0.15, (side, side)), 0, 1),
        "noise_salt_pepper": (rng.random((side, side)) < 0.5).astype(float),
        "noise_smooth": cv2.GaussianBlur(rng.random((side, side)).astype(np.float32), (0, 0), 8),
        "constant_black": np.zeros((side, side)), "constant_gray": np.full((side, side), 0.5),
        "constant_white": np.ones((side, side)),
        "gradient_horizontal": np.tile(ramp, (side, 1)), "gradient_vertical": np.tile(ramp, (side, 1)).T,
        "gradient_diagonal": (x + y + 2) / 4, "gradient_radial": np.clip(np.hypot(x, y) / np.sqrt(2), 0, 1),
    }
    cases = []
    for name, values in images.items():
        values = np.asarray(values, dtype=np.float64)
        if name == "noise_smooth":
            values = (values - values.min()) / (np.ptp(values) or 1)
        cases.append(Case("generated", f"{name}.png", encode(np.round(values * 255).astype(np.uint8), "PNG"), "valid"))
    return cases


# ---------------------------------------------------------------------------------------------- hostile files


def tiff_header(width: int, height: int) -> bytes:
    """A little-endian 8-bit grayscale TIFF claiming ``width`` x ``height`` with a 16-byte strip."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8 + 2 + 8 * 12 + 4),
               (278, 4, height), (279, 4, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", tag, kind, 1, value)
                                                     for tag, kind, value in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + bytes(16)


def valid_files(seed: int = 0) -> dict[str, bytes]:
    """One valid file per format variant (name -> bytes): the seeds of the truncated and bit-flipped cases."""
    base = film(96, 80, seed)
    deep = base.astype(np.uint16) * 257
    rgb = np.stack([base, np.roll(base, 3, axis=1), base[::-1]], axis=-1)
    return {
        "gray8.png": encode(base, "PNG"), "gray16.png": encode(deep, "PNG"), "rgb.png": encode(rgb, "PNG"),
        "palette.png": encode(rgb, "PNG", mode="P"), "gray_alpha.png": encode(base, "PNG", mode="LA"),
        "gray.jpg": encode(base, "JPEG", quality=90), "rgb.jpg": encode(rgb, "JPEG"),
        "progressive.jpg": encode(base, "JPEG", progressive=True), "cmyk.jpg": encode(rgb, "JPEG", mode="CMYK"),
        "gray8.tif": tiff(base), "gray16.tif": tiff(deep), "float32.tif": tiff(base.astype(np.float32) / 255),
        "rgb.tif": encode(rgb, "TIFF"), "mono2_16bit.dcm": dicom(deep), "mono1_8bit.dcm": dicom(base, "MONOCHROME1"),
        "bare.dcm": dicom(base, preamble=False),
    }


def _damaged(files: dict[str, bytes], seed: int) -> list[Case]:
    """Each valid file truncated at 5 points and with 1 to 100 random bit flips (5 variants)."""
    cases = []
    for index, (name, data) in enumerate(files.items()):
        stem, extension = os.path.splitext(name)
        for cut in (8, len(data) // 4, len(data) // 2, 3 * len(data) // 4, len(data) - 1):
            cases.append(Case("hostile files", f"{stem}_cut{cut}{extension}", data[:cut]))
        rng = np.random.default_rng(seed * 1000 + index)
        for flips in (1, 3, 10, 30, 100):
            mutated = bytearray(data)
            for position in rng.integers(0, len(data), flips):
                mutated[position] ^= 1 << int(rng.integers(0, 8))
            cases.append(Case("hostile files", f"{stem}_flip{flips}{extension}", bytes(mutated)))
    return cases


def _oddities(seed: int) -> dict[str, tuple[bytes, str]]:
    """Degenerate sizes, depths, colour, frames, DICOM variants and bombs: name -> (bytes, expect)."""
    base, rng = film(96, 80, seed), np.random.default_rng(seed)
    rgb = np.stack([base] * 3, axis=-1)
    apng = io.BytesIO()
    Image.fromarray(base).save(apng, "PNG", save_all=True, append_images=[Image.fromarray(base[::-1])])
    nan = base.astype(np.float32)
    nan[5, 5] = np.nan
    return {
        "1x1.png": (encode(np.zeros((1, 1), np.uint8), "PNG"), "error"),
        "7x7.png": (encode(base[:7, :7], "PNG"), "error"),
        "20000x1.png": (encode(np.zeros((1, 20000), np.uint8), "PNG"), "error"),
        "8x8.png": (encode(base[:8, :8], "PNG"), "valid"),
        "20000x20.png": (encode(np.tile(base[:20, :80], (1, 250)), "PNG"), "valid"),
        "20x20000.png": (encode(np.tile(base[:80, :20], (250, 1)), "PNG"), "valid"),
        "float64.tif": (tiff(base / 255.0), "any"), "int32.tif": (tiff(base.astype(np.int32) * 1000), "valid"),
        "rgba.png": (encode(rgb, "PNG", mode="RGBA"), "valid"), "bilevel.png": (encode(base, "PNG", mode="1"), "valid"),
        "noise_rgb.jpg": (encode(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "JPEG"), "valid"),
        "black_2048.png": (encode(np.zeros((2048, 2048), np.uint8), "PNG"), "valid"),
        "nan.tif": (tiff(nan), "error"), "inf.tif": (tiff(np.where(nan != nan, np.inf, nan)), "error"),
        "pages3.tif": (tiff(base, pages=3), "error"), "animated.png": (apng.getvalue(), "error"),
        "frames3.dcm": (dicom(base, frames=3), "error"), "no_pixels.dcm": (dicom(base, pixels=False), "error"),
        "rgb.dcm": (dicom(base, samples=3), "error"), "jpeg_syntax.dcm": (dicom(base, compressed=True), "error"),
        "short_pixels.dcm": (dicom(base, rows_columns=(400, 400)), "error"),
        "huge.dcm": (dicom(base, rows_columns=(30000, 30000)), "error"),
        "bomb_100k.png": (png_header(100_000, 100_000), "error"), "bomb_20k.png": (png_header(20_000, 20_000), "error"),
        "deflate_bomb.png": (_deflate_bomb(8192), "error"), "bomb.tif": (tiff_header(100_000, 100_000), "error"),
        "bomb.jpg": (_patch(encode(base, "JPEG"), b"\xff\xc0", 5, struct.pack(">HH", 65000, 65000)), "error"),
    }


def _impostors(seed: int) -> dict[str, bytes]:
    """Files that are not images of an accepted kind, under image names (all must be refused)."""
    import zipfile

    base = film(96, 80, seed)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("chest.png", encode(base, "PNG"))
    text = b"Patient: Doe, Jane\nThis is a radiology report, not an image.\n"
    impostors = {"report.png": text, "report.jpg": text, "report.tif": text, "report.dcm": text,
                 "scan.pdf.png": encode(np.stack([base] * 3, -1), "PDF"), "scan.pdf.dcm": encode(base, "PDF"),
                 "page.html.png": b"<!doctype html><html><body><img src=x></body></html>",
                 "archive.zip.png": archive.getvalue(), "anim.gif.png": encode(base, "GIF"),
                 "bitmap.bmp.png": encode(base, "BMP"), "scan.bmp": encode(base, "BMP"),
                 "scan.gif": encode(base, "GIF")}
    try:
        impostors["photo.webp.jpg"] = encode(base, "WEBP")
    except (KeyError, OSError):  # Pillow built without WebP
        pass
    for extension in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".dicom", ".bmp", ""):
        impostors[f"empty{extension}"] = b""
    return impostors


def _random_blobs(seed: int) -> list[Case]:
    """Random bytes of several lengths, bare or behind each format's magic number."""
    rng, cases = np.random.default_rng(seed), []
    prefixes = {"": b"", "png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff", "tif": b"II*\x00",
                "dcm": bytes(128) + b"DICM"}
    for length in (3, 200, 20_000):
        for kind, prefix in prefixes.items():
            name = f"random{length}_{kind or 'bare'}.{kind or 'png'}"
            cases.append(Case("hostile files", name, prefix + rng.bytes(length)))
    cases.append(Case("hostile files", "random_forced.dcm", rng.bytes(4096)))
    return cases


def hostile_cases(seed: int = 0) -> list[Case]:
    """At least 200 bad or odd files; the ones a reader must refuse are marked ``expect='error'``."""
    files = valid_files(seed)
    cases = [Case("hostile files", name, data, "valid") for name, data in files.items()] + _damaged(files, seed)
    cases += [Case("hostile files", name, data, expect) for name, (data, expect) in _oddities(seed).items()]
    cases += [Case("hostile files", name, data, "error") for name, data in _impostors(seed).items()]
    return cases + _random_blobs(seed)


__all__ = ["Case", "dicom", "encode", "figure_cases", "film", "generated_cases", "hostile_cases", "photo_cases",
           "png_header", "tiff", "tiff_header", "valid_files"]
