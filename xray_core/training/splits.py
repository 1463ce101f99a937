"""The arrays training works on: train, val and (when present) both external sets, decoded once at the run's size."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from xray_core.config import LABELS, default_data_dir
from xray_core.data.dataset import load_dataset
from xray_core.inference.lungs.crop import lung_squares, model_squares
from xray_core.models.networks import penultimate_features
from xray_core.models.preprocessing import normalize_batch
from xray_core.training.config import TrainConfig
from xray_core.training.objectives import cell_codes

EXTERNAL_SETS = ("external", "external_adult")  # held-out sets for selection and operating points, never trained on


@dataclass
class SplitArrays:
    pixels: torch.Tensor  # (N, S, S) uint8
    labels: torch.Tensor  # (N,) int64 indices into LABELS (4 = partial 'pneumonia')
    groups: list[str]  # age group per image ('' when unknown)
    lungs: torch.Tensor | None = None  # (N, S, S) bool lung masks in the model's square (lung-attention runs)
    sources: list[str] = field(default_factory=list)  # source family per image (patient-id namespace, '' unknown)

    @property
    def cells(self) -> torch.Tensor:
        """(N,) int64 code of each image's age group x label cell."""
        return torch.from_numpy(cell_codes(self.groups, self.labels.tolist()))

    @property
    def source_codes(self) -> torch.Tensor:
        """(N,) int64 code of each image's source family."""
        return torch.from_numpy(cell_codes(self.sources or [""] * len(self.labels)))


def source_families(part: pd.DataFrame) -> list[str]:
    """The namespace of each film's patient id (``nih``, ``kermany``, ``ieee8023``...; '' where none is given):
    copies of one public set in several repositories are one family, unlike the ``source`` column."""
    ids = part["patient_id"].fillna("").astype(str) if "patient_id" in part else pd.Series([""] * len(part))
    return [value.split(":", 1)[0] if ":" in value else "" for value in ids]


def _external_table(cfg: TrainConfig, name: str) -> pd.DataFrame | None:
    """``external`` or ``external_adult``: the config's path, or ``<data>/<name>`` for 'auto' when it exists."""
    setting = getattr(cfg, name)
    if not setting:
        return None
    path = Path(cfg.data or default_data_dir()) / name if setting == "auto" else Path(setting)
    if setting == "auto" and not path.exists():
        return None
    return load_dataset(path).assign(split=name)


def _arrays(part: pd.DataFrame, cfg: TrainConfig, show: bool, lungs: bool = False) -> SplitArrays:
    prep = cfg.preprocessing()
    masks = torch.from_numpy(lung_squares(part, prep, progress=show)) if lungs else None  # boxes cached first
    pixels = model_squares(part, prep, workers=cfg.workers, progress=show)
    labels = torch.as_tensor([LABELS.index(label) for label in part["label"]])
    groups = part["age_group"].fillna("").astype(str).tolist() if "age_group" in part else [""] * len(part)
    return SplitArrays(torch.from_numpy(pixels), labels, groups, masks, source_families(part))


def load_splits(cfg: TrainConfig, show: bool) -> tuple[dict[str, SplitArrays], Any]:
    """Train, val (and both external sets, when present) as uint8 tensors at the configured size (decoded once,
    cached). External films are only ever scored, never drawn for training."""
    table = load_dataset(cfg.data or default_data_dir())
    parts = {split: table[table["split"] == split] for split in ("train", "val")}
    for name in EXTERNAL_SETS:
        external = _external_table(cfg, name)
        if external is not None:
            parts[name] = external
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
