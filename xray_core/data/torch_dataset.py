"""The PyTorch view of a dataset table: rows become ``(tensor, label_index)`` pairs for a ``DataLoader``.

Kept apart from :mod:`xray_core.data.dataset` because importing torch takes seconds: loading, counting and
scanning tables stays torch-free, and ``xray_core.data.dataset.XrayDataset`` imports this module on first use.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch.utils.data import Dataset

from xray_core.config import LABELS, Preprocessing
from xray_core.io.reader import read_image
from xray_core.models.preprocessing import to_tensor


class XrayDataset(Dataset):
    """Rows of a :func:`~xray_core.data.dataset.load_dataset` table as ``(tensor (C, S, S) float32, label_index int)``.

    ``label_index`` indexes :data:`LABELS`: 0-3 are the classes, 4 the partial label ``pneumonia``.

    ``transform`` (e.g. :class:`~xray_core.models.preprocessing.TrainAugment`) receives a ``(1, 1, S, S)``
    float batch in [0, 1] before normalisation.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        preprocessing: Preprocessing,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        unknown = sorted(set(table["label"]) - set(LABELS))
        if unknown:
            raise ValueError(f"Labels {unknown} are not canonical; expected {', '.join(LABELS)}")
        self.paths = [str(p) for p in table["path"]]
        self.labels = [LABELS.index(label) for label in table["label"]]
        self.preprocessing = preprocessing
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = read_image(self.paths[index])
        return to_tensor(image.pixels, self.preprocessing, transform=self.transform), self.labels[index]


__all__ = ["XrayDataset"]
