"""Pure helpers the dashboard needs that belong to no other module (no streamlit import here).

Display windowing and zoom of an :class:`~xray_core.io.reader.XrayImage`, ZIP extraction with limits, percentages
that add up to exactly 100, result JSON/CSV, checkpoint and test-report summaries and ROC points.
Images are H x W float32 in [0, 1] (0 = black) unless said otherwise; display arrays are uint8.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from xray_core.config import CLASS_TITLES
from xray_core.io.reader import SUPPORTED_EXTENSIONS, XrayImage

DISCLAIMER = "Decision support only, not a diagnosis. A qualified clinician must interpret every image."
MAX_ZIP_FILES = 500  # images taken from one batch ZIP
MAX_ZIP_BYTES = 512 * 1024 * 1024  # uncompressed bytes taken from one batch ZIP
MAX_ZIP_RATIO = 200  # uncompressed / compressed size of one member; above it, a ZIP bomb is assumed


class ZipLimitError(ValueError):
    """A ZIP that is unreadable or exceeds the extraction limits; the message says which and what to do."""


# ---------------------------------------------------------------------------------------------- display


def needs_window(image: XrayImage) -> bool:
    """Whether the image is DICOM or deeper than 8 bits (where a display window matters most)."""
    return image.meta.get("format") == "DICOM" or int(image.meta.get("bit_depth") or 8) > 8


def default_window(image: XrayImage) -> tuple[float, float]:
    """(level, width) in [0, 1] display units: the full range for 8-bit rasters, else the 0.5th-99.5th percentile."""
    if not needs_window(image):
        return 0.5, 1.0
    low, high = (float(v) for v in np.percentile(image.pixels[::4, ::4], (0.5, 99.5)))
    if high - low < 1e-3:
        return 0.5, 1.0
    return (low + high) / 2, high - low


def apply_window(pixels: np.ndarray, level: float, width: float, invert: bool = False) -> np.ndarray:
    """Linear window of H x W float [0, 1] pixels: ``level - width/2`` -> 0, ``level + width/2`` -> 255; uint8."""
    width = max(float(width), 1e-3)
    scaled = (np.asarray(pixels, np.float32) - (level - width / 2)) / width
    display = np.clip(scaled, 0.0, 1.0)
    if invert:
        display = 1.0 - display
    return np.round(display * 255.0).astype(np.uint8)


def zoom_crop(array: np.ndarray, zoom: float, center_x: float = 0.5, center_y: float = 0.5) -> np.ndarray:
    """The 1/zoom-sized window of an H x W (x C) array centred at fractional (center_x, center_y), kept inside."""
    if zoom <= 1.0:
        return array
    height, width = array.shape[:2]
    crop_h, crop_w = max(1, round(height / zoom)), max(1, round(width / zoom))
    top = int(np.clip(round(center_y * height - crop_h / 2), 0, height - crop_h))
    left = int(np.clip(round(center_x * width - crop_w / 2), 0, width - crop_w))
    return array[top:top + crop_h, left:left + crop_w]


def fit(array: np.ndarray, side: int) -> np.ndarray:
    """uint8 H x W (x C) array shrunk (area filter, aspect kept) so its longest side is at most ``side``."""
    scale = side / max(array.shape[:2])
    if scale >= 1:
        return array
    size = (max(1, round(array.shape[1] * scale)), max(1, round(array.shape[0] * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)


def thumbnail(pixels: np.ndarray, side: int = 192, square: bool = False) -> np.ndarray:
    """uint8 copy of H x W [0, 1] pixels whose longest side is at most ``side``; ``square`` pads it with black."""
    small = fit(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), side)
    if not square or small.shape[0] == small.shape[1]:
        return small
    size = max(small.shape)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    padded = np.zeros((size, size), np.uint8)
    padded[top:top + small.shape[0], left:left + small.shape[1]] = small
    return padded


def blend_heatmap(display: np.ndarray, cam: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """Fallback overlay: a JET-coloured H x W ``cam`` in [0, 1] over uint8 gray ``display``; RGB uint8."""
    heat = cv2.applyColorMap(np.round(np.clip(cam, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    gray = np.repeat(display[..., None], 3, axis=2).astype(np.float32)
    return np.round((1 - alpha) * gray + alpha * heat.astype(np.float32)).astype(np.uint8)


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of a uint8 H x W or H x W x 3 array."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def percentages(probabilities: dict[str, float], decimals: int = 1) -> dict[str, float]:
    """Probabilities as percentages rounded to ``decimals`` that sum to exactly 100 (largest remainder)."""
    unit = 10 ** decimals
    raw = {name: max(0.0, float(p)) for name, p in probabilities.items()}
    total = sum(raw.values()) or 1.0
    scaled = {name: p / total * 100 * unit for name, p in raw.items()}
    floors = {name: math.floor(v) for name, v in scaled.items()}
    missing = 100 * unit - sum(floors.values())
    for name in sorted(scaled, key=lambda n: scaled[n] - floors[n], reverse=True)[:missing]:
        floors[name] += 1
    return {name: floors[name] / unit for name in probabilities}


# ---------------------------------------------------------------------------------------------- uploads


@dataclass
class Expanded:
    """Uploaded items after ZIPs are opened: ``files`` (name, bytes) to analyse and ``skipped`` messages."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not (name.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in parts))


def extract_zip(data: bytes, *, label: str = "upload.zip", max_files: int = MAX_ZIP_FILES,
                max_bytes: int = MAX_ZIP_BYTES, max_ratio: int = MAX_ZIP_RATIO) -> Expanded:
    """Image members of a ZIP (read into memory, never written to disk), within the limits; others are skipped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ZipLimitError(f"{label}: not a readable ZIP archive ({error}); upload a .zip of PNG, JPEG, TIFF "
                            "or DICOM files") from error
    result, total = Expanded(), 0
    with archive:
        for info in archive.infolist():
            if not _safe_member(info.filename):
                continue
            if Path(info.filename).suffix.lower() not in SUPPORTED_EXTENSIONS:
                result.skipped.append(f"{label}/{info.filename}: not an image type ({', '.join(SUPPORTED_EXTENSIONS)})")
                continue
            if len(result.files) >= max_files:
                raise ZipLimitError(f"{label}: more than {max_files} images; split the archive into smaller ZIPs")
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise ZipLimitError(f"{label}/{info.filename}: compression ratio above {max_ratio}:1 "
                                    "(a ZIP bomb?); refused")
            total += info.file_size
            if total > max_bytes:
                raise ZipLimitError(f"{label}: more than {max_bytes // 2**20} MB uncompressed; "
                                    "split the archive into smaller ZIPs")
            with archive.open(info) as member:
                content = member.read(info.file_size + 1)
            if len(content) > info.file_size:
                raise ZipLimitError(f"{label}/{info.filename}: larger than its header says; refused")
            result.files.append((f"{label}/{info.filename}", content))
    return result


def expand_uploads(items: Iterable[tuple[str, bytes]], **limits: Any) -> Expanded:
    """Open ZIPs among uploaded (name, bytes) items; names made unique; unsupported types listed as skipped."""
    result = Expanded()
    for name, data in items:
        if name.lower().endswith(".zip"):
            try:
                inner = extract_zip(data, label=name, **limits)
            except ZipLimitError as error:
                result.skipped.append(str(error))
                continue
            result.files.extend(inner.files)
            result.skipped.extend(inner.skipped)
        elif Path(name).suffix.lower() in SUPPORTED_EXTENSIONS:
            result.files.append((name, data))
        else:
            result.skipped.append(f"{name}: unsupported file type; expected PNG, JPEG, TIFF, DICOM or ZIP")
    seen: dict[str, int] = {}
    for index, (name, data) in enumerate(result.files):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            result.files[index] = (f"{name} ({seen[name]})", data)
    return result


# ---------------------------------------------------------------------------------------------- results


def prediction_flags(prediction: Any) -> list[str]:
    """Short flags for a :class:`~xray_core.inference.predict.Prediction`: out-of-distribution, low confidence."""
    flags = []
    if getattr(prediction, "refused", False):
        flags.append("out-of-distribution")
    if getattr(prediction, "low_confidence", False):
        flags.append("low confidence")
    return flags


def result_record(prediction: Any, meta: dict[str, Any], model: dict[str, Any],
                  explanation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able result of one image: image meta (never patient data), prediction, model and heatmap."""
    values = prediction.to_dict()
    return {
        "disclaimer": DISCLAIMER,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "image": dict(meta),
        "prediction": {**values, "top_class_title": CLASS_TITLES.get(values["label"], values["label"]),
                       "percentages": percentages(values["probabilities"]), "flags": prediction_flags(prediction)},
        "model": dict(model),
        "explanation": explanation,
    }


def result_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def batch_row(name: str, prediction: Any | None, class_names: Sequence[str], error: str = "") -> dict[str, Any]:
    """One results-table row: file, top class, a percentage per class, flags (or the read error)."""
    row: dict[str, Any] = {"file": name}
    if prediction is None:
        return {**row, "top_class": "", **{f"{c} %": None for c in class_names}, "flags": f"unreadable: {error}"}
    shares = percentages(prediction.probabilities)
    return {**row, "top_class": CLASS_TITLES.get(prediction.label, prediction.label),
            **{f"{c} %": shares.get(c) for c in class_names}, "flags": ", ".join(prediction_flags(prediction))}


def results_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 CSV of batch rows, with the disclaimer as a leading comment line."""
    return (f"# {DISCLAIMER}\n" + pd.DataFrame(list(rows)).to_csv(index=False)).encode("utf-8")


# ---------------------------------------------------------------------------------------------- model card


def model_summary(loaded: Any) -> dict[str, Any]:
    """What the UI shows about a :class:`~xray_core.models.checkpoint.LoadedModel`: identity, input, size, calibration."""
    meta = loaded.meta
    return {"version": loaded.version, "trained": loaded.trained, "arch": loaded.arch, "sha256": loaded.sha256,
            "checkpoint": Path(loaded.path).name, "class_names": list(loaded.class_names),
            "n_parameters": int(sum(p.numel() for p in loaded.model.parameters())),
            "preprocessing": meta.preprocessing.to_dict(), "temperature": loaded.temperature,
            "ood_threshold": (meta.ood or {}).get("threshold"), "libraries": dict(meta.libraries)}


def report_path(checkpoint: str | Path) -> Path:
    """Where ``python -m xray_core evaluate --json`` puts the test report: metrics.json beside the checkpoint."""
    return Path(checkpoint).with_name("metrics.json")


def read_report(checkpoint: str | Path) -> tuple[dict[str, Any] | None, str]:
    """(report, "") when metrics.json beside the checkpoint is readable, else (None, a message saying why)."""
    path = report_path(checkpoint)
    if not path.is_file():
        return None, (f"No test-split report at {path}. Create it with: python -m xray_core evaluate "
                      f"--checkpoint {checkpoint} --json {path}")
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return None, f"{path} is not readable JSON ({error}); re-run python -m xray_core evaluate"
    if not isinstance(report, dict) or "metrics" not in report:
        return None, f"{path} has no 'metrics' section; re-run python -m xray_core evaluate"
    return report, ""


def roc_points(y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str]) -> dict[str, dict | None]:
    """One-vs-rest ROC curve per class: {class: {"fpr", "tpr", "auc"}} or None when the class is absent/alone."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, dtype=float)
    curves: dict[str, dict | None] = {}
    for index, name in enumerate(class_names):
        truth = y_true == index
        if truth.all() or not truth.any():
            curves[name] = None
            continue
        fpr, tpr, _ = roc_curve(truth, y_prob[:, index])
        curves[name] = {"fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist(),
                        "auc": float(roc_auc_score(truth, y_prob[:, index]))}
    return curves


def split_probabilities(loaded: Any, table: pd.DataFrame, batch_size: int = 32,
                        progress: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(y_true (N,) class indices, y_prob (N, K) calibrated) for the rows of ``table``; unreadable rows dropped."""
    from xray_core.inference.predict import predict_batch
    from xray_core.io.reader import XrayInputError, read_image

    names = list(loaded.class_names)
    truths, probabilities = [], []
    for start in range(0, len(table), batch_size):
        rows = table.iloc[start:start + batch_size]
        images, labels = [], []
        for path, label in zip(rows["path"], rows["label"]):
            try:
                images.append(read_image(path))
                labels.append(names.index(label))
            except XrayInputError:
                continue
        for label, result in zip(labels, predict_batch(loaded, images, batch_size=batch_size)):
            truths.append(label)
            probabilities.append([result.probabilities[n] for n in names])
        if progress is not None:
            progress(min(start + batch_size, len(table)), len(table))
    return np.asarray(truths, dtype=int), np.asarray(probabilities, dtype=float).reshape(-1, len(names))


def age_confounding_notes(data_summary: dict[str, Any]) -> list[str]:
    """Plain-language notes from the checkpoint's training counts per age group, e.g. '98 % of ... pediatric'."""
    counts = data_summary.get("age_group_class_counts") or {}
    notes = []
    for label in CLASS_TITLES:
        per_group = {group: int(row.get(label, 0)) for group, row in counts.items() if group}
        total = sum(per_group.values())
        if total:
            group, n = max(per_group.items(), key=lambda item: item[1])
            if n / total >= 0.8:
                title = CLASS_TITLES[label] if label == "covid" else CLASS_TITLES[label].lower()
                notes.append(f"{n / total:.0%} of {title} training images are {group}")
    return notes


def sample_rows(table: pd.DataFrame, n: int, seed: int = 0, **filters: Sequence[str]) -> pd.DataFrame:
    """Up to ``n`` random rows whose columns match ``filters`` (column -> allowed values; empty = any)."""
    keep = np.ones(len(table), dtype=bool)
    for column, allowed in filters.items():
        if allowed and column in table.columns:
            keep &= table[column].astype(str).isin([str(a) for a in allowed]).to_numpy()
    chosen = table[keep]
    return chosen.sample(n=min(n, len(chosen)), random_state=seed) if len(chosen) else chosen
