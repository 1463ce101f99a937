"""Demo DICOMs: every transfer syntax and photometric interpretation reads back as the same film; a lateral film
and a CT slice are refused from their headers."""

from __future__ import annotations

import numpy as np
import pytest
from _apptest import chest_film

from xray_core.io.image import NotAChestRadiograph
from xray_core.io.reader import read_image
from xray_core.pacs.client import to_bytes
from xray_core.pacs.demo import TRANSFER_SYNTAXES, DemoFilm, dicom_film, out_of_scope


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize("syntax", TRANSFER_SYNTAXES, ids=lambda s: s.name)
def test_every_demo_encoding_reads_back_as_the_film(syntax, photometric):
    pixels = chest_film(3, 64)
    plain = read_image(to_bytes(dicom_film(pixels, DemoFilm(number=7))), name="plain.dcm")
    ds = dicom_film(pixels, DemoFilm(number=7, photometric=photometric, transfer_syntax=syntax))
    assert ds.file_meta.TransferSyntaxUID == syntax and ds.PhotometricInterpretation == photometric
    image = read_image(to_bytes(ds), name="demo.dcm")
    np.testing.assert_allclose(image.pixels, plain.pixels, atol=1e-6)  # all lossless; MONOCHROME1 inverted back


def test_headers_are_clearly_fake():
    ds = dicom_film(chest_film(1, 32), DemoFilm(number=12, view="AP"))
    assert str(ds.PatientName) == "DEMO^0012" and ds.PatientID == "DEMO0012"
    assert ds.AccessionNumber == "DEMOACC000012" and ds.ViewPosition == "AP" and ds.StudyDate.startswith("2026")


def test_lateral_and_ct_are_refused_from_their_headers(decoded):
    codes = []
    for ds in out_of_scope(chest_film(2, 64), 40):
        with pytest.raises(NotAChestRadiograph) as refusal:
            read_image(to_bytes(ds), name="x.dcm")
        codes.append(refusal.value.code)
    assert codes == ["dicom_view", "dicom_modality"]
    assert decoded == []  # refused before any pixel was decoded


@pytest.mark.pacs
@pytest.mark.corpus
def test_demo_worklist_loads_into_orthanc(orthanc, pacs, corpus_dir):
    from xray_core.pacs.client import list_studies
    from xray_core.pacs.demo import load_demo

    before = {row.study_uid for row in list_studies(pacs)}
    assert load_demo(orthanc.dicomweb, corpus_dir, 3) == 5  # three films, a lateral one and a 'CT'
    rows = [row for row in list_studies(pacs) if row.study_uid not in before]
    assert sorted(row.patient_name for row in rows)[:3] == ["DEMO^0001", "DEMO^0002", "DEMO^0003"]
    assert {m for row in rows for m in row.modalities} == {"CR", "DX", "CT"}
