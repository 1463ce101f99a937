"""ZIP expansion of batch uploads: images kept, others skipped, limits enforced, names made unique."""

from __future__ import annotations

import io
import zipfile

import pytest

from xray_core.io import uploads
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


def _patch_directory_entry(data: bytes, name: bytes, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written at ``offset`` in the central-directory entry of member ``name``."""
    at = next(i for i in _entries(data) if data[i + 46 : i + 46 + len(name)] == name)
    return data[: at + offset] + value + data[at + offset + len(value) :]


def _entries(data: bytes) -> list[int]:
    found, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        found.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return found


def test_one_bad_member_is_its_own_message_and_the_rest_are_read():
    films = {f"{name}.png": name.encode() * 40 for name in ("good1", "secret", "badcrc", "method", "good2")}
    stored = _zip(films, zipfile.ZIP_STORED)
    stored = _patch_directory_entry(stored, b"secret.png", 8, b"\x01\x00")  # flag bit 0: encrypted
    stored = _patch_directory_entry(stored, b"method.png", 10, b"\x63\x00")  # compression method 99 (AES/unknown)
    at = stored.index(b"badcrc" * 40)
    stored = stored[:at] + b"X" + stored[at + 1 :]  # content changed, CRC kept: bad CRC-32
    deflated = _zip({"corrupt.png": b"c" * 4000})
    at = deflated.index(b"PK\x03\x04") + 30 + len("corrupt.png")
    deflated = deflated[:at] + b"\xff" * 8 + deflated[at + 8 :]  # 0xff: an invalid deflate block
    result = expand_uploads([("set.zip", stored), ("more.zip", deflated), ("x.png", b"1")])
    assert [name for name, _ in result.files] == ["set.zip/good1.png", "set.zip/good2.png", "x.png"]
    reasons = {message.split(":")[0]: message for message in result.skipped}
    assert set(reasons) == {"set.zip/secret.png", "set.zip/badcrc.png", "set.zip/method.png", "more.zip/corrupt.png"}
    assert "encrypted" in reasons["set.zip/secret.png"]
    assert "Bad CRC-32" in reasons["set.zip/badcrc.png"] and "unsupported method" in reasons["set.zip/method.png"]


def test_an_archive_declaring_too_many_members_is_refused_before_its_directory_is_parsed(monkeypatch):
    """70,000 members (a ZIP64 end record): one message, and zipfile never reads the directory."""
    members = 70_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in range(members):
            archive.writestr(f"n{index}.txt", b"")

    def never(*args, **kwargs):
        raise AssertionError("the directory was parsed")

    monkeypatch.setattr(uploads.zipfile, "ZipFile", never)
    result = expand_uploads([("many.zip", buffer.getvalue())])
    assert result.files == [] and len(result.skipped) == 1
    assert f"{members:,} members, above the {uploads.MAX_ZIP_MEMBERS:,}-member limit" in result.skipped[0]


def test_skipped_members_are_summarised_beyond_the_message_limit():
    result = extract_zip(_zip({f"n{index}.txt": b"x" for index in range(100)}), label="notes.zip")
    assert len(result.skipped) == uploads.MAX_ZIP_MESSAGES + 1
    assert (
        result.skipped[-1]
        == f"notes.zip: {100 - uploads.MAX_ZIP_MESSAGES} more members skipped (not images, or unreadable)"
    )
