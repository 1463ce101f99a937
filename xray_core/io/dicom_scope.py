"""What a DICOM header says the film is: refused before any pixel is decoded when it is not a frontal chest radiograph.

pydicom's ``CT_small.dcm`` (an axial CT slice) passed the image checks and was scored "COVID-19 79.6 %": the
pixels of a CT slice, a lateral film or a knee can look enough like a chest film, but the header says what they
are. A refusal here is a :class:`~xray_core.io.image.NotAChestRadiograph`, an ``XrayInputError`` (so every surface
already shows it as a clear message) carrying a short ``code`` and the header field and value. Where the
header is silent (no Modality, no ViewPosition...) nothing is refused here and the image checks decide, as for a
PNG. Only technical fields are read: never patient, study, institution or date fields.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydicom import uid
from pydicom.multival import MultiValue

from xray_core.io.image import NotAChestRadiograph

#: Modalities of projection radiographs: computed, digital, (retired) digital radiography, digitised film.
PROJECTION_MODALITIES = frozenset({"CR", "DX", "DR", "RG"})
#: Secondary capture and "other": accepted when nothing else in the header contradicts a chest radiograph.
SECONDARY_MODALITIES = frozenset({"OT", "SC"})
#: ImageType values of slices, volumes and CT scout images.
CROSS_SECTIONAL_TYPES = frozenset({"AXIAL", "VOLUME", "LOCALIZER", "REFORMATTED"})
#: ViewPosition values that are not frontal: the model was trained on PA/AP films only (decubitus is frontal).
NOT_FRONTAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLO", "RLO", "OBLIQUE"})
#: Words of BodyPartExamined that name the chest (English and the common European spellings seen in exports).
CHEST_WORDS = frozenset({"CHEST", "THORAX", "THORACIC", "LUNG", "LUNGS", "CXR", "TORAX", "TORACE", "THORAKS", "PECHO"})
_MODALITY_NAMES = {
    "CT": "computed tomography",
    "MR": "magnetic resonance",
    "US": "ultrasound",
    "NM": "nuclear medicine",
    "PT": "PET",
    "MG": "mammography",
    "XA": "angiography",
    "RF": "fluoroscopy",
    "IO": "intra-oral radiograph",
    "PX": "panoramic dental radiograph",
}
#: SOP classes that say "not a projection chest film" even under Modality OT/SC or no Modality.
_SOP_MODALITIES = {
    uid.CTImageStorage: "CT",
    uid.EnhancedCTImageStorage: "CT",
    uid.LegacyConvertedEnhancedCTImageStorage: "CT",
    uid.MRImageStorage: "MR",
    uid.EnhancedMRImageStorage: "MR",
    uid.UltrasoundImageStorage: "US",
    uid.UltrasoundMultiFrameImageStorage: "US",
    uid.NuclearMedicineImageStorage: "NM",
    uid.PositronEmissionTomographyImageStorage: "PT",
    uid.DigitalMammographyXRayImageStorageForPresentation: "MG",
    uid.DigitalMammographyXRayImageStorageForProcessing: "MG",
    uid.BreastTomosynthesisImageStorage: "MG",
    uid.XRayAngiographicImageStorage: "XA",
    uid.XRayRadiofluoroscopicImageStorage: "RF",
}
_EXPECTED = "expected a frontal (PA or AP) chest radiograph (DICOM Modality CR, DX or DR)"


def check_chest_header(ds: Any, label: str) -> None:
    """Raise :class:`NotAChestRadiograph` when ``ds`` (a pydicom dataset, pixels not needed) says it is not a
    frontal chest radiograph; return quietly when the header agrees or is silent."""
    for check in (_modality, _image_type, _view, _body_part):
        check(ds, label)


def _modality(ds: Any, label: str) -> None:
    modality = _text(ds.get("Modality"))
    if modality and modality not in PROJECTION_MODALITIES | SECONDARY_MODALITIES:
        kind = _MODALITY_NAMES.get(modality, "not a projection radiograph")
        raise NotAChestRadiograph(
            f"{label}: the DICOM header says Modality {modality} ({kind}), not a chest radiograph; {_EXPECTED}",
            "dicom_modality",
            "Modality",
            modality,
        )
    implied = _SOP_MODALITIES.get(str(ds.get("SOPClassUID", "")).strip())
    if implied is not None:
        sop_name = uid.UID(str(ds.SOPClassUID).strip()).name
        raise NotAChestRadiograph(
            f"{label}: the DICOM header says SOP class {sop_name} ({_MODALITY_NAMES[implied]}), not a chest "
            f"radiograph; {_EXPECTED}",
            "dicom_modality",
            "SOPClassUID",
            sop_name,
        )


def _image_type(ds: Any, label: str) -> None:
    values = ds.get("ImageType")
    words = [_text(value) for value in (values if isinstance(values, (MultiValue, list, tuple)) else [values])]
    found = sorted(CROSS_SECTIONAL_TYPES.intersection(words))
    if found:
        raise NotAChestRadiograph(
            f"{label}: the DICOM header's ImageType ({'/'.join(w for w in words if w)}) marks a slice, volume or "
            f"scout image ({found[0]}), not a chest radiograph; {_EXPECTED}",
            "dicom_image_type",
            "ImageType",
            found[0],
        )


def _view(ds: Any, label: str) -> None:
    view = _text(ds.get("ViewPosition"))
    if view in NOT_FRONTAL_VIEWS:
        raise NotAChestRadiograph(
            f"{label}: the DICOM header says ViewPosition {view} (a lateral or oblique view); the model reads "
            f"frontal films only; {_EXPECTED}",
            "dicom_view",
            "ViewPosition",
            view,
        )


def _body_part(ds: Any, label: str) -> None:
    part = _text(ds.get("BodyPartExamined"))
    if part and not CHEST_WORDS.intersection(re.split(r"[^A-Z]+", part)):
        raise NotAChestRadiograph(
            f"{label}: the DICOM header says BodyPartExamined {part}, not the chest; {_EXPECTED}",
            "dicom_body_part",
            "BodyPartExamined",
            part,
        )


def _text(value: Any) -> str:
    """A header value as upper-case ASCII without accents ('Tórax' -> 'TORAX'); '' when absent."""
    if value is None:
        return ""
    plain = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    return plain.strip().upper()


__all__ = [
    "CHEST_WORDS",
    "CROSS_SECTIONAL_TYPES",
    "NOT_FRONTAL_VIEWS",
    "PROJECTION_MODALITIES",
    "SECONDARY_MODALITIES",
    "check_chest_header",
]
