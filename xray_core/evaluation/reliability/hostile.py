"""The "hostile files" family: at least 200 corrupt, truncated, bit-flipped, renamed, degenerate or oversized files.

Each case says what a reader must do with it (``expect``): decode it (``valid``), refuse it with
``XrayInputError`` (``error``), or either (``any``); it must never crash, hang or exhaust memory. Made in memory
from fixed seeds.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

from xray_core.evaluation.reliability.files import (
    Case,
    deflated_dicom,
    dicom,
    encode,
    film,
    png_header,
    tiff,
    tiff_header,
    tiff_pages,
)


def _deflate_bomb(side: int) -> bytes:
    """A real PNG of ``side`` x ``side`` black pixels: a few kB that would inflate to side**2 bytes."""
    compressor, row = zlib.compressobj(9), b"\x00" * (side + 1)
    payload = b"".join(compressor.compress(row * 256) for _ in range(side // 256)) + compressor.flush()
    return png_header(side, side, payload)


def _patch(data: bytes, marker: bytes, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written ``offset`` bytes after the first ``marker``."""
    at = data.index(marker) + offset
    return data[:at] + value + data[at + len(value) :]


def valid_files(seed: int = 0) -> dict[str, bytes]:
    """One valid file per format variant (name -> bytes): the seeds of the truncated and bit-flipped cases."""
    base = film(96, 80, seed)
    deep = base.astype(np.uint16) * 257
    rgb = np.stack([base, np.roll(base, 3, axis=1), base[::-1]], axis=-1)
    return {
        "gray8.png": encode(base, "PNG"),
        "gray16.png": encode(deep, "PNG"),
        "rgb.png": encode(rgb, "PNG"),
        "palette.png": encode(rgb, "PNG", mode="P"),
        "gray_alpha.png": encode(base, "PNG", mode="LA"),
        "gray.jpg": encode(base, "JPEG", quality=90),
        "rgb.jpg": encode(rgb, "JPEG"),
        "progressive.jpg": encode(base, "JPEG", progressive=True),
        "cmyk.jpg": encode(rgb, "JPEG", mode="CMYK"),
        "gray8.tif": tiff(base),
        "gray16.tif": tiff(deep),
        "float32.tif": tiff(base.astype(np.float32) / 255),
        "rgb.tif": encode(rgb, "TIFF"),
        "mono2_16bit.dcm": dicom(deep),
        "mono1_8bit.dcm": dicom(base, "MONOCHROME1"),
        "bare.dcm": dicom(base, preamble=False),
        "deflated.dcm": deflated_dicom(base),
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
        "float64.tif": (tiff(base / 255.0), "any"),
        "int32.tif": (tiff(base.astype(np.int32) * 1000), "valid"),
        "rgba.png": (encode(rgb, "PNG", mode="RGBA"), "valid"),
        "bilevel.png": (encode(base, "PNG", mode="1"), "valid"),
        "noise_rgb.jpg": (encode(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "JPEG"), "valid"),
        "black_2048.png": (encode(np.zeros((2048, 2048), np.uint8), "PNG"), "valid"),
        "nan.tif": (tiff(nan), "error"),
        "inf.tif": (tiff(np.where(nan != nan, np.inf, nan)), "error"),
        "pages3.tif": (tiff(base, pages=3), "error"),
        "animated.png": (apng.getvalue(), "error"),
        "frames3.dcm": (dicom(base, frames=3), "error"),
        "no_pixels.dcm": (dicom(base, pixels=False), "error"),
        "rgb.dcm": (dicom(base, samples=3), "error"),
        "jpeg_syntax.dcm": (dicom(base, compressed=True), "error"),
        "short_pixels.dcm": (dicom(base, rows_columns=(400, 400)), "error"),
        "huge.dcm": (dicom(base, rows_columns=(30000, 30000)), "error"),
        "bomb_100k.png": (png_header(100_000, 100_000), "error"),
        "bomb_20k.png": (png_header(20_000, 20_000), "error"),
        "deflate_bomb.png": (_deflate_bomb(8192), "error"),
        "bomb.tif": (tiff_header(100_000, 100_000), "error"),
        "bomb.jpg": (_patch(encode(base, "JPEG"), b"\xff\xc0", 5, struct.pack(">HH", 65000, 65000)), "error"),
        **_header_says_not_chest(base),
        "deflate_bomb.dcm": (deflated_dicom(base, zeros=512 * 2**20), "error"),  # 512 MB in about 0.5 MB
        "pages40k.tif": (tiff_pages(40_000), "error"),  # Pillow's page count walked every page: 10 s
    }


def _header_says_not_chest(base: np.ndarray) -> dict[str, tuple[bytes, str]]:
    """DICOMs whose header says they are not a frontal chest radiograph (the pixels are a chest-like film)."""
    return {
        "ct_slice.dcm": (dicom(base, Modality="CT", ImageType=["ORIGINAL", "PRIMARY", "AXIAL"]), "error"),
        "lateral.dcm": (dicom(base, ViewPosition="LL"), "error"),
        "knee.dcm": (dicom(base, BodyPartExamined="KNEE"), "error"),
        "deflated_ct.dcm": (deflated_dicom(base, Modality="CT"), "error"),
    }


def _impostors(seed: int) -> dict[str, bytes]:
    """Files that are not images of an accepted kind, under image names (all must be refused)."""
    import zipfile

    base = film(96, 80, seed)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("chest.png", encode(base, "PNG"))
    text = b"Patient: Doe, Jane\nThis is a radiology report, not an image.\n"
    impostors = {
        "report.png": text,
        "report.jpg": text,
        "report.tif": text,
        "report.dcm": text,
        "scan.pdf.png": encode(np.stack([base] * 3, -1), "PDF"),
        "scan.pdf.dcm": encode(base, "PDF"),
        "page.html.png": b"<!doctype html><html><body><img src=x></body></html>",
        "archive.zip.png": archive.getvalue(),
        "anim.gif.png": encode(base, "GIF"),
        "bitmap.bmp.png": encode(base, "BMP"),
        "scan.bmp": encode(base, "BMP"),
        "scan.gif": encode(base, "GIF"),
    }
    with contextlib.suppress(KeyError, OSError):  # Pillow built without WebP
        impostors["photo.webp.jpg"] = encode(base, "WEBP")
    for extension in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".dicom", ".bmp", ""):
        impostors[f"empty{extension}"] = b""
    return impostors


def _random_blobs(seed: int) -> list[Case]:
    """Random bytes of several lengths, bare or behind each format's magic number."""
    rng, cases = np.random.default_rng(seed), []
    prefixes = {
        "": b"",
        "png": b"\x89PNG\r\n\x1a\n",
        "jpg": b"\xff\xd8\xff",
        "tif": b"II*\x00",
        "dcm": bytes(128) + b"DICM",
    }
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


__all__ = ["hostile_cases", "valid_files"]
