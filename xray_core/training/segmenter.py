"""Train the lung U-Net on ``<data>/lungs``: decoded once, augmented in pairs, Dice + BCE, resumable.

Films and masks are squash-resized once to ``image_size`` (area interpolation, so mask edges become soft
targets between 0 and 1) and kept in memory as uint8. Each batch gets one random affine warp shared by film
and mask (rotation, scale, shift; no flip: the heart sits on the left) and a film-only gamma/contrast change.
The epoch kept is the one with the best Dice on ``lungs`` val at the network's size; ``external`` is only
measured, once, at the end (never used to choose). The run folder gets ``config.json``, ``metrics.jsonl``,
``last.pt`` (resume state, every epoch) and ``model.pt`` (the release checkpoint of the best epoch, with its
native-size val and external figures).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from xray_core.config import Preprocessing, default_data_dir
from xray_core.data.cache import cached_pixels
from xray_core.inference.lungs.segment import evaluate_segmenter, mask_pairs
from xray_core.models.preprocessing import normalize
from xray_core.models.unet import SegmenterMeta, UNet, count_parameters, read_segmenter, save_segmenter
from xray_core.training.config import SegmenterConfig

VERSION = "1.0"


def load_pairs(cfg: SegmenterConfig, split: str, show: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(films, masks) of one ``lungs`` split as (N, S, S) uint8 tensors, decoded once and cached on disk."""
    pairs = mask_pairs(cfg.data or default_data_dir(), "lungs")
    pairs = pairs[pairs["split"] == split]
    if cfg.limit:
        pairs = pairs.sample(n=min(cfg.limit, len(pairs)), random_state=cfg.seed)
    if pairs.empty:
        raise ValueError(f"no '{split}' pairs in lungs/manifest.csv; the segmenter needs train and val")
    films = cached_pixels(pairs, cfg.image_size, workers=1, progress=show)
    masks = cached_pixels(pd.DataFrame({"path": pairs["mask"]}), cfg.image_size, workers=1, progress=show)
    return torch.from_numpy(films), torch.from_numpy(masks)


def augment_pairs(
    films: torch.Tensor, masks: torch.Tensor, strength: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, S, S) floats in [0, 1]: one random affine per pair for both, gamma and contrast for films only."""
    if strength <= 0:
        return films, masks
    n = films.shape[0]
    draws = torch.rand(n, 7, generator=generator) * 2 - 1
    angle, scale = draws[:, 0] * math.radians(10) * strength, torch.exp(draws[:, 1] * math.log(1.1) * strength)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift = draws[:, 2:4] * 0.12 * strength  # ±6 % of the side (the side spans 2 in normalised units)
    theta = torch.stack([torch.stack([cos, sin, shift[:, 0]], 1), torch.stack([-sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, [n, 2, *films.shape[-2:]], align_corners=False)
    warped = F.grid_sample(
        torch.cat([films, masks], 1), grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    films, masks = warped[:, :1], warped[:, 1:]
    gamma = torch.exp(draws[:, 4] * math.log(1.4) * strength)[:, None, None, None]
    contrast = torch.exp(draws[:, 5] * math.log(1.15) * strength)[:, None, None, None]
    mean = films.mean(dim=(1, 2, 3), keepdim=True)
    films = (films.clamp(0, 1).pow(gamma) - mean) * contrast + mean + draws[:, 6, None, None, None] * 0.05 * strength
    return films.clamp(0, 1), masks.clamp(0, 1)


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """BCE-with-logits plus (1 - soft Dice) per image, averaged: BCE gives every pixel a gradient, Dice keeps
    the lung/background imbalance from mattering (Milletari et al., 3DV 2016). Shapes (N, 1, S, S)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    probability = torch.sigmoid(logits).flatten(1)
    target = target.flatten(1)
    overlap = (probability * target).sum(1)
    soft_dice = (2 * overlap + smooth) / (probability.sum(1) + target.sum(1) + smooth)
    return bce + (1 - soft_dice).mean()


@torch.inference_mode()
def validation_dice(
    model: UNet, films: torch.Tensor, masks: torch.Tensor, prep: Preprocessing, threshold: float, batch_size: int = 32
) -> float:
    """Mean Dice at the network's size (masks binarised at 0.5); cheap enough to run every epoch."""
    model.eval()
    scores = []
    for start in range(0, len(films), batch_size):
        batch = normalize(films[start : start + batch_size].float() / 255.0, prep)
        predicted = torch.sigmoid(model(batch.contiguous(memory_format=torch.channels_last))) >= threshold
        reference = masks[start : start + batch_size, None] >= 128
        overlap = (predicted & reference).flatten(1).sum(1).float()
        total = (predicted.flatten(1).sum(1) + reference.flatten(1).sum(1)).float()
        scores.append(torch.where(total > 0, 2 * overlap / total.clamp(min=1), torch.ones_like(total)))
    return float(torch.cat(scores).mean())


def _learning_rate(cfg: SegmenterConfig, step: int, total: int) -> float:
    warmup = max(1, int(cfg.warmup_fraction * total))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def train_epoch(
    model: UNet,
    optimizer: torch.optim.Optimizer,
    data: tuple[torch.Tensor, torch.Tensor],
    cfg: SegmenterConfig,
    epoch: int,
    total_steps: int,
    show: bool,
) -> float:
    """One shuffled pass over the train pairs (last partial batch dropped); returns the mean loss."""
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    films, masks = data
    order = torch.randperm(len(films), generator=generator)
    batches = range(0, len(order) - cfg.batch_size + 1, cfg.batch_size)
    prep, total = cfg.preprocessing(), 0.0
    model.train()
    bar = tqdm(batches, disable=not show, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch")
    for count, start in enumerate(bar, 1):
        index = order[start : start + cfg.batch_size]
        film, mask = augment_pairs(
            films[index, None].float() / 255, masks[index, None].float() / 255, cfg.augment, generator
        )
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(cfg, epoch * len(batches) + count - 1, total_steps)
        loss = dice_bce_loss(model(normalize(film, prep).contiguous(memory_format=torch.channels_last)), mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item()
        bar.set_postfix(loss=f"{total / count:.3f}")
    return total / max(1, len(batches))


def _meta(cfg: SegmenterConfig, state: dict[str, Any], sizes: dict[str, int], seconds: float) -> SegmenterMeta:
    best = state["best_epoch"]
    return SegmenterMeta(
        preprocessing=cfg.preprocessing(),
        channels=cfg.widths(),
        threshold=cfg.threshold,
        trained=True,
        version=f"{time.strftime('%Y.%m.%d')}-unet-{cfg.image_size}px-e{best}",
        train_config=cfg.to_dict(),
        metrics={"val_dice_at_input_size": state["best_score"], "selected_on": "lungs val Dice at input size"},
        training={
            "epochs_run": state["epoch"],
            "best_epoch": best,
            "wall_time_seconds": round(seconds, 1),
            "history": state["history"],
            "version": VERSION,
        },
        data_summary={"lungs": sizes},
    )


def run(cfg: SegmenterConfig, show: bool = True) -> Path:
    """Train end to end; returns the release checkpoint ``<out>/model.pt`` (best lungs-val epoch)."""
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    train, val = load_pairs(cfg, "train", show), load_pairs(cfg, "val", show)
    model = UNet(1, cfg.widths()).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "history": []}
    if cfg.resume and (out / "last.pt").is_file():
        state = _load_resume(out / "last.pt", model, optimizer)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    if show:
        tqdm.write(
            f"U-Net {cfg.widths()}: {count_parameters(model):,} parameters; {len(train[0])} train, "
            f"{len(val[0])} val pairs at {cfg.image_size}px"
        )
    total_steps = cfg.epochs * (len(train[0]) // cfg.batch_size)
    started = time.time() - sum(h["seconds"] for h in state["history"])
    sizes = {"train": len(train[0]), "val": len(val[0])}
    for epoch in range(state["epoch"], cfg.epochs):
        began = time.time()
        loss = train_epoch(model, optimizer, train, cfg, epoch, total_steps, show)
        score = validation_dice(model, *val, cfg.preprocessing(), cfg.threshold)
        record = {
            "epoch": epoch + 1,
            "train_loss": round(loss, 5),
            "val_dice": round(score, 5),
            "seconds": round(time.time() - began, 1),
        }
        state.update(epoch=epoch + 1, history=[*state["history"], record])
        if score > state["best_score"]:
            state.update(best_score=score, best_epoch=epoch + 1)
            save_segmenter(out / "model.pt", model, _meta(cfg, state, sizes, time.time() - started))
        with open(out / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state}, out / "last.pt")
        if show:
            tqdm.write(json.dumps(record))
    return finalize(cfg, out, state, sizes, time.time() - started, show)


def finalize(
    cfg: SegmenterConfig, out: Path, state: dict[str, Any], sizes: dict[str, int], seconds: float, show: bool
) -> Path:
    """Measure the kept epoch at native size on lungs val (and external) and re-sign ``model.pt`` with it."""
    loaded = read_segmenter(out / "model.pt")
    data_dir = cfg.data or default_data_dir()
    sections = {"val": mask_pairs(data_dir, "lungs").query("split == 'val'")}
    if cfg.external and (Path(data_dir) / "external").is_dir():
        sections["external"] = mask_pairs(data_dir, "external")
    if cfg.limit:
        sections = {name: pairs.head(cfg.limit) for name, pairs in sections.items()}
    measured = {name: evaluate_segmenter(loaded, pairs, show)["summary"] for name, pairs in sections.items()}
    meta = _meta(cfg, state, sizes, seconds)
    meta = meta.replace(
        metrics={**meta.metrics, **measured},
        data_summary={"lungs": sizes, "measured": {name: len(pairs) for name, pairs in sections.items()}},
    )
    save_segmenter(out / "model.pt", loaded.model, meta)
    if show:
        brief = {name: {k: v for k, v in s.items() if k != "by_age_group"} for name, s in measured.items()}
        tqdm.write(json.dumps(brief))
    return out / "model.pt"


def _load_resume(path: Path, model: UNet, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    return saved["state"]


__all__ = ["augment_pairs", "dice_bce_loss", "load_pairs", "run", "validation_dice"]
