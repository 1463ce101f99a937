"""The DICOM header decides first: a CT slice, a lateral view or another body part is refused before any pixel is
decoded, with the header's reason; a silent header leaves the decision to the image checks."""

from __future__ import annotations

import io
import pickle

import pydicom
import pytest
from _factories import dicom_bytes, gradient
from pydicom.data import get_testdata_file
from pydicom.uid import CTImageStorage, DigitalXRayImageStorageForPresentation

from xray_core.io import dicom
from xray_core.io.dicom_scope import check_chest_header
from xray_core.io.image import NotAChestRadiograph, XrayInputError
from xray_core.io.reader import read_image

FIELDS_READ = {"Modality", "SOPClassUID", "ImageType", "ViewPosition", "BodyPartExamined"}


def chest_dicom(**fields) -> bytes:
    """A generated 32 x 32 chest DICOM (CR, PA, CHEST) with ``fields`` set, or removed when None."""
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(gradient(32, 32))))
    for keyword, value in fields.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture
def no_pixels_decoded(monkeypatch):
    def refuse(*args):
        raise AssertionError("pixels decoded before the header was checked")

    monkeypatch.setattr(dicom, "_dicom_pixels", refuse)


def test_pydicoms_ct_slice_is_refused_from_its_header(no_pixels_decoded):
    with pytest.raises(NotAChestRadiograph, match=r"^CT_small\.dcm: .*Modality CT .*expected") as caught:
        read_image(get_testdata_file("CT_small.dcm"))
    assert (caught.value.code, caught.value.field, caught.value.value) == ("dicom_modality", "Modality", "CT")
    assert isinstance(caught.value, XrayInputError)  # every surface already shows these as clear messages


@pytest.mark.parametrize(
    "fields, code, value",
    [
        ({"ViewPosition": "LL"}, "dicom_view", "LL"),
        ({"ViewPosition": "lateral"}, "dicom_view", "LATERAL"),
        ({"BodyPartExamined": "KNEE"}, "dicom_body_part", "KNEE"),
        ({"Modality": "MR"}, "dicom_modality", "MR"),
        ({"ImageType": ["DERIVED", "SECONDARY", "LOCALIZER"]}, "dicom_image_type", "LOCALIZER"),
        ({"Modality": "OT", "SOPClassUID": CTImageStorage}, "dicom_modality", "CT Image Storage"),
    ],
)
def test_headers_that_say_not_a_frontal_chest_film_are_refused(fields, code, value, no_pixels_decoded):
    with pytest.raises(NotAChestRadiograph, match=r"^film\.dcm: the DICOM header.*expected a frontal") as caught:
        read_image(chest_dicom(**fields), name="film.dcm")
    assert (caught.value.code, caught.value.value) == (code, value)


@pytest.mark.parametrize(
    "fields",
    [
        {"Modality": "DX", "SOPClassUID": DigitalXRayImageStorageForPresentation, "ViewPosition": "AP"},
        {"Modality": None, "ViewPosition": None, "BodyPartExamined": None},  # a silent header
        {"Modality": "OT", "ViewPosition": None, "BodyPartExamined": None},  # secondary capture, no contradiction
        {"BodyPartExamined": "Tórax", "ViewPosition": "PA", "ImageType": ["ORIGINAL", "PRIMARY"]},
        {"BodyPartExamined": "", "ViewPosition": "LLD"},  # decubitus: a frontal projection of a lying patient
    ],
)
def test_chest_and_silent_headers_read(fields):
    assert read_image(chest_dicom(**fields), name="film.dcm").pixels.shape == (32, 32)


def test_chest_only_false_reads_any_grayscale_dicom():
    assert read_image(get_testdata_file("CT_small.dcm"), chest_only=False).meta["modality"] == "CT"


def test_only_technical_fields_are_read():
    seen: list[str] = []

    class Recording(dict):
        def get(self, key, default=None):
            seen.append(key)
            return super().get(key, default)

    check_chest_header(Recording(Modality="CR", PatientName="Doe^Jane"), "film.dcm")
    assert set(seen) == FIELDS_READ


def test_the_refusal_survives_a_trip_to_a_decoding_worker():
    with pytest.raises(NotAChestRadiograph) as caught:
        read_image(chest_dicom(BodyPartExamined="KNEE"), name="knee.dcm")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), str(copy), copy.code, copy.field) == (
        NotAChestRadiograph,
        str(caught.value),
        "dicom_body_part",
        "BodyPartExamined",
    )
