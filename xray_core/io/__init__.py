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

#: submodule -> the names it contributes to this package (its ``__all__``).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "image": (
        "MIN_SIDE",
        "NotAChestRadiograph",
        "XrayImage",
        "XrayInputError",
        "check_size",
        "normalise_pixels",
        "scale_by_range",
    ),
    "reader": ("read_image", "read_image_header"),
    "source": (
        "DECODER_ERRORS",
        "EXPECTED",
        "SUPPORTED_EXTENSIONS",
        "Source",
        "decoding",
        "is_supported_name",
        "load_bytes",
        "sniff",
        "source_label",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)
