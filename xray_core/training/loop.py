"""Training: group-balanced, augmented, one-cycle ResNet training on decoded-once images.

Draws are balanced over age group x label cells, partial labels (``pneumonia``) train the sum of their
members, a weight average (EMA) is what gets validated, and the epoch kept is the one with the best
selection score over validation *and* the external set, worst group included (see :func:`select`).

Runs as a single process or under ``torchrun --nproc_per_node=N`` (DDP; gloo
on CPU, nccl on GPU). The run folder gets ``config.json``, ``metrics.jsonl``
(one line per epoch), ``last.pt`` (resumable state) and ``model.pt`` (the
release checkpoint of the best epoch, calibrated, with OOD statistics).
"""

from __future__ import annotations

import json
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
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from xray_core.config import CLASS_NAMES, LABELS, default_data_dir
from xray_core.data.cache import cached_pixels
from xray_core.data.dataset import data_summary, load_dataset
from xray_core.evaluation import metrics
from xray_core.inference import calibration as calibrate
from xray_core.inference import input_checks, ood
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import save_checkpoint
from xray_core.models.meta import CheckpointMeta
from xray_core.models.networks import build_model, freeze_stages, imagenet_init, load_init_weights, penultimate_features
from xray_core.models.preprocessing import TrainAugment, normalize, normalize_batch
from xray_core.training.config import TrainConfig
from xray_core.training.objectives import balanced_draws, cell_codes, partial_label_loss

VERSION = "1.0"


@dataclass
class SplitArrays:
    pixels: torch.Tensor  # (N, S, S) uint8
    labels: torch.Tensor  # (N,) int64 indices into LABELS (4 = partial 'pneumonia')
    groups: list[str]  # age group per image ('' when unknown)

    @property
    def cells(self) -> torch.Tensor:
        """(N,) int64 code of each image's age group x label cell."""
        return torch.from_numpy(cell_codes(self.groups, self.labels.tolist()))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _external_table(cfg: TrainConfig) -> pd.DataFrame | None:
    if not cfg.external:
        return None
    path = Path(cfg.data or default_data_dir()) / "external" if cfg.external == "auto" else Path(cfg.external)
    if cfg.external == "auto" and not path.exists():
        return None
    return load_dataset(path).assign(split="external")


def _arrays(part: pd.DataFrame, cfg: TrainConfig, show: bool) -> SplitArrays:
    pixels = cached_pixels(part, cfg.image_size, workers=cfg.workers, progress=show)
    labels = torch.as_tensor([LABELS.index(label) for label in part["label"]])
    groups = part["age_group"].fillna("").astype(str).tolist() if "age_group" in part else [""] * len(part)
    return SplitArrays(torch.from_numpy(pixels), labels, groups)


def load_splits(cfg: TrainConfig, show: bool) -> tuple[dict[str, SplitArrays], Any]:
    """Train, val (and external, when present) as uint8 tensors at the configured size (decoded once, cached)."""
    table = load_dataset(cfg.data or default_data_dir())
    parts = {split: table[table["split"] == split] for split in ("train", "val")}
    external = _external_table(cfg)
    if external is not None:
        parts["external"] = external
    splits = {}
    for split, part in parts.items():
        if cfg.limit:
            per_label = max(1, cfg.limit // len(LABELS))
            part = pd.concat([g.sample(min(len(g), per_label), random_state=cfg.seed) for _, g in part.groupby("label")])
        if part.empty:
            raise ValueError(f"the dataset has no '{split}' images; training needs train and val splits")
        splits[split] = _arrays(part, cfg, show)
    return splits, table[table["split"].isin(["train", "val"])]


def epoch_draws(data: SplitArrays, count: int, generator: torch.Generator, cfg: TrainConfig) -> torch.Tensor:
    """Indices for one epoch: balanced over age group x label cells, over labels only, or a plain shuffle."""
    if cfg.balance == "groups":
        return balanced_draws(data.cells, count, generator, cfg.min_cell)
    if cfg.balance == "classes":
        return balanced_draws(data.labels, count, generator, cfg.min_cell)
    if cfg.balance == "none":
        return torch.randperm(len(data.labels), generator=generator)[:count]
    raise ValueError(f"Unknown balance {cfg.balance!r}; expected groups, classes or none")


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
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(2, steps),
                                                        pct_start=cfg.warmup_fraction)
    return model, optimizer, scheduler


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


def train_epoch(model, optimizer, scheduler, average: AveragedModel | None, data: SplitArrays, cfg: TrainConfig,
                epoch: int, rank: int, world: int, show: bool) -> float:
    """One pass over ``samples_per_epoch`` balanced draws, sharded across ranks; returns the mean loss."""
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    draws = epoch_draws(data, cfg.samples_per_epoch or len(data.labels), generator, cfg)
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
        loss = partial_label_loss(model(inputs), data.labels[index], cfg.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if average is not None:
            average.update_parameters(model)
        total += loss.item()
        bar.set_postfix(loss=f"{total / count:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
    return total / max(1, len(batches))


def steps_per_epoch(cfg: TrainConfig, n_train: int, world: int) -> int:
    return (cfg.samples_per_epoch or n_train) // world // cfg.batch_size


def evaluate_epoch(model: nn.Module, splits: dict[str, SplitArrays], cfg: TrainConfig) -> dict[str, Any]:
    """Key figures on val and external plus recall per age group x label cell; the selection score.

    ``selection`` = ½ · mean(val macro AUC, val adult pneumonia-vs-normal AUC, external pneumonia-vs-normal AUC,
    external bacterial-vs-viral AUC) + ½ · the worst cell's recall (cells of ≥ 20 films in val or external).
    AUCs reward ranking, the worst recall rewards an operating point that fails no group.
    """
    record: dict[str, Any] = {}
    aucs, cells = [], {}
    for name in ("val", "external"):
        if name not in splits:
            continue
        data = splits[name]
        _, logits = infer(model, data.pixels, cfg)
        prob, labels = calibrate.apply_temperature(logits, 1.0), data.labels.numpy()
        result = metrics.summary(labels, prob, CLASS_NAMES)
        adult = np.asarray(data.groups) == "adult"
        figures = {"macro_auc": result["macro_auc"], "accuracy": result["accuracy"],
                   "pneumonia_auc": result["clinical"]["pneumonia_vs_normal_auc"],
                   "bacterial_viral_auc": result["clinical"]["bacterial_vs_viral_auc"],
                   "adult_pneumonia_auc": metrics.clinical_groupings(labels[adult], prob[adult],
                                                                     CLASS_NAMES)["pneumonia_vs_normal_auc"]}
        record.update({f"{name}_{key}": value for key, value in figures.items()})
        wanted = ("macro_auc", "adult_pneumonia_auc") if name == "val" else ("pneumonia_auc", "bacterial_viral_auc")
        aucs += [figures[key] for key in wanted if figures[key] is not None]
        for cell, value in metrics.cell_recalls(labels, prob, data.groups, LABELS, min_count=20).items():
            cells[f"{name}:{cell}"] = value["recall"]
    worst = min(cells, key=cells.get) if cells else None
    record.update(cell_recall=cells, worst_cell=worst, worst_recall=cells.get(worst) if worst else None)
    record["selection"] = 0.5 * float(np.mean(aucs) if aucs else 0.0) + 0.5 * (record["worst_recall"] or 0.0)
    return record


def _averaged(model: nn.Module, cfg: TrainConfig) -> AveragedModel | None:
    if not cfg.ema:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)


def run(cfg: TrainConfig) -> Path:
    """Train end to end; returns the path of the release checkpoint ``<out>/model.pt``."""
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
        _stretch_schedule(scheduler, total_steps)
    if show:
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    started = time.time() - sum(h["seconds"] for h in state["history"])
    for epoch in range(state["epoch"], cfg.epochs):
        began = time.time()
        loss = train_epoch(net, optimizer, scheduler, average, splits["train"], cfg, epoch, rank, world, show)
        validated = average.module if average is not None else model
        record = {"epoch": epoch + 1, "train_loss": loss, **evaluate_epoch(validated, splits, cfg),
                  "lr": scheduler.get_last_lr()[0], "seconds": round(time.time() - began, 1)}
        improved = record["selection"] > state["best_score"]
        state.update(epoch=epoch + 1, history=state["history"] + [record], stale=0 if improved else state["stale"] + 1)
        if improved:
            state.update(best_score=record["selection"], best_epoch=epoch + 1)
        if show:
            tqdm.write(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()
                                   if k != "cell_recall"}))
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


def finalize(model: nn.Module, cfg: TrainConfig, splits: dict[str, SplitArrays], table, state: dict,
             out: Path, seconds: float) -> Path:
    """Calibrate on val and external, fit OOD statistics, and write the release checkpoint ``model.pt``."""
    train_subset = torch.randperm(len(splits["train"].labels), generator=torch.Generator().manual_seed(cfg.seed))[:6000]
    train_features, _ = infer(model, splits["train"].pixels[train_subset], cfg, show=True)
    val_features, val_logits = infer(model, splits["val"].pixels, cfg, show=True)
    fitted = {"val": (val_logits, splits["val"].labels.numpy())}
    if "external" in splits:
        fitted["external"] = (infer(model, splits["external"].pixels, cfg)[1], splits["external"].labels.numpy())
    temperature = calibrate.fit_temperature_worst_ece(list(fitted.values()), n_classes=len(CLASS_NAMES))
    calibration = {"temperature": temperature, "fitted_on": "+".join(fitted),
                   "rule": "minimise the larger ECE of the sets it was fitted on"}
    for name, (logits, labels) in fitted.items():
        for when, t in (("before", 1.0), ("after", temperature)):
            result = metrics.summary(labels, calibrate.apply_temperature(logits, t), CLASS_NAMES)
            calibration[f"{name}_{when}"] = {k: result["calibration"][k] for k in ("ece", "nll")}
    val_after = metrics.summary(fitted["val"][1], calibrate.apply_temperature(val_logits, temperature), CLASS_NAMES)
    meta = CheckpointMeta(
        arch=cfg.arch, preprocessing=cfg.preprocessing(), version=_version(cfg, state), trained=True,
        temperature=temperature, calibration=calibration, train_config=cfg.to_dict(), data_summary=data_summary(table),
        training={"epochs_run": state["epoch"], "best_epoch": state["best_epoch"],
                  "best_selection_score": state["best_score"], "wall_time_seconds": round(seconds, 1),
                  "history": state["history"]},
        ood=ood.fit(train_features, splits["train"].labels[train_subset].numpy(), val_features),
        input_stats=fit_input_stats(table, cfg.seed),
        metrics={"val": {k: val_after[k] for k in ("accuracy", "macro_auc", "clinical")}},
    )
    save_checkpoint(out / "model.pt", model, meta)
    return out / "model.pt"


def fit_input_stats(table: pd.DataFrame, seed: int, n_train: int = 5000) -> dict[str, Any]:
    """Image-level refusal statistics from the original files: up to ``n_train`` train films, threshold on val."""
    train = table[table["split"] == "train"]
    train = train.sample(n=min(n_train, len(train)), random_state=seed)
    val = table[table["split"] == "val"]
    stats = input_checks.fit((read_image(p).pixels for p in train["path"]), (read_image(p).pixels for p in val["path"]))
    return {**stats, "fitted_on": {"train": int(len(train)), "val": int(len(val))}}


def _version(cfg: TrainConfig, state: dict) -> str:
    """A version per trained model: date, arch, size and the epoch kept (the weights hash identifies it exactly)."""
    return f"{time.strftime('%Y.%m.%d')}-{cfg.arch}-{cfg.image_size}px-e{state['best_epoch']}"


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


def _save_resume(path: Path, model, optimizer, scheduler, average, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "state": json.dumps(state),
                "average": average.state_dict() if average is not None else {}}, tmp)
    tmp.replace(path)


def _load_resume(path: Path, model, optimizer, scheduler, average) -> dict:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    if average is not None and saved.get("average"):
        average.load_state_dict(saved["average"])
    return json.loads(saved["state"])
