"""Reading radiographs (the bottom layer): PNG, JPEG, TIFF and DICOM, compressed DICOM included, into one
:class:`~xray_core.io.image.XrayImage` of float32 (H, W) pixels in [0, 1] plus JSON-able metadata without patient
data.

* :mod:`~xray_core.io.image`: the image record, its pixel contract and the input errors.
* :mod:`~xray_core.io.source`: where bytes come from and what they look like (sniffing, supported names).
* :mod:`~xray_core.io.reader`: ``read_image`` over :mod:`~xray_core.io.raster` and :mod:`~xray_core.io.dicom`.
* :mod:`~xray_core.io.uploads` (ZIP uploads within member limits) and :mod:`~xray_core.io.prefetch` (reading ahead
  in worker processes for folder scoring).

Imports nothing from other ``xray_core`` subpackages except :mod:`xray_core.config`. Names load on first use
(:mod:`xray_core.lazy`).
"""

from xray_core.lazy import lazy_exports

_MODULES = ("image", "reader", "source")
__getattr__, __dir__ = lazy_exports(__name__, modules=_MODULES)
