"""Networks, preprocessing and self-describing checkpoints: what a trained model is and how an image reaches it.

Names load on first use (:mod:`xray_core.lazy`): pure preprocessing maths does not import torch's model code.
"""

from xray_core.lazy import lazy_exports

_MODULES = ("checkpoint", "meta", "records", "scoring", "networks", "preprocessing", "resize")
#: ``resize.resize`` would shadow the module ``xray_core.models.resize``.
_KEPT_IN_MODULE = ("resize",)
__getattr__, __dir__ = lazy_exports(__name__, modules=_MODULES, kept=_KEPT_IN_MODULE)
