"""The arrays training works on: train, val and (when present) external films decoded once at the run's size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from xray_core.config import LABELS, default_data_dir
from xray_core.data.dataset import load_dataset
from xray_core.inference.crop import lung_squares, model_squares
from xray_core.models.networks import penultimate_features
from xray_core.models.preprocessing import normalize_batch
from xray_core.training.config import TrainConfig
from xray_core.training.objectives import cell_codes


@dataclass
class SplitArrays:
    pixels: torch.Tensor  # (N, S, S) uint8
    labels: torch.Tensor  # (N,) int64 indices into LABELS (4 = partial 'pneumonia')
    groups: list[str]  # age group per image ('' when unknown)
    lungs: torch.Tensor | None = None  # (N, S, S) bool lung masks in the model's square (lung-attention runs)

    @property
    def cells(self) -> torch.Tensor:
        """(N,) int64 code of each image's age group x label cell."""
        return torch.from_numpy(cell_codes(self.groups, self.labels.tolist()))


def _external_table(cfg: TrainConfig) -> pd.DataFrame | None:
    if not cfg.external:
        return None
    path = Path(cfg.data or default_data_dir()) / "external" if cfg.external == "auto" else Path(cfg.external)
    if cfg.external == "auto" and not path.exists():
        return None
    return load_dataset(path).assign(split="external")


def _arrays(part: pd.DataFrame, cfg: TrainConfig, show: bool, lungs: bool = False) -> SplitArrays:
    prep = cfg.preprocessing()
    masks = torch.from_numpy(lung_squares(part, prep, progress=show)) if lungs else None  # boxes cached first
    pixels = model_squares(part, prep, workers=cfg.workers, progress=show)
    labels = torch.as_tensor([LABELS.index(label) for label in part["label"]])
    groups = part["age_group"].fillna("").astype(str).tolist() if "age_group" in part else [""] * len(part)
    return SplitArrays(torch.from_numpy(pixels), labels, groups, masks)


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
            part = pd.concat(
                [g.sample(min(len(g), per_label), random_state=cfg.seed) for _, g in part.groupby("label")]
            )
        if part.empty:
            raise ValueError(f"the dataset has no '{split}' images; training needs train and val splits")
        splits[split] = _arrays(part, cfg, show, lungs=split == "train" and cfg.lung_attention > 0)
    return splits, table[table["split"].isin(["train", "val"])]


@torch.inference_mode()
def infer(
    model: nn.Module, pixels: torch.Tensor, cfg: TrainConfig, batch_size: int = 256, show: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(features, logits) as numpy arrays for uint8 images, in eval mode."""
    model.eval()
    prep = cfg.preprocessing()
    features, logits = [], []
    for start in tqdm(range(0, len(pixels), batch_size), disable=not show, desc="inference", leave=False):
        f, lg = penultimate_features(model, normalize_batch(pixels[start : start + batch_size], prep))
        features.append(f.numpy())
        logits.append(lg.numpy())
    return np.concatenate(features), np.concatenate(logits)
