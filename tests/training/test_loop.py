import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from _streamlit_server import free_port

from xray_core.config import REPO_ROOT
from xray_core.inference.predict import predict_image
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint
from xray_core.models.signed import weights_sha256
from xray_core.training.config import TrainConfig
from xray_core.training.loop import epoch_draws, run
from xray_core.training.splits import SplitArrays


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))


def _config(tiny_dataset, out, **overrides) -> TrainConfig:
    values = dict(
        data=str(tiny_dataset),
        out=str(out),
        image_size=32,
        epochs=2,
        samples_per_epoch=32,
        batch_size=16,
        workers=1,
        threads=1,
        patience=5,
    )
    return TrainConfig(**{**values, **overrides})


def test_two_epoch_smoke_run_writes_a_usable_checkpoint(tiny_dataset, tmp_path):
    path = run(_config(tiny_dataset, tmp_path / "run"))
    history = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(0 <= h["val_macro_auc"] <= 1 and np.isfinite(h["train_loss"]) for h in history)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["image_size"] == 32
    loaded = load_checkpoint(path)
    assert loaded.trained and loaded.preprocessing.image_size == 32 and loaded.temperature > 0
    assert loaded.meta.data_summary["n_images"] == 72  # train + val rows
    assert loaded.meta.ood["threshold"] > 0 and loaded.meta.input_stats.threshold > 0
    result = predict_image(loaded, read_image(tiny_dataset / "images" / "000.png"))
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)


def _logged_lr(out) -> list[float]:
    return [json.loads(line)["lr"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_resume_with_more_epochs_anneals_to_the_new_last_step(tiny_dataset, tmp_path):
    """Stopped after epoch 1 of 2 (patience 0), resumed as a 3-epoch run: from the resume on, the LR per epoch is
    the 3-epoch schedule's (as if so configured from the start); it decays after warm-up and ends near the final
    LR instead of climbing back past the first schedule's end."""
    small = dict(samples_per_epoch=32, batch_size=8)
    run(_config(tiny_dataset, tmp_path / "run", epochs=2, patience=0, **small))
    run(_config(tiny_dataset, tmp_path / "run", epochs=3, resume=True, **small))
    run(_config(tiny_dataset, tmp_path / "straight", epochs=3, **small))
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    resumed, straight = _logged_lr(tmp_path / "run"), _logged_lr(tmp_path / "straight")
    assert epochs == [1, 2, 3]
    assert resumed[1:] == pytest.approx(straight[1:], rel=1e-9)
    assert resumed[0] > resumed[1] > resumed[2] and resumed[2] < 0.05 * TrainConfig().lr


def test_processes_join_over_gloo_even_where_cuda_exists(monkeypatch):
    """Model and batches stay on the CPU, which nccl cannot carry: the process group is gloo on any machine."""
    from xray_core.training import loop

    backends = []

    def record(backend, **kwargs):
        backends.append(backend)
        raise _Joined

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(loop.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(loop.dist, "init_process_group", record)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(_Joined):
        loop._init_distributed()
    assert backends == ["gloo"]


class _Joined(Exception):
    """Stops _init_distributed once the backend is chosen (no second rank to meet)."""


def test_seeded_runs_are_identical(tiny_dataset, tmp_path):
    first = load_checkpoint(run(_config(tiny_dataset, tmp_path / "a", epochs=1)))
    second = load_checkpoint(run(_config(tiny_dataset, tmp_path / "b", epochs=1)))
    assert weights_sha256(first.model.state_dict()) == weights_sha256(second.model.state_dict())


def test_class_balanced_draws_equalise_classes():
    labels = torch.tensor([0] * 90 + [1] * 50 + [2] * 30 + [3] * 20)
    data = SplitArrays(torch.zeros(len(labels), 2, 2, dtype=torch.uint8), labels, [""] * len(labels))
    draws = epoch_draws(data, 4000, torch.Generator().manual_seed(0), TrainConfig(balance="classes", min_cell=20))
    shares = torch.bincount(labels[draws], minlength=4).float() / 4000
    assert torch.all((shares - 0.25).abs() < 0.03)


def test_partial_labels_and_external_set_train_and_select(tiny_dataset, tmp_path):
    """A manifest with 'pneumonia' rows and an external/ folder: trained, validated per cell, calibrated on both."""
    root = tmp_path / "partial"
    shutil.copytree(tiny_dataset, root)
    lines = (root / "manifest.csv").read_text().splitlines()
    relabelled = [line.replace(",viral,", ",pneumonia,") if i % 2 else line for i, line in enumerate(lines)]
    (root / "manifest.csv").write_text("\n".join(relabelled) + "\n")
    (root / "external").mkdir()
    external = [lines[0]] + [
        line.replace("images/", "../images/").replace(",test,", ",external,") for line in lines[1:] if ",test," in line
    ]
    (root / "external" / "manifest.csv").write_text("\n".join(external) + "\n")
    (root / "external_adult").mkdir()  # NIH normals and pneumonias, typed pneumonias from a COVID-19 repository
    adult = [lines[0]]
    for line in lines[1:]:
        if ",val," in line:
            namespace = "ieee8023" if ",bacterial," in line or ",viral," in line else "nih"
            label = "pneumonia" if namespace == "nih" and ",covid," in line else None
            moved = line.replace("images/", "../images/").replace(",val,", ",external,")
            moved = moved.replace(",p", f",{namespace}:p", 1)
            adult.append(moved.replace(",covid,", f",{label},") if label else moved)
    (root / "external_adult" / "manifest.csv").write_text("\n".join(adult) + "\n")
    path = run(_config(root, tmp_path / "run", epochs=2, balance="sources"))
    history = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("external_pneumonia_auc" in h and 0 <= h["selection"] <= 1 for h in history)
    assert all(0 <= h["external_adult_nih_pneumonia_auc"] <= 1 for h in history)
    assert all(0 <= h["external_adult_typed_called_covid"] <= 1 for h in history)
    meta = load_checkpoint(path).meta
    assert meta.calibration["fitted_on"] == "val+external+external_adult"
    assert meta.data_summary["class_counts"]["pneumonia"] > 0
    assert meta.training["best_epoch"] in (1, 2) and meta.version.endswith(f"e{meta.training['best_epoch']}")


def test_fine_tune_from_an_earlier_checkpoint(tiny_dataset, tmp_path):
    first = run(_config(tiny_dataset, tmp_path / "a", epochs=1))
    second = run(_config(tiny_dataset, tmp_path / "b", epochs=1, init=str(first), freeze=2, lr=1e-4))
    before, after = load_checkpoint(first).model, load_checkpoint(second).model
    torch.testing.assert_close(before.layer1[0].conv1.weight, after.layer1[0].conv1.weight)  # frozen stage
    assert not torch.equal(before.fc.weight, after.fc.weight)


@pytest.mark.slow
def test_torchrun_two_processes(tiny_dataset, tmp_path):
    out = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={free_port()}",
        f"--log-dir={tmp_path / 'ranks'}",
        "--redirects=3",  # each rank's stdout and stderr in its own file, so a failure shows every rank's error
        "-m",
        "xray_core",
        "train",
        "--data",
        str(tiny_dataset),
        "--out",
        str(out),
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--samples-per-epoch",
        "32",
        "--batch-size",
        "8",
        "--workers",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    ranks = sorted((tmp_path / "ranks").rglob("stderr.log"))
    errors = "\n".join(f"--- {log.relative_to(tmp_path)}:\n{log.read_text()[-3000:]}" for log in ranks)
    assert done.returncode == 0, f"{done.stderr[-2000:]}\n{errors}"
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert set(record) >= {"epoch", "train_loss", "val_macro_auc", "val_accuracy", "selection", "lr", "seconds"}
    assert load_checkpoint(out / "model.pt").trained


@pytest.mark.parametrize("mask", ["none", "lungs"])
def test_lung_cropped_run_records_its_crop_and_predicts_and_explains(tiny_dataset, tmp_path, monkeypatch, mask):
    from xray_core.config import Preprocessing
    from xray_core.explain.cam import explain
    from xray_core.models.unet import SegmenterMeta, UNet, save_segmenter

    segmenter = UNet(1, (4, 8)).eval()
    with torch.no_grad():  # calls every pixel lung: the box is the whole film, the plumbing is what is tested
        segmenter.head.weight.zero_()
        segmenter.head.bias.fill_(5.0)
    seg_path = tmp_path / "lungs.pt"
    save_segmenter(seg_path, segmenter, SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8), trained=True))
    monkeypatch.setenv("XRAY_SEGMENTER", str(seg_path))
    loaded = load_checkpoint(run(_config(tiny_dataset, tmp_path / "run", epochs=1, crop="lungs", mask=mask)))
    prep = loaded.preprocessing
    assert prep.crop == "lungs" and prep.crop_segmenter == load_checkpoint_segmenter_sha(seg_path)
    assert prep.mask == mask
    image = read_image(tiny_dataset / "images" / "000.png")
    assert sum(predict_image(loaded, image).probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    explanation = explain(loaded, image, "gradcam")
    assert explanation.box == (0, image.height, 0, image.width) and explanation.cam.shape == image.pixels.shape


def load_checkpoint_segmenter_sha(path) -> str:
    from xray_core.models.unet import read_segmenter

    return read_segmenter(path).sha256


def test_lung_attention_run_logs_the_maps_outside_share(tiny_dataset, tmp_path, monkeypatch):
    from xray_core.config import Preprocessing
    from xray_core.inference.lungs import crop
    from xray_core.models.unet import SegmenterMeta, UNet, save_segmenter

    seg_path = tmp_path / "lungs.pt"  # an untrained segmenter file for the checksum; the masks come from below
    save_segmenter(seg_path, UNet(1, (4, 8)).eval(), SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8)))
    monkeypatch.setenv("XRAY_SEGMENTER", str(seg_path))

    def left_band(segmenter, films):  # lungs: a band in the left half, so the square has an inside and an outside
        masks = [np.zeros(film.shape[:2], bool) for film in films]
        for mask in masks:
            mask[:, 3 : mask.shape[1] // 2] = True
        return masks

    monkeypatch.setattr(crop, "segment_batch", left_band)
    path = run(_config(tiny_dataset, tmp_path / "run", epochs=1, crop="lungs", lung_attention=1.0))
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert 0.0 < record["train_lung_outside"] < 1.0 and np.isfinite(record["train_loss"])
    assert load_checkpoint(path).trained


def test_lung_attention_needs_the_lung_crop(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="needs --crop lungs"):
        run(_config(tiny_dataset, tmp_path / "run", lung_attention=1.0))
