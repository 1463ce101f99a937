"""Dataset tables and what they hold: loading, decoding for training, per-image scans and statistics, the report.

* :mod:`~xray_core.data.dataset`: one table of images (``path``, ``label``, ``split``, ``patient_id``, ``source``)
  from a manifest or a folder layout; :mod:`~xray_core.data.torch_dataset`: its rows as tensors.
* :mod:`~xray_core.data.cache`: every image decoded once into a uint8 array cached on disk (training).
* :mod:`~xray_core.data.image_stats` and :mod:`~xray_core.data.scan`: one row of metadata and pixel statistics
  per image, scanned in parallel and cached.
* :mod:`~xray_core.data.counts`, :mod:`~xray_core.data.duplicates`, :mod:`~xray_core.data.confounders`,
  :mod:`~xray_core.data.quality` and :mod:`~xray_core.data.stats`: pure analyses over those tables and their
  JSON-able summary; :mod:`~xray_core.data.report`: its plotly figures and HTML report.

Names are imported on first use (PEP 562): ``import xray_core.data`` (which every ``import xray_core.data.dataset``
runs first) stays cheap and pulls in neither torch, scipy nor plotly until a name that needs them is used.
``class_counts`` is the dataset's (:func:`xray_core.data.dataset.class_counts`, partial labels included);
:func:`xray_core.data.counts.class_counts` keeps any unknown label as well.
"""

from __future__ import annotations

from xray_core.lazy import lazy_exports

#: submodule -> the names it contributes to this package (its ``__all__``, minus names another module provides).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "dataset": (
        "CORE_COLUMNS",
        "DatasetError",
        "EXTERNAL_SETS",
        "SPLITS",
        "canonical_label",
        "class_counts",
        "data_summary",
        "external_tables",
        "load_dataset",
        "present_labels",
        "split_counts",
        "tuning_tables",
    ),
    "torch_dataset": ("XrayDataset",),
    "cache": ("cached_pixels", "decode_images"),
    "image_stats": ("ANALYSIS_SIDE", "HIST_BINS", "inversion_score", "phash", "pixel_statistics", "scan_file"),
    "scan": ("EXTRA_COLUMNS", "SCAN_COLUMNS", "scan_images"),
    "counts": ("images_per_patient", "patients_per_class", "source_class_table", "split_class_table"),
    "duplicates": ("DUPLICATE_DISTANCE", "duplicate_groups", "leakage"),
    "confounders": ("DOMINANT_SHARE", "MODERATE_V", "STRONG_V", "confounding", "cramers_v"),
    "quality": ("EXTREME_ASPECT", "INVERTED_SCORE", "NEAR_CONSTANT_STD", "outliers"),
    "stats": ("class_histograms", "image_properties", "per_class_table", "summarize"),
    "report": ("figures", "write_html"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_HOME)


__getattr__, __dir__ = lazy_exports(__name__, _HOME)
