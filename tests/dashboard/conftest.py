"""Dashboard fixtures: the app runs open, as on a machine's own loopback (sign-in tests ask for sign-in
explicitly); a folder-layout dataset, an all-lung segmenter and the environment most pages run in."""

from __future__ import annotations

from pathlib import Path

import pytest
from _apptest import chest_film
from _factories import png_bytes

from xray_core.config import CLASS_NAMES


@pytest.fixture(autouse=True)
def _open_app(monkeypatch):
    """AppTest has no server address; the tests that need sign-in set XRAY_REQUIRE_SIGN_IN=1 themselves."""
    monkeypatch.setenv("XRAY_REQUIRE_SIGN_IN", "0")


@pytest.fixture(scope="module")
def folder_dataset(tmp_path_factory) -> Path:
    """A folder-layout dataset, root/<split>/<class>/*.png: 2 train + 1 test chest-like film per class, each
    distinct (``tiny_dataset`` is the manifest layout)."""
    root = tmp_path_factory.mktemp("dataset")
    for index, label in enumerate(CLASS_NAMES):
        for split, count in (("train", 2), ("test", 1)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for n in range(count):
                (folder / f"{label}_{split}_{n}.png").write_bytes(png_bytes(chest_film(index * 10 + n + len(split))))
    return root


@pytest.fixture(scope="module")
def all_lung_segmenter(tmp_path_factory) -> Path:
    """A 'trained' tiny lung segmenter that calls every pixel lung (so the share inside the lungs is 100 %)."""
    import torch

    from xray_core.config import Preprocessing
    from xray_core.models.unet import SegmenterMeta, UNet, save_segmenter

    model = UNet(1, (4, 8)).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(5.0)
    path = tmp_path_factory.mktemp("segmenter") / "lungs.pt"
    save_segmenter(
        path, model, SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8), trained=True, version="test-lungs")
    )
    return path


@pytest.fixture
def env(monkeypatch, tiny_checkpoint, folder_dataset, all_lung_segmenter, tmp_path):
    """The app over the tiny checkpoint, the folder dataset and the all-lung segmenter, with its own cache and no
    audit log; tests change single variables on the returned monkeypatch."""
    monkeypatch.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint))
    monkeypatch.setenv("XRAY_DATA_DIR", str(folder_dataset))
    monkeypatch.setenv("XRAY_SEGMENTER", str(all_lung_segmenter))
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRAY_AUDIT_LOG", raising=False)
    return monkeypatch
