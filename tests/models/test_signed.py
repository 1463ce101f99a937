"""Signed weight files: one format for both networks, the shipped files pinned in weights/SHA256SUMS."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
import torch

from xray_core.cli.main import main
from xray_core.config import DEFAULT_CHECKPOINT, Preprocessing
from xray_core.models import pinned
from xray_core.models.checkpoint import CheckpointError, load_checkpoint, read_payload, save_checkpoint, update_meta
from xray_core.models.networks import build_model
from xray_core.models.signed import read_header
from xray_core.models.unet import SegmenterError, SegmenterMeta, UNet, read_segmenter, save_segmenter

WEIGHTS = DEFAULT_CHECKPOINT.parent
SHIPPED = [WEIGHTS / "xray_resnet.pt", WEIGHTS / "lung_unet.pt"]


def _checkpoint(path):
    meta = {"arch": "resnet18", "preprocessing": Preprocessing(image_size=64).to_dict(), "version": "v1"}
    save_checkpoint(path, build_model("resnet18"), meta)
    return path


def _segmenter(path):
    save_segmenter(path, UNet(1, (4, 8)), SegmenterMeta(Preprocessing(image_size=16), channels=(4, 8)))
    return path


def test_the_committed_sums_pin_every_committed_weight_file() -> None:
    """A release that replaced a file and forgot 'sign-weights' fails here, before anyone loads it."""
    listed = pinned.read_sums(WEIGHTS)
    assert set(listed) == {path.name for path in pinned.shipped_files(WEIGHTS)} >= {p.name for p in SHIPPED}
    for name, digest in listed.items():
        assert hashlib.sha256((WEIGHTS / name).read_bytes()).hexdigest() == digest, f"run 'make sign-weights' ({name})"


def test_the_sums_are_in_sha256sum_format() -> None:
    result = subprocess.run(["sha256sum", "-c", pinned.SUMS_NAME], cwd=WEIGHTS, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_shipped_files_load_and_verify() -> None:
    loaded, segmenter = load_checkpoint(SHIPPED[0]), read_segmenter(SHIPPED[1])
    assert loaded.meta.trained and segmenter.meta.trained
    assert loaded.sha256 == torch.load(SHIPPED[0], weights_only=True)["sha256"]
    assert segmenter.sha256 == torch.load(SHIPPED[1], weights_only=True)["sha256"]


def test_the_file_format_is_unchanged(tmp_path) -> None:
    checkpoint = torch.load(_checkpoint(tmp_path / "m.pt"), weights_only=True)
    assert list(checkpoint) == ["format", "format_version", "meta", "state_dict", "sha256"]
    assert (checkpoint["format"], checkpoint["format_version"]) == ("xray-core-checkpoint", 2)
    segmenter = torch.load(_segmenter(tmp_path / "s.pt"), weights_only=True)
    assert list(segmenter) == ["format", "format_version", "kind", "meta", "state_dict", "sha256"]
    assert (segmenter["format"], segmenter["format_version"], segmenter["kind"]) == (
        "xray-core-segmenter",
        1,
        "lung-segmenter",
    )


def test_read_header_gives_the_metadata_without_the_tensors() -> None:
    header, payload = read_header(SHIPPED[0].read_bytes()), torch.load(SHIPPED[0], weights_only=True)
    assert header["meta"] == payload["meta"] and header["sha256"] == payload["sha256"]
    assert set(header["state_dict"]) == set(payload["state_dict"]) and header["state_dict"]["fc.bias"] is None
    with pytest.raises(ValueError, match="not a torch.save archive"):
        read_header(b"PK not really")


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    """A stand-in for weights/ holding a signed classifier and segmenter, both pinned by sign-weights."""
    folder = tmp_path / "weights"
    monkeypatch.setattr(pinned, "WEIGHTS_DIR", folder)
    folder.mkdir()
    _checkpoint(folder / "xray_resnet.pt"), _segmenter(folder / "lung_unet.pt")
    assert main(["sign-weights", "--dir", str(folder)]) == 0
    return folder


def test_a_replaced_shipped_file_is_refused_with_what_to_do(weights_dir, tmp_path) -> None:
    checkpoint, segmenter = weights_dir / "xray_resnet.pt", weights_dir / "lung_unet.pt"
    load_checkpoint(checkpoint), read_segmenter(segmenter)  # pinned: both load
    elsewhere = _checkpoint(tmp_path / "other.pt")
    checkpoint.write_bytes(elsewhere.read_bytes())  # a valid, self-consistent file: only the pin catches it
    with pytest.raises(CheckpointError, match=r"xray_resnet.pt does not match its pinned SHA-256.*sign-weights"):
        load_checkpoint(checkpoint)
    load_checkpoint(elsewhere)  # the same bytes given explicitly from another folder: embedded hash only
    segmenter.write_bytes(_segmenter(tmp_path / "other_seg.pt").read_bytes())
    with pytest.raises(SegmenterError, match="lung_unet.pt does not match its pinned SHA-256"):
        read_segmenter(segmenter)
    assert main(["sign-weights", "--dir", str(weights_dir)]) == 0  # the release engineer's one command
    load_checkpoint(checkpoint), read_segmenter(segmenter)


def test_an_unpinned_file_in_the_weights_folder_is_refused(weights_dir, tmp_path) -> None:
    extra = weights_dir / "candidate.pt"
    extra.write_bytes(_checkpoint(tmp_path / "candidate.pt").read_bytes())  # copied in, not written by our code
    with pytest.raises(CheckpointError, match="candidate.pt is in .* but not pinned"):
        load_checkpoint(extra)


def test_sign_weights_refuses_a_damaged_file(weights_dir, capsys) -> None:
    before = (weights_dir / pinned.SUMS_NAME).read_text()
    payload = torch.load(weights_dir / "xray_resnet.pt", weights_only=True)
    payload["meta"]["temperature"] = 0.1  # the embedded hash no longer matches
    torch.save(payload, weights_dir / "xray_resnet.pt")
    assert main(["sign-weights", "--dir", str(weights_dir)]) == 2
    assert "xray_resnet.pt" in capsys.readouterr().err
    assert (weights_dir / pinned.SUMS_NAME).read_text() == before


def test_the_code_s_own_writes_to_a_shipped_file_stay_pinned(weights_dir) -> None:
    update_meta(weights_dir / "xray_resnet.pt", temperature=1.3)
    assert load_checkpoint(weights_dir / "xray_resnet.pt").temperature == 1.3
    assert read_payload(weights_dir / "xray_resnet.pt")["meta"]["temperature"] == 1.3
