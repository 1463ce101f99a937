"""Shared fixtures: the real corpus (marked ``corpus``) and tiny generated checkpoints."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from xray_core.config import default_data_dir


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit (AppTest included) installs the app script as ``__main__`` and leaves it there; a later test that
    starts ``spawn`` workers would then run the app again in each child. Every test gets back the real one."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture(autouse=True)
def _no_automatic_onnx_export(monkeypatch):
    """``predict`` and the dashboard export the checkpoint to ONNX on first use (xray_core.inference.onnx.auto), into
    the user's cache and verified on the corpus; a test does so only when it asks (``XRAY_ONNX_AUTO=1``)."""
    monkeypatch.setenv("XRAY_ONNX_AUTO", "0")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real corpus; skipped locally when absent, a failure under CI=true."""
    path = default_data_dir()
    if not (path / "manifest.csv").is_file():
        message = f"real corpus not found at {path} (set XRAY_DATA_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An UNTRAINED resnet18 checkpoint at 64 px (fast to build and run), with calibration and OOD metadata."""
    import numpy as np
    import torch

    from xray_core.config import Preprocessing
    from xray_core.inference import ood
    from xray_core.models.checkpoint import save_checkpoint
    from xray_core.models.networks import build_model

    torch.manual_seed(0)
    prep = Preprocessing(image_size=64)
    model = build_model("resnet18", in_channels=1).eval()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(64, 512))
    meta = {
        "arch": "resnet18",
        "preprocessing": prep.to_dict(),
        "trained": False,
        "version": "test-tiny",
        "calibration": {"temperature": 1.5},
        "ood": ood.fit(features, rng.integers(0, 4, 64), rng.normal(size=(32, 512))),
    }
    path = tmp_path_factory.mktemp("checkpoint") / "tiny.pt"
    save_checkpoint(path, model, meta)
    return path


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    """The tiny checkpoint loaded, once per test module (a module may not see another's changes to it)."""
    from xray_core.models.checkpoint import load_checkpoint

    return load_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A manifest dataset of 96 generated 48x40 PNGs whose class is a bright band's position (learnable)."""
    import numpy as np
    from PIL import Image

    root = tmp_path_factory.mktemp("tiny_dataset")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    rows = ["file,label,split,patient_id,source,age_group"]
    for index in range(96):
        label_index, split = index % 4, ("train", "train", "val", "test")[(index // 4) % 4]
        pixels = rng.integers(0, 60, (48, 40)).astype(np.uint8)
        pixels[label_index * 12 : (label_index + 1) * 12] += 150
        name = f"images/{index:03d}.png"
        Image.fromarray(pixels).save(root / name)
        label = ("normal", "bacterial", "viral", "covid")[label_index]
        source = "adult-repo" if label in ("covid", "normal") and index % 3 else "kids-repo"
        age = "adult" if source == "adult-repo" else "pediatric"
        rows.append(f"{name},{label},{split},p{index // 2},{source},{age}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def decoded(monkeypatch) -> list[str]:
    """Every pixel decode during the test, by library: Pillow's image loads and pydicom's ``pixel_array``.

    A file refused "from its header" leaves it empty; tests assert that instead of a wall time, which a busy
    2-core machine cannot promise."""
    import pydicom
    from PIL import ImageFile, TiffImagePlugin

    calls: list[str] = []
    for owner in (ImageFile.ImageFile, TiffImagePlugin.TiffImageFile):
        load = owner.load

        def spy(self, *args, _load=load, **kwargs):
            calls.append("pillow")
            return _load(self, *args, **kwargs)

        monkeypatch.setattr(owner, "load", spy)
    pixel_array = pydicom.Dataset.pixel_array
    monkeypatch.setattr(
        pydicom.Dataset, "pixel_array", property(lambda ds: calls.append("pydicom") or pixel_array.fget(ds))
    )
    return calls
