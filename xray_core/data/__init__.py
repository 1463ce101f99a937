"""Dataset tables and what they hold: loading, decoding for training, per-image scans and statistics, the report.

* :mod:`~xray_core.data.dataset`: one table of images (``path``, ``label``, ``split``, ``patient_id``, ``source``)
  from a manifest or a folder layout; :mod:`~xray_core.data.torch_dataset`: its rows as tensors.
* :mod:`~xray_core.data.cache`: every image decoded once into a uint8 array cached on disk (training).
* :mod:`~xray_core.data.image_stats` and :mod:`~xray_core.data.scan`: one row of metadata and pixel statistics
  per image, scanned in parallel and cached.
* :mod:`~xray_core.data.counts`, :mod:`~xray_core.data.duplicates`, :mod:`~xray_core.data.confounders`,
  :mod:`~xray_core.data.quality` and :mod:`~xray_core.data.stats`: pure analyses over those tables and their
  JSON-able summary; :mod:`~xray_core.data.plots`: the dataset figures; :mod:`~xray_core.data.report`: the HTML report.

Names are imported on first use (PEP 562): ``import xray_core.data`` (which every ``import xray_core.data.dataset``
runs first) stays cheap and pulls in neither torch, scipy nor plotly until a name that needs them is used.
``class_counts`` is the dataset's (:func:`xray_core.data.dataset.class_counts`, partial labels included);
:func:`xray_core.data.counts.class_counts` keeps any unknown label as well.
"""

from xray_core.lazy import lazy_exports

_MODULES = (
    "dataset",
    "torch_dataset",
    "cache",
    "image_stats",
    "scan",
    "counts",
    "duplicates",
    "confounders",
    "quality",
    "stats",
    "plots",
    "report",
)
#: the dataset's class_counts (partial labels included) is the package's; counts keeps its own.
_KEPT_IN_MODULE = ("counts.class_counts",)
__getattr__, __dir__ = lazy_exports(__name__, modules=_MODULES, kept=_KEPT_IN_MODULE)
