"""Penultimate features of a dataset table's films: what the shortcut audit probes and the similar-case index holds.

Here, below ``explain`` and ``evaluation``, so inference-level modules (the similar-case index) can use it too;
the shortcut audit (:mod:`xray_core.evaluation.shortcuts`) imports it from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from xray_core.inference.lungs.crop import model_squares
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.networks import penultimate_features
from xray_core.models.preprocessing import normalize_batch


def features_and_logits(
    loaded: LoadedModel, table: pd.DataFrame, batch_size: int = 128, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) penultimate features and (N, K) raw logits of ``table``'s films at the checkpoint's input size."""
    prep = loaded.preprocessing
    pixels = torch.from_numpy(model_squares(table, prep, progress=progress))
    feats, logits = [], []
    with torch.inference_mode():
        starts = range(0, len(pixels), batch_size)
        for start in tqdm(starts, desc="features", unit="batch", disable=not progress, total=len(starts)):
            f, lg = penultimate_features(loaded.model, normalize_batch(pixels[start : start + batch_size], prep))
            feats.append(f.numpy())
            logits.append(lg.numpy())
    if not feats:
        return np.zeros((0, 0)), np.zeros((0, len(loaded.class_names)))
    return np.concatenate(feats), np.concatenate(logits)


__all__ = ["features_and_logits"]
