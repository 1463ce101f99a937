"""Project-wide constants every layer shares: the label set, titles and colours, paths, and :class:`Preprocessing`.

Everything numeric that describes how an image becomes a tensor lives in :class:`Preprocessing`, a frozen
dataclass that round-trips through a plain JSON-able dict so it travels in checkpoints. Training runs are
described by :class:`xray_core.training.config.TrainConfig`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The four canonical labels, in the order of the model's output units.
CLASS_NAMES: tuple[str, ...] = ("normal", "bacterial", "viral", "covid")

#: Partial labels: the film belongs to one of these classes, which one is unknown (e.g. NIH "Pneumonia").
#: Never a fifth output unit: trained with -log(sum of the members' probabilities), scored against that sum.
PARTIAL_LABELS: dict[str, tuple[str, ...]] = {"pneumonia": ("bacterial", "viral")}

#: Every label a dataset table may hold: the four classes, then the partial labels.
LABELS: tuple[str, ...] = CLASS_NAMES + tuple(PARTIAL_LABELS)


def label_members() -> "np.ndarray":
    """(len(LABELS), len(CLASS_NAMES)) bool: row ``i`` marks the classes that ``LABELS[i]`` allows."""
    mask = np.zeros((len(LABELS), len(CLASS_NAMES)), dtype=bool)
    for row, label in enumerate(LABELS):
        for member in PARTIAL_LABELS.get(label, (label,)):
            mask[row, CLASS_NAMES.index(member)] = True
    return mask


#: One colour per label for every chart (the report and the dashboard read this one map).
CLASS_COLORS: dict[str, str] = {
    "normal": "#4C78A8",
    "bacterial": "#F58518",
    "viral": "#54A24B",
    "covid": "#E45756",
    "pneumonia": "#B279A2",
}

OTHER_COLOR = "#8C8C8C"  # a label the colour map lacks (it must still be told apart from the four classes)
TRACK = "#e6ebf1"  # grid lines and empty bar tracks, in figures and on the dashboard

#: Human-readable names for the UI and the model card.
CLASS_TITLES: dict[str, str] = {
    "normal": "Normal",
    "bacterial": "Bacterial pneumonia",
    "viral": "Viral pneumonia",
    "covid": "COVID-19",
    "pneumonia": "Pneumonia, type unknown",
}

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO_ROOT / "weights" / "xray_resnet.pt"
DEFAULT_MAX_PIXELS = 50_000_000  # decompression-bomb cap for read_image (about 7000 x 7000)
MIB = 1 << 20


@dataclass(frozen=True)
class ServerBudget:
    """The dashboard's memory budget on a shared server, in one place (Streamlit's per-file upload cap, in MB, is
    ``server.maxUploadSize`` in ``.streamlit/config.toml``). The pages read these numbers, never their own copies."""

    max_pixels: int = 25_000_000  # a CR/DX detector is at most ~4,300 x 4,300 px; 5,000 x 5,000 keeps a film ~100 MB
    display_side: int = 1024  # longest side of every array the page caches for display (maps, masks, films)
    film_cache_bytes: int = 768 * MIB  # decoded full-size films shared by every session (least recently used go)
    display_cache_bytes: int = 256 * MIB  # display-size heatmaps and lung outlines shared by every session
    session_upload_bytes: int = 200 * MIB  # all files one browser session holds in its uploaders, ZIPs expanded

    def film_bytes(self, width: int, height: int) -> int:
        """Bytes of one decoded film (float32 pixels) of ``width`` x ``height``."""
        return 4 * width * height

    def display_bytes(self, width: int, height: int) -> int:
        """Bytes of one cached heatmap entry (float32 map, bool mask and outline) at display size."""
        scale = min(1.0, self.display_side / max(width, height, 1))
        return 6 * round(width * scale) * round(height * scale)

    def pinned_bytes(self, sessions: int) -> int:
        """The most the shared caches and ``sessions`` sessions' uploads can hold at once."""
        return self.film_cache_bytes + self.display_cache_bytes + sessions * self.session_upload_bytes


SERVER_BUDGET = ServerBudget()


def default_data_dir() -> Path:
    """The real corpus: ``$XRAY_DATA_DIR`` or ``../shared/cxr`` beside the repository."""
    return Path(os.environ.get("XRAY_DATA_DIR") or REPO_ROOT.parent / "shared" / "cxr")


def default_checkpoint() -> Path:
    """The shipped checkpoint: ``$XRAY_CHECKPOINT`` or ``weights/xray_resnet.pt``."""
    return Path(os.environ.get("XRAY_CHECKPOINT") or DEFAULT_CHECKPOINT)


def cache_dir() -> Path:
    """Where decoded-image and statistics caches go (never inside the repository)."""
    root = os.environ.get("XRAY_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "xray_core")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


CROPS = ("none", "lungs")  # Preprocessing.crop choices
MASKS = ("none", "lungs")  # Preprocessing.mask choices


@dataclass(frozen=True)
class Preprocessing:
    """How a [0, 1] grayscale image becomes the network's input tensor.

    Geometry is normalised the same way for every image: the whole film is
    resized ("squashed") to ``image_size`` x ``image_size`` regardless of its
    aspect ratio, because most of the corpus only exists as 224 x 224 squashed
    copies and aspect ratio would otherwise identify the source. With
    ``crop="lungs"`` the film is first cropped to the lungs' bounding box (plus a
    margin), so text markers, shoulders and abdomen, which identify source and
    age, mostly leave the input. With ``mask="lungs"`` (which needs the
    crop) everything outside the lung mask, grown by ``mask_dilation`` x the side,
    is then set to ``mean`` (0 after normalisation): the model sees the lungs only.
    """

    image_size: int = 160  # square side in pixels after resizing
    in_channels: int = 1  # radiographs are grayscale; 3 repeats the channel
    mean: float = 0.5  # applied after scaling to [0, 1]
    std: float = 0.25
    interpolation: str = "area"  # OpenCV interpolation used for downsizing
    geometry: str = "squash"  # the only mode: resize the whole image (or the crop) to a square
    crop: str = "none"  # "none" (whole film) or "lungs" (the lung segmenter's bounding box, before resizing)
    crop_margin: float = 0.08  # "lungs": share of the box's height/width added on each side
    crop_segmenter: str = ""  # "lungs": SHA-256 of the lung segmenter whose boxes the model was trained on
    mask: str = "none"  # "none" or "lungs" (after the crop: outside the grown lung mask becomes ``mean``)
    mask_dilation: float = 0.04  # "lungs": the mask grows by this share of the square's side before blanking

    def __post_init__(self) -> None:
        if self.crop not in CROPS:
            raise ValueError(f"Unknown crop {self.crop!r}; expected one of {', '.join(CROPS)}")
        if not 0 <= self.crop_margin <= 1:
            raise ValueError(f"crop_margin must be in [0, 1], got {self.crop_margin}")
        if self.mask not in MASKS:
            raise ValueError(f"Unknown mask {self.mask!r}; expected one of {', '.join(MASKS)}")
        if self.mask != "none" and self.crop != "lungs":
            raise ValueError("mask='lungs' needs crop='lungs' (the mask comes from the crop's segmenter)")
        if not 0 <= self.mask_dilation <= 0.5:
            raise ValueError(f"mask_dilation must be in [0, 0.5], got {self.mask_dilation}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Preprocessing":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


__all__ = [
    "CLASS_COLORS",
    "CLASS_NAMES",
    "CLASS_TITLES",
    "LABELS",
    "OTHER_COLOR",
    "PARTIAL_LABELS",
    "Preprocessing",
    "SERVER_BUDGET",
    "ServerBudget",
    "TRACK",
    "cache_dir",
    "default_checkpoint",
    "default_data_dir",
    "label_members",
]
