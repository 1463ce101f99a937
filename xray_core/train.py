"""Training: class-balanced, augmented, one-cycle ResNet training on decoded-once images.

Runs as a single process or under ``torchrun --nproc_per_node=N`` (DDP; gloo
on CPU, nccl on GPU). The run folder gets ``config.json``, ``metrics.jsonl``
(one line per epoch), ``last.pt`` (resumable state) and ``model.pt`` (the
release checkpoint of the best epoch, calibrated, with OOD statistics).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from . import calibrate, metrics, ood
from .cache import cached_pixels
from .checkpoint import save_checkpoint
from .config import CLASS_NAMES, TrainConfig, default_data_dir
from .data import data_summary, load_dataset
from .model import build_model, freeze_stages, imagenet_init, load_init_weights, penultimate_features
from .preprocess import TrainAugment, normalize, normalize_batch

VERSION = "1.0"


@dataclass
class SplitArrays:
    pixels: torch.Tensor  # (N, S, S) uint8
    labels: torch.Tensor  # (N,) int64 class indices


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_splits(cfg: TrainConfig, show: bool) -> tuple[dict[str, SplitArrays], Any]:
    """Train and val splits of the dataset as uint8 tensors at the configured size (decoded once, cached)."""
    table = load_dataset(cfg.data or default_data_dir())
    splits = {}
    for split in ("train", "val"):
        part = table[table["split"] == split]
        if cfg.limit:
            per_class = max(1, cfg.limit // len(CLASS_NAMES))
            part = pd.concat([g.sample(min(len(g), per_class), random_state=cfg.seed) for _, g in part.groupby("label")])
        if part.empty:
            raise ValueError(f"the dataset has no '{split}' images; training needs train and val splits")
        pixels = cached_pixels(part, cfg.image_size, workers=cfg.workers, progress=show)
        labels = torch.as_tensor([CLASS_NAMES.index(label) for label in part["label"]])
        splits[split] = SplitArrays(torch.from_numpy(pixels), labels)
    return splits, table[table["split"].isin(["train", "val"])]


def balanced_indices(labels: torch.Tensor, count: int, generator: torch.Generator, balance: str) -> torch.Tensor:
    """Indices for one epoch: class-balanced draws with replacement, or a plain shuffle."""
    if balance != "sampler":
        return torch.randperm(len(labels), generator=generator)[:count]
    class_counts = torch.bincount(labels, minlength=len(CLASS_NAMES)).clamp(min=1).float()
    weights = (1.0 / class_counts)[labels]
    return torch.multinomial(weights, count, replacement=True, generator=generator)


def build_training(cfg: TrainConfig, train_labels: torch.Tensor, steps: int) -> tuple[nn.Module, Any, Any, nn.Module]:
    """Model (with optional init and freezing), optimizer, schedule and loss for ``steps`` optimizer steps."""
    model = build_model(cfg.arch, in_channels=cfg.in_channels)
    if cfg.init == "imagenet":
        imagenet_init(model, cfg.arch)
    elif cfg.init:
        load_init_weights(model, cfg.init)
    freeze_stages(model, cfg.freeze)
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps))
    else:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(2, steps),
                                                        pct_start=cfg.warmup_fraction)
    weight = None
    if cfg.balance == "weights":
        counts = torch.bincount(train_labels, minlength=len(CLASS_NAMES)).clamp(min=1).float()
        weight = counts.sum() / (len(CLASS_NAMES) * counts)
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
    return model, optimizer, scheduler, loss_fn


@torch.inference_mode()
def infer(model: nn.Module, pixels: torch.Tensor, cfg: TrainConfig, batch_size: int = 256,
          show: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(features, logits) as numpy arrays for uint8 images, in eval mode."""
    model.eval()
    prep = cfg.preprocessing()
    features, logits = [], []
    for start in tqdm(range(0, len(pixels), batch_size), disable=not show, desc="inference", leave=False):
        f, lg = penultimate_features(model, normalize_batch(pixels[start:start + batch_size], prep))
        features.append(f.numpy())
        logits.append(lg.numpy())
    return np.concatenate(features), np.concatenate(logits)


def train_epoch(model, optimizer, scheduler, loss_fn, data: SplitArrays, cfg: TrainConfig, epoch: int,
                rank: int, world: int, show: bool) -> float:
    """One pass over ``samples_per_epoch`` balanced draws, sharded across ranks; returns the mean loss."""
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    draws = balanced_indices(data.labels, cfg.samples_per_epoch or len(data.labels), generator, cfg.balance)
    sampler = DistributedSampler(range(len(draws)), num_replicas=world, rank=rank, shuffle=False, drop_last=True)
    order = draws[list(iter(sampler))]
    augment = TrainAugment(strength=cfg.augment, hflip=cfg.hflip)
    prep = cfg.preprocessing()
    model.train()
    total, batches = 0.0, range(0, len(order) - cfg.batch_size + 1, cfg.batch_size)
    bar = tqdm(batches, disable=not show, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch")
    for count, start in enumerate(bar, 1):
        index = order[start:start + cfg.batch_size]
        images = augment(data.pixels[index].unsqueeze(1).float() / 255.0, generator=generator)
        inputs = normalize(images, prep).contiguous(memory_format=torch.channels_last)
        loss = loss_fn(model(inputs), data.labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item()
        bar.set_postfix(loss=f"{total / count:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
    return total / max(1, len(batches))


def steps_per_epoch(cfg: TrainConfig, n_train: int, world: int) -> int:
    return (cfg.samples_per_epoch or n_train) // world // cfg.batch_size


def run(cfg: TrainConfig) -> Path:
    """Train end to end; returns the path of the release checkpoint ``<out>/model.pt``."""
    rank, world = _init_distributed()
    show = rank == 0
    torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1) // world))
    seed_everything(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    splits, table = load_splits(cfg, show)
    model, optimizer, scheduler, loss_fn = build_training(
        cfg, splits["train"].labels, cfg.epochs * steps_per_epoch(cfg, len(splits["train"].labels), world))
    model = model.to(memory_format=torch.channels_last)  # ~15 % faster convolutions on CPU
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    state = {"epoch": 0, "best_auc": -1.0, "stale": 0, "history": []}
    if cfg.resume and (out / "last.pt").is_file():
        state = _load_resume(out / "last.pt", model, optimizer, scheduler)
        _stretch_schedule(scheduler, cfg.epochs * steps_per_epoch(cfg, len(splits["train"].labels), world))
    if show:
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    started = time.time() - sum(h["seconds"] for h in state["history"])
    for epoch in range(state["epoch"], cfg.epochs):
        began = time.time()
        loss = train_epoch(net, optimizer, scheduler, loss_fn, splits["train"], cfg, epoch, rank, world, show)
        _, val_logits = infer(model, splits["val"].pixels, cfg)
        val_prob = calibrate.apply_temperature(val_logits, 1.0)
        record = {"epoch": epoch + 1, "train_loss": loss, "val_macro_auc": metrics.macro_auc(splits["val"].labels.numpy(), val_prob),
                  "val_accuracy": float((val_prob.argmax(1) == splits["val"].labels.numpy()).mean()),
                  "lr": scheduler.get_last_lr()[0], "seconds": round(time.time() - began, 1)}
        improved = (record["val_macro_auc"] or 0) > state["best_auc"]
        state.update(epoch=epoch + 1, history=state["history"] + [record], stale=0 if improved else state["stale"] + 1,
                     best_auc=max(state["best_auc"], record["val_macro_auc"] or 0))
        if show:
            tqdm.write(json.dumps(record))
            with open(out / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps(record) + "\n")
            if improved:
                torch.save(model.state_dict(), out / "best_weights.pt")
            _save_resume(out / "last.pt", model, optimizer, scheduler, state)
        if state["stale"] >= cfg.patience:
            if show:
                tqdm.write(f"early stopping: no val macro-AUC gain for {cfg.patience} epochs")
            break
    if world > 1:
        dist.barrier()
    if show:
        model.load_state_dict(torch.load(out / "best_weights.pt", weights_only=True))
        finalize(model, cfg, splits, table, state, out, time.time() - started)
    if world > 1:
        dist.destroy_process_group()
    return out / "model.pt"


def finalize(model: nn.Module, cfg: TrainConfig, splits: dict[str, SplitArrays], table, state: dict,
             out: Path, seconds: float) -> Path:
    """Calibrate on val, fit OOD statistics, and write the release checkpoint ``model.pt``."""
    train_subset = torch.randperm(len(splits["train"].labels), generator=torch.Generator().manual_seed(cfg.seed))[:6000]
    train_features, _ = infer(model, splits["train"].pixels[train_subset], cfg, show=True)
    val_features, val_logits = infer(model, splits["val"].pixels, cfg, show=True)
    val_labels = splits["val"].labels.numpy()
    temperature = calibrate.fit_temperature(val_logits, val_labels)
    val_before = metrics.summary(val_labels, calibrate.apply_temperature(val_logits, 1.0), CLASS_NAMES)
    val_after = metrics.summary(val_labels, calibrate.apply_temperature(val_logits, temperature), CLASS_NAMES)
    meta = {
        "version": VERSION, "trained": True, "arch": cfg.arch, "preprocessing": cfg.preprocessing().to_dict(),
        "train_config": cfg.to_dict(), "data_summary": data_summary(table),
        "training": {"epochs_run": state["epoch"], "best_val_macro_auc": state["best_auc"],
                     "wall_time_seconds": round(seconds, 1), "history": state["history"]},
        "calibration": {"temperature": temperature, "fitted_on": "val",
                        "val_before": {k: val_before["calibration"][k] for k in ("ece", "nll")},
                        "val_after": {k: val_after["calibration"][k] for k in ("ece", "nll")}},
        "ood": ood.fit(train_features, splits["train"].labels[train_subset].numpy(), val_features),
        "metrics": {"val": {k: val_after[k] for k in ("accuracy", "macro_auc", "clinical")}},
    }
    save_checkpoint(out / "model.pt", model, meta)
    return out / "model.pt"


def _init_distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _stretch_schedule(scheduler, total_steps: int) -> None:
    """Let a resumed run end at the new config's last step (e.g. when --epochs was raised)."""
    if hasattr(scheduler, "total_steps"):
        scheduler.total_steps = max(scheduler.total_steps, total_steps)
    elif hasattr(scheduler, "T_max"):
        scheduler.T_max = max(scheduler.T_max, total_steps)


def _save_resume(path: Path, model, optimizer, scheduler, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "state": json.dumps(state)}, tmp)
    tmp.replace(path)


def _load_resume(path: Path, model, optimizer, scheduler) -> dict:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    return json.loads(saved["state"])
