"""Deflated DICOM: read like any other, but a deflate bomb is refused with bounded memory (never inflated whole)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
import zlib

import numpy as np
import pytest
from _factories import dicom_bytes

from xray_core.evaluation.reliability.files import deflated_dicom, film
from xray_core.io import dicom_file
from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image, read_image_header

BOMB_BYTES = 600 * 2**20  # what the bomb's pixel data inflates to; the file is about 600 kB


@pytest.fixture
def inflater_calls(monkeypatch) -> list[tuple[int, int]]:
    """(max_length asked for, bytes returned) of every inflate; pydicom's own unbounded inflate must never run."""
    calls: list[tuple[int, int]] = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, *args):
            self.inner = real(*args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            calls.append((max_length, len(out)))
            return out

    def unbounded(*args, **kwargs):
        raise AssertionError("pydicom inflated a whole dataset")

    monkeypatch.setattr(dicom_file, "zlib", types.SimpleNamespace(decompressobj=Spy, MAX_WBITS=zlib.MAX_WBITS))
    monkeypatch.setattr("pydicom.filereader.zlib", types.SimpleNamespace(decompress=unbounded, MAX_WBITS=15))
    return calls


def test_a_deflated_chest_dicom_reads_like_the_uncompressed_one(inflater_calls):
    array = film(96, 80, seed=3)
    image = read_image(deflated_dicom(array), name="chest.dcm")
    reference = read_image(dicom_bytes(array), name="chest.dcm")
    np.testing.assert_array_equal(image.pixels, reference.pixels)
    assert image.meta["transfer_syntax"] == "Deflated Explicit VR Little Endian"
    assert read_image_header(deflated_dicom(array)) == read_image_header(dicom_bytes(array))
    assert inflater_calls and all(asked > 0 for asked, _ in inflater_calls)


def test_a_deflate_bomb_is_refused_without_inflating_it(inflater_calls):
    with pytest.raises(XrayInputError, match=r"^bomb\.dcm: a deflated .* deflate bomb.*expected"):
        read_image(deflated_dicom(film(96, 80), zeros=BOMB_BYTES), name="bomb.dcm")
    limit = 96 * 80 + dicom_file.ELEMENT_HEADROOM  # one declared 8-bit frame plus the headroom
    assert all(0 < asked <= limit + 1 for asked, _ in inflater_calls)  # 0 would mean "no limit"
    assert sum(out for _, out in inflater_calls) <= limit + 1


def test_the_header_of_a_bomb_inflates_only_the_head(inflater_calls):
    header = read_image_header(deflated_dicom(film(96, 80), zeros=BOMB_BYTES), name="bomb.dcm")
    assert (header["width"], header["height"]) == (80, 96)
    assert [asked for asked, _ in inflater_calls] == [dicom_file.HEADER_BYTES]


def test_a_bomb_declaring_a_huge_film_is_refused_by_the_pixel_limit(inflater_calls):
    data = deflated_dicom(film(96, 80), zeros=BOMB_BYTES, Rows=30000, Columns=30000)
    with pytest.raises(XrayInputError, match="megapixel limit"):
        read_image(data, name="huge.dcm")
    assert [asked for asked, _ in inflater_calls] == [dicom_file.HEADER_BYTES]


def test_a_bomb_is_refused_within_a_memory_ceiling(tmp_path):
    """A 2 GB bomb read in a process whose address space is capped at 1.5 GB: a clear refusal, not MemoryError."""
    path = tmp_path / "bomb.dcm"
    path.write_bytes(deflated_dicom(film(96, 80), zeros=2 * 2**30))
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
        from xray_core.io import XrayInputError, read_image
        try:
            read_image({str(path)!r})
        except XrayInputError as error:
            print(error)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": ""})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "deflate bomb" in done.stdout, done.stdout


def test_a_corrupt_deflate_stream_is_a_clear_error():
    data = deflated_dicom(film(96, 80))
    start = len(data) // 2  # inside the deflated dataset (the file meta is the first ~300 bytes)
    with pytest.raises(XrayInputError, match="^bad.dcm: cannot read the DICOM data"):
        read_image(data[:start] + b"\xff" * 64, name="bad.dcm")  # 0xff: deflate block type 3, invalid
