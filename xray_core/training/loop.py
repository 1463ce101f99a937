"""Training: group-balanced, augmented, one-cycle ResNet training on decoded-once images.

Draws are balanced over age group x label cells, partial labels (``pneumonia``) train the sum of their
members, a weight average (EMA) is what gets validated, and the epoch kept is the one with the best
selection score over validation *and* the external set, worst group included
(:func:`xray_core.training.selection.evaluate_epoch`).

Runs as a single process or under ``torchrun --nproc_per_node=N`` (DDP over gloo).
Training is CPU only: the model and batches stay on the CPU, so a CUDA machine trains on its
CPU cores too (nccl would need them on the GPU). The run folder gets ``config.json``, ``metrics.jsonl``
(one line per epoch), ``last.pt`` (resumable state) and ``model.pt`` (the
release checkpoint of the best epoch, calibrated, with OOD statistics).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from xray_core.files import atomic_path
from xray_core.models.networks import build_model, cam_target_layers, freeze_stages, imagenet_init, load_init_weights
from xray_core.models.preprocessing import TrainAugment, normalize
from xray_core.training.attention import LayerTap, lung_attention_step
from xray_core.training.config import TrainConfig
from xray_core.training.objectives import balanced_draws, partial_label_loss
from xray_core.training.release import finalize
from xray_core.training.selection import evaluate_epoch
from xray_core.training.splits import SplitArrays, load_splits


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_draws(data: SplitArrays, count: int, generator: torch.Generator, cfg: TrainConfig) -> torch.Tensor:
    """Indices for one epoch: balanced over age group x label cells, over labels only, or a plain shuffle."""
    if cfg.balance == "groups":
        return balanced_draws(data.cells, count, generator, cfg.min_cell)
    if cfg.balance == "sources":
        return balanced_draws(data.cells, count, generator, cfg.min_cell, data.source_codes)
    if cfg.balance == "classes":
        return balanced_draws(data.labels, count, generator, cfg.min_cell)
    if cfg.balance == "none":
        return torch.randperm(len(data.labels), generator=generator)[:count]
    raise ValueError(f"Unknown balance {cfg.balance!r}; expected groups, sources, classes or none")


def build_training(cfg: TrainConfig, steps: int) -> tuple[nn.Module, Any, Any]:
    """Model (with optional init and freezing), optimizer and schedule for ``steps`` optimizer steps."""
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
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=max(2, steps), pct_start=cfg.warmup_fraction
        )
    return model, optimizer, scheduler


def train_epoch(
    model,
    optimizer,
    scheduler,
    average: AveragedModel | None,
    data: SplitArrays,
    cfg: TrainConfig,
    epoch: int,
    rank: int,
    world: int,
    show: bool,
) -> dict[str, float]:
    """One pass over ``samples_per_epoch`` balanced draws, sharded across ranks: the mean loss and, in a
    lung-attention run, the mean share of the training maps outside the lungs (before the penalty's weight)."""
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    draws = epoch_draws(data, cfg.samples_per_epoch or len(data.labels), generator, cfg)
    sampler = DistributedSampler(range(len(draws)), num_replicas=world, rank=rank, shuffle=False, drop_last=True)
    order = draws[list(iter(sampler))]
    augment = TrainAugment(strength=cfg.augment, hflip=cfg.hflip, processing=cfg.processing)
    prep = cfg.preprocessing()
    model.train()
    tap = LayerTap(cam_target_layers(_unwrapped(model), cfg.attention_layer)[0]) if cfg.lung_attention else None
    total, outside, batches = 0.0, 0.0, range(0, len(order) - cfg.batch_size + 1, cfg.batch_size)
    bar = tqdm(batches, disable=not show, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch")
    for count, start in enumerate(bar, 1):
        index = order[start : start + cfg.batch_size]
        lungs = data.lungs[index].unsqueeze(1).float() if tap is not None else None  # loaded for attention runs
        images, lungs = augment.with_masks(data.pixels[index].unsqueeze(1).float() / 255.0, lungs, generator)
        inputs = normalize(images, prep).contiguous(memory_format=torch.channels_last)
        if tap is None:
            loss = partial_label_loss(model(inputs), data.labels[index], cfg.label_smoothing)
        else:
            logits, share = lung_attention_step(model, tap, inputs, data.labels[index], lungs[:, 0])
            share = share.mean()
            loss = partial_label_loss(logits, data.labels[index], cfg.label_smoothing) + cfg.lung_attention * share
            outside += share.item()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if average is not None:
            average.update_parameters(model)
        total += loss.item()
        shown = {"outside": f"{outside / count:.3f}"} if tap is not None else {}
        bar.set_postfix(loss=f"{total / count:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}", **shown)
    steps = max(1, len(batches))
    if tap is None:
        return {"train_loss": total / steps}
    tap.remove()
    return {"train_loss": total / steps, "train_lung_outside": outside / steps}


def _unwrapped(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net


def steps_per_epoch(cfg: TrainConfig, n_train: int, world: int) -> int:
    return (cfg.samples_per_epoch or n_train) // world // cfg.batch_size


def _averaged(model: nn.Module, cfg: TrainConfig) -> AveragedModel | None:
    if not cfg.ema:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)


def run(cfg: TrainConfig) -> Path:
    """Train end to end; returns the path of the release checkpoint ``<out>/model.pt``."""
    if cfg.lung_attention and cfg.crop != "lungs":
        raise ValueError("--lung-attention needs --crop lungs (the penalty is held to the crop's lung masks)")
    rank, world = _init_distributed()
    show = rank == 0
    torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1) // world))
    seed_everything(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    splits, table = load_splits(cfg, show)
    total_steps = cfg.epochs * steps_per_epoch(cfg, len(splits["train"].labels), world)
    model, optimizer, scheduler = build_training(cfg, total_steps)
    model = model.to(memory_format=torch.channels_last)  # ~15 % faster convolutions on CPU
    average = _averaged(model, cfg)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    state = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "stale": 0, "history": []}
    if cfg.resume and (out / "last.pt").is_file():
        state = _load_resume(out / "last.pt", model, optimizer, scheduler, average)
    if show:
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    started = time.time() - sum(h["seconds"] for h in state["history"])
    for epoch in range(state["epoch"], cfg.epochs):
        began = time.time()
        trained = train_epoch(net, optimizer, scheduler, average, splits["train"], cfg, epoch, rank, world, show)
        validated = average.module if average is not None else model
        record = {
            "epoch": epoch + 1,
            **trained,
            **evaluate_epoch(validated, splits, cfg),
            "lr": scheduler.get_last_lr()[0],
            "seconds": round(time.time() - began, 1),
        }
        improved = record["selection"] > state["best_score"]
        state.update(epoch=epoch + 1, history=state["history"] + [record], stale=0 if improved else state["stale"] + 1)
        if improved:
            state.update(best_score=record["selection"], best_epoch=epoch + 1)
        if show:
            tqdm.write(
                json.dumps(
                    {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items() if k != "cell_recall"}
                )
            )
            with open(out / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps(record) + "\n")
            if improved:
                torch.save(validated.state_dict(), out / "best_weights.pt")
            _save_resume(out / "last.pt", model, optimizer, scheduler, average, state)
        if state["stale"] >= cfg.patience:
            if show:
                tqdm.write(f"early stopping: no selection-score gain for {cfg.patience} epochs")
            break
    if world > 1:
        dist.barrier()
    if show:
        model.load_state_dict(torch.load(out / "best_weights.pt", weights_only=True))
        finalize(model, cfg, splits, table, state, out, time.time() - started)
    if world > 1:
        dist.destroy_process_group()
    return out / "model.pt"


def _init_distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")  # CPU tensors only (module docstring)
    return (dist.get_rank(), world) if world > 1 else (0, 1)


_SCHEDULE_SHAPE = ("total_steps", "_schedule_phases", "T_max")  # what this run's config decides, not the saved run


def _resume_schedule(scheduler, saved: dict) -> None:
    """Continue a saved schedule at its step, on the shape built for this run's total steps.

    OneCycleLR fixes its phase boundaries at construction; loading only the saved position onto the freshly built
    shape makes a run resumed with more epochs anneal to its new last step, as if configured so from the start
    (raising ``total_steps`` alone leaves the old boundaries, and past them the LR climbs back up)."""
    shape = {key: value for key, value in scheduler.state_dict().items() if key in _SCHEDULE_SHAPE}
    scheduler.load_state_dict({**saved, **shape})


def _save_resume(path: Path, model, optimizer, scheduler, average, state: dict) -> None:
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": json.dumps(state),
        "average": average.state_dict() if average is not None else {},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _load_resume(path: Path, model, optimizer, scheduler, average) -> dict:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    _resume_schedule(scheduler, saved["scheduler"])
    if average is not None and saved.get("average"):
        average.load_state_dict(saved["average"])
    return json.loads(saved["state"])
