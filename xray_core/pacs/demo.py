"""Demo and test DICOMs with realistic, clearly fake headers (``DEMO^0001``...), built from plain films.

The pixels come from the external validation films (never the training ones); every identifying field is made
up. A demo worklist mixes CR and DX, PA and AP, MONOCHROME1 and MONOCHROME2 and a few transfer syntaxes
(uncompressed, deflated, RLE, JPEG-LS and JPEG 2000 lossless), as films arrive from different modalities.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import Dataset, uid
from pydicom.dataset import FileMetaDataset

#: (transfer syntax, needs pixel encoding) cycled over the demo films.
TRANSFER_SYNTAXES = (
    uid.ExplicitVRLittleEndian,
    uid.RLELossless,
    uid.DeflatedExplicitVRLittleEndian,
    uid.JPEGLSLossless,
    uid.JPEG2000Lossless,
)
_SOP_CLASSES = {"DX": uid.DigitalXRayImageStorageForPresentation, "CR": uid.ComputedRadiographyImageStorage,
                "CT": uid.CTImageStorage}  # fmt: skip
FIRST_DATE = date(2026, 11, 2)


@dataclass(frozen=True)
class DemoFilm:
    """What a demo study says about itself; ``number`` makes the fake name, id and accession number."""

    number: int
    modality: str = "DX"
    view: str = "PA"
    photometric: str = "MONOCHROME2"
    transfer_syntax: str = uid.ExplicitVRLittleEndian
    body_part: str = "CHEST"

    @property
    def patient_name(self) -> str:
        return f"DEMO^{self.number:04d}"

    @property
    def study_date(self) -> str:
        return (FIRST_DATE + timedelta(days=self.number % 30)).strftime("%Y%m%d")


def film_pixels(path: str | Path, side: int | None = None) -> np.ndarray:
    """A film file as uint8 H x W (grey), its longer side shrunk to ``side`` when given."""
    with Image.open(path) as image:
        grey = image.convert("L")
        if side is not None and max(grey.size) > side:
            grey.thumbnail((side, side))
        return np.asarray(grey, dtype=np.uint8).copy()


def dicom_film(pixels: np.ndarray, film: DemoFilm) -> Dataset:
    """One single-image study of ``pixels`` (uint8 H x W, 0 = black) with ``film``'s fake header; MONOCHROME1
    stores the inverted values, as such modalities do, so readers show the same film."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = _SOP_CLASSES[film.modality]
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = uid.generate_uid()
    ds.PatientName, ds.PatientID = film.patient_name, f"DEMO{film.number:04d}"
    ds.PatientBirthDate, ds.PatientSex = "", "O"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid.generate_uid(), uid.generate_uid()
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = film.study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = f"{8 + film.number % 10:02d}{film.number % 60:02d}00"
    ds.AccessionNumber, ds.StudyID = f"DEMOACC{film.number:06d}", f"{film.number}"
    ds.StudyDescription = "DEMO chest radiograph (fake header)"
    ds.ReferringPhysicianName = "DEMO^REFERRER"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = film.modality, 1, 1
    ds.BodyPartExamined, ds.ViewPosition = film.body_part, film.view
    ds.Manufacturer, ds.InstitutionName = "DEMO", "DEMO HOSPITAL"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if film.modality == "CT" else ["ORIGINAL", "PRIMARY"]
    ds.PatientOrientation = "" if film.modality == "CT" else ["L", "F"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, film.photometric
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    stored = 255 - pixels if film.photometric == "MONOCHROME1" else pixels
    ds.PixelData = np.ascontiguousarray(stored, dtype=np.uint8).tobytes()
    if film.transfer_syntax in (uid.RLELossless, uid.JPEGLSLossless, uid.JPEG2000Lossless):
        ds.compress(film.transfer_syntax)
    else:
        ds.file_meta.TransferSyntaxUID = film.transfer_syntax
    return ds


def demo_films(data_dir: Path, count: int) -> Iterator[tuple[Path, DemoFilm]]:
    """``count`` (file, header) pairs from ``data_dir``'s ``external*/`` sets, alternating adult and pediatric."""
    files = []
    for folder in ("external_adult", "external"):
        with open(data_dir / folder / "manifest.csv", newline="") as table:
            files.append([data_dir / folder / row["file"] for row in csv.DictReader(table)])
    for number in range(1, count + 1):
        pool = files[number % 2] or files[0]
        yield (
            pool[(number // 2) % len(pool)],
            DemoFilm(
                number=number,
                modality=("DX", "CR")[number % 2],
                view=("PA", "AP")[(number // 2) % 2],
                photometric=("MONOCHROME2", "MONOCHROME1")[(number // 3) % 2],
                transfer_syntax=TRANSFER_SYNTAXES[number % len(TRANSFER_SYNTAXES)],
            ),
        )


def out_of_scope(pixels: np.ndarray, number: int) -> list[Dataset]:
    """A lateral chest film and a 'CT slice' (fake headers on ``pixels``): refused from their headers."""
    lateral = DemoFilm(number=number, view="LL")
    ct = DemoFilm(number=number + 1, modality="CT", view="")
    return [dicom_film(pixels, lateral), dicom_film(pixels, ct)]


def load_demo(url: str, data_dir: Path, count: int) -> int:
    """Store ``count`` demo studies plus a lateral film and a 'CT slice' at the DICOMweb ``url``; returns how many
    instances were stored."""
    from xray_core.pacs.client import connect, store

    datasets = [dicom_film(film_pixels(path, 1024), film) for path, film in demo_films(data_dir, count)]
    first = next(demo_films(data_dir, 1))[0]
    datasets += out_of_scope(film_pixels(first, 512), count + 1)
    client = connect(url)
    for start in range(0, len(datasets), 8):
        store(client, datasets[start : start + 8])
    return len(datasets)


__all__ = ["DemoFilm", "TRANSFER_SYNTAXES", "demo_films", "dicom_film", "film_pixels", "load_demo", "out_of_scope"]
