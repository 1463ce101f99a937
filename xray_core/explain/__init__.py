"""Explanations on top of a prediction: class-activation maps, their drawing, and checks of how faithful they are.

* :mod:`~xray_core.explain.cam`: ``explain(loaded, image, method, target) -> Explanation``, a thin layer over
  pytorch-grad-cam; :mod:`~xray_core.explain.methods`: the methods by name; :mod:`~xray_core.explain.replicas`:
  the private model copies that make it thread-safe.
* :mod:`~xray_core.explain.overlay`: pure image maths that draws a map on a radiograph.
* :mod:`~xray_core.explain.faithfulness`: ROAD and keep-only scores against a random map.
* :mod:`~xray_core.explain.localisation`: where maps fall relative to the lungs, per map variant.
* :mod:`~xray_core.explain.lung_findings`: one film's map on its lungs (share inside, pointing, the
  ``outside_lungs`` warning, or why none is given), for Diagnose, ``explain --json`` and the PDF.

Names are imported on first use (PEP 562): using one submodule does not import the others (pytorch-grad-cam,
pandas, the lung segmenter). Three functions are not re-exported because a submodule has the same name:
reach them as ``xray_core.explain.overlay.overlay``, ``xray_core.explain.faithfulness.faithfulness`` and
``xray_core.explain.lung_findings.lung_findings``
(re-exporting them would make ``xray_core.explain.overlay`` the function or the module depending on import
order). ``BASELINE`` exists in both faithfulness (a method key) and localisation (a map-variant key): use the
module's.
"""

from xray_core.lazy import lazy_exports

_MODULES = (
    "methods",
    "cam",
    "overlay",
    "faithfulness",
    "localisation",
    "variants",
    "localisation_table",
    "lung_findings",
)
#: left to their modules: a package-level name would shadow the submodule of the same name, and ``BASELINE``
#: means a method key in faithfulness but a map-variant key in localisation.
_KEPT_IN_MODULE = ("overlay", "faithfulness", "lung_findings", "BASELINE")
__getattr__, __dir__ = lazy_exports(__name__, modules=_MODULES, kept=_KEPT_IN_MODULE)
