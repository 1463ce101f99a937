"""Reading radiographs (the bottom layer): PNG, JPEG, TIFF and DICOM, compressed DICOM included, into one
:class:`XrayImage` of float32 (H, W) pixels in [0, 1] plus JSON-able metadata without patient data.

Imports nothing from other ``xray_core`` subpackages except :mod:`xray_core.config`.
"""

from xray_core.config import DEFAULT_MAX_PIXELS
from xray_core.io.image import MIN_SIDE, NotAChestRadiograph, XrayImage, XrayInputError, normalise_pixels
from xray_core.io.reader import read_image, read_image_header
from xray_core.io.source import SUPPORTED_EXTENSIONS, Source, is_supported_name

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MIN_SIDE",
    "NotAChestRadiograph",
    "SUPPORTED_EXTENSIONS",
    "Source",
    "XrayImage",
    "XrayInputError",
    "is_supported_name",
    "normalise_pixels",
    "read_image",
    "read_image_header",
]
