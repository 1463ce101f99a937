"""ZIP expansion of batch uploads: images kept, others skipped, limits enforced, names made unique."""

from __future__ import annotations

import io
import zipfile

import pytest

from xray_core.io.uploads import ZipLimitError, expand_uploads, extract_zip


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_extract_zip_takes_images_skips_others_and_hidden():
    data = _zip(
        {
            "a/one.png": b"1",
            "two.DCM": b"2",
            "notes.txt": b"x",
            "__MACOSX/a/._one.png": b"",
            ".hidden.png": b"",
            "folder/": b"",
        }
    )
    result = extract_zip(data, label="films.zip")
    assert result.files == [("films.zip/a/one.png", b"1"), ("films.zip/two.DCM", b"2")]
    assert len(result.skipped) == 1 and "notes.txt" in result.skipped[0]


def test_extract_zip_limits():
    with pytest.raises(ZipLimitError, match="more than 2 images"):
        extract_zip(_zip({f"{i}.png": b"x" for i in range(3)}), max_files=2)
    with pytest.raises(ZipLimitError, match="uncompressed"):
        extract_zip(_zip({"a.png": b"x" * 600, "b.png": b"y" * 600}, zipfile.ZIP_STORED), max_bytes=1000)
    with pytest.raises(ZipLimitError, match="compression ratio"):
        extract_zip(_zip({"bomb.png": b"\0" * 1_000_000}))
    with pytest.raises(ZipLimitError, match="not a readable ZIP"):
        extract_zip(b"PK\x03\x04 definitely not a zip")


def test_expand_uploads_makes_names_unique_and_reports_problems():
    result = expand_uploads(
        [("x.png", b"1"), ("x.png", b"2"), ("doc.pdf", b"%PDF"), ("bad.zip", b"no"), ("set.zip", _zip({"x.png": b"3"}))]
    )
    assert [name for name, _ in result.files] == ["x.png", "x.png (2)", "set.zip/x.png"]
    assert any("doc.pdf" in s for s in result.skipped) and any("bad.zip" in s for s in result.skipped)


def test_expand_uploads_passes_limits_to_each_archive():
    archive = _zip({f"{i}.png": b"x" for i in range(3)})
    result = expand_uploads([("big.zip", archive), ("small.zip", _zip({"a.png": b"1"}))], max_files=2)
    assert [name for name, _ in result.files] == ["small.zip/a.png"]
    assert len(result.skipped) == 1 and "big.zip: more than 2 images" in result.skipped[0]
