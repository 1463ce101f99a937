"""The film with its heatmap and lung outline as a DICOM secondary capture, for viewers that show images only.

Marked derived everywhere a viewer or an archive looks: ImageType DERIVED\\SECONDARY, a derivation description, a
burned-in banner (BurnedInAnnotation YES) and image comments saying it is decision support and not for primary
diagnosis. In the film's study, a new series that references the source image.
"""

from __future__ import annotations

import cv2
import highdicom as hd
import numpy as np
from pydicom import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from xray_core.inference import wording
from xray_core.pacs import identity as codes
from xray_core.report.content import ReportContent

BANNER = "DERIVED - DECISION SUPPORT HEATMAP - NOT FOR PRIMARY DIAGNOSIS"
BANNER_SHARE = 0.06  # the banner's height as a share of the image's


def with_banner(rgb: np.ndarray, text: str = BANNER) -> np.ndarray:
    """``rgb`` (H x W x 3 uint8) with a black strip on top carrying ``text`` in white, scaled to fit the width."""
    height = max(14, round(rgb.shape[0] * BANNER_SHARE))
    strip = np.zeros((height, rgb.shape[1], 3), np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, text_height), _ = cv2.getTextSize(text, font, 1.0, 1)
    scale = min(0.95 * rgb.shape[1] / width, 0.6 * height / text_height)
    thickness = max(1, round(scale * 1.5))
    (width, text_height), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = ((rgb.shape[1] - width) // 2, (height + text_height) // 2)
    cv2.putText(strip, text, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return np.ascontiguousarray(np.vstack([strip, rgb]))


def build_capture(source: Dataset, report: ReportContent, method: str, instance_number: int = 1) -> hd.sc.SCImage:
    """The secondary capture of ``report``'s heatmap on ``source`` (raises ValueError for a refused film: no map)."""
    if report.heatmap is None:
        raise ValueError("no heatmap for a refused film: nothing to capture")
    pixels = with_banner(report.heatmap)
    orientation = source.get("PatientOrientation")
    capture = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=generate_uid(),
        series_number=codes.CAPTURE_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=codes.MANUFACTURER,
        patient_orientation=tuple(orientation) if orientation and len(orientation) == 2 else None,
        transfer_syntax_uid=ExplicitVRLittleEndian,
        series_description=codes.series_description("heatmap", str(report.model.get("sha256", ""))),
    )
    capture.ImageType = ["DERIVED", "SECONDARY"]
    capture.BurnedInAnnotation = "YES"
    capture.Laterality = ""  # the chest holds a paired organ (Type 2C: present, empty: both lungs)
    capture.DerivationDescription = f"{method} heatmap and lung outline on the film; {BANNER.lower()}"[:1024]
    capture.ImageComments = f"{wording.DISCLAIMER} Derived image, not for primary diagnosis."
    capture.SoftwareVersions = str(report.model.get("version", ""))[:64]
    source_reference = Dataset()
    source_reference.ReferencedSOPClassUID = source.SOPClassUID
    source_reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    capture.SourceImageSequence = [source_reference]
    return capture


__all__ = ["BANNER", "build_capture", "with_banner"]
