"""From one film to a decision: calibrated probabilities, refusal and warnings as data, lungs, audit log.

* :mod:`~xray_core.inference.predict` (one film or a batch → :class:`Prediction`), :mod:`~.batch` (the one
  read-and-predict loop), :mod:`~.folder` (streamed folder scoring to Parquet); :mod:`~.calibration`,
  :mod:`~.ood`, :mod:`~.input_checks`, :mod:`~.age` and :mod:`~.refusal` (every decision, as data) feed it.
* :mod:`~.decisions` (the ``Decision`` record) and :mod:`~.wording` (its words, the only place they are worded).
* :mod:`~.results`: a prediction as a file someone takes away (JSON, batch rows, CSV).
* Subpackages: :mod:`~.lungs` (masks and the lung crop), :mod:`~.onnx` (the torch-free engine),
  :mod:`~.similar` (similar training films).
* :mod:`~.audit`, :mod:`~.accounts` and :mod:`~.measured`: who scored what, who may sign in, and what this
  checkpoint was measured to do.

Names load on first use (:mod:`xray_core.lazy`).
"""

from xray_core.lazy import lazy_exports

#: submodule -> the names it contributes to this package (its ``__all__``).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "decisions": ("CODES", "Decision", "Severity"),
    "predict": ("Prediction", "predict_batch", "predict_image"),
    "batch": ("Scored", "predict_sources"),
    "refusal": ("LOW_CONFIDENCE", "OUTSIDE_LUNGS", "assess", "assess_lungs", "uncertain_threshold"),
    "calibration": ("calibrated_softmax",),
    "results": (
        "DISCLAIMER",
        "batch_row",
        "flag_words",
        "percentages",
        "prediction_flags",
        "result_json",
        "result_record",
        "results_csv",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)
