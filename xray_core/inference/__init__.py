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

Names load on first use (:mod:`xray_core.lazy`): the names of the modules below, each module's ``__all__``.
"""

from xray_core.lazy import lazy_exports

_MODULES = ("decisions", "predict", "batch", "refusal", "calibration", "results")
__getattr__, __dir__ = lazy_exports(__name__, modules=_MODULES)
