"""The release checkpoint of a run: calibrated on val and both external sets, with refusal statistics and history."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from xray_core.config import CLASS_NAMES
from xray_core.data.dataset import data_summary
from xray_core.evaluation import metrics
from xray_core.inference import input_checks, ood
from xray_core.inference.calibration import apply_temperature
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import save_checkpoint
from xray_core.models.meta import CheckpointMeta
from xray_core.models.records import InputStats
from xray_core.training import operating_point
from xray_core.training.config import TrainConfig
from xray_core.training.operating_point import LogitSet
from xray_core.training.splits import EXTERNAL_SETS, SplitArrays, infer


def finalize(
    model: nn.Module, cfg: TrainConfig, splits: dict[str, SplitArrays], table, state: dict, out: Path, seconds: float
) -> Path:
    """Operating point and temperature on val and the external sets, OOD and image statistics; writes ``model.pt``."""
    train_subset = torch.randperm(len(splits["train"].labels), generator=torch.Generator().manual_seed(cfg.seed))[:6000]
    train_features, _ = infer(model, splits["train"].pixels[train_subset], cfg, show=True)
    val_features, val_logits = infer(model, splits["val"].pixels, cfg, show=True)
    sets = {"val": LogitSet(val_logits, splits["val"].labels.numpy(), splits["val"].groups)}
    for name in (name for name in EXTERNAL_SETS if name in splits):
        external = splits[name]
        sets[name] = LogitSet(infer(model, external.pixels, cfg)[1], external.labels.numpy(), external.groups)
    sets, operating = operating_point.apply(model, sets)
    temperature, calibration = operating_point.calibrate(sets)
    val_after = metrics.summary(sets["val"].labels, apply_temperature(sets["val"].logits, temperature), CLASS_NAMES)
    meta = CheckpointMeta(
        arch=cfg.arch,
        preprocessing=cfg.preprocessing(),
        version=_version(cfg, state),
        trained=True,
        temperature=temperature,
        calibration=calibration,
        operating_point=operating,
        train_config=cfg.to_dict(),
        data_summary=data_summary(table),
        training={
            "epochs_run": state["epoch"],
            "best_epoch": state["best_epoch"],
            "best_selection_score": state["best_score"],
            "wall_time_seconds": round(seconds, 1),
            "history": state["history"],
        },
        ood=ood.fit(train_features, splits["train"].labels[train_subset].numpy(), val_features),
        input_stats=fit_input_stats(table, cfg.seed),
        metrics={"val": {k: val_after[k] for k in ("accuracy", "macro_auc", "clinical")}},
    )
    save_checkpoint(out / "model.pt", model, meta)
    return out / "model.pt"


def fit_input_stats(table: pd.DataFrame, seed: int, n_train: int = 5000) -> InputStats:
    """Image-level refusal statistics from the original files: up to ``n_train`` train films, threshold on val."""
    train = table[table["split"] == "train"]
    train = train.sample(n=min(n_train, len(train)), random_state=seed)
    val = table[table["split"] == "val"]
    stats = input_checks.fit((read_image(p).pixels for p in train["path"]), (read_image(p).pixels for p in val["path"]))
    fitted_on = {"train": int(len(train)), "val": int(len(val))}
    return dataclasses.replace(stats, detail={**stats.detail, "fitted_on": fitted_on})


def _version(cfg: TrainConfig, state: dict) -> str:
    """A version per trained model: date, arch, size and the epoch kept (the weights hash identifies it exactly)."""
    return f"{time.strftime('%Y.%m.%d')}-{cfg.arch}-{cfg.image_size}px-e{state['best_epoch']}"
