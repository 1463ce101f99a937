"""Dataset discovery on tiny generated layouts, the torch Dataset, and the real corpus manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xray_core.config import CLASS_NAMES, LABELS, Preprocessing
from xray_core.data.dataset import (
    CORE_COLUMNS,
    DatasetError,
    canonical_label,
    class_counts,
    data_summary,
    external_tables,
    load_dataset,
    split_counts,
    tuning_tables,
)
from xray_core.data.torch_dataset import XrayDataset
from xray_core.io.reader import read_image
from xray_core.models.preprocessing import TrainAugment


def _image(path: Path, value: int = 128, size: tuple[int, int] = (6, 8)) -> Path:
    """Write a few-pixel grayscale image (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full(size, value, np.uint8)
    pixels[0, 0] = 0
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize(
    "name,expected",
    [
        ("NORMAL", "normal"),
        ("Healthy", "normal"),
        ("No Finding", "normal"),
        ("negative", "normal"),
        ("bacteria", "bacterial"),
        ("Bacterial", "bacterial"),
        ("pneumonia_bac", "bacterial"),
        ("bacterial pneumonia", "bacterial"),
        ("Pneumonia-Bacterial", "bacterial"),
        ("virus", "viral"),
        ("VIRAL", "viral"),
        ("pneumonia_vir", "viral"),
        ("viral  pneumonia", "viral"),
        ("Pneumonia-Viral", "viral"),
        ("COVID", "covid"),
        ("COVID-19", "covid"),
        ("covid19", "covid"),
        ("covid_19", "covid"),
        ("SARS-CoV-2", "covid"),
        (" Covid ", "covid"),
        ("PNEUMONIA", "pneumonia"),
        ("pneumonia", "pneumonia"),
        ("SARS", None),
        ("tuberculosis", None),
        ("", None),
    ],
)
def test_canonical_label(name: str, expected: str | None) -> None:
    assert canonical_label(name) == expected


def test_manifest_csv_with_relative_paths(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for name in ("a.png", "b.png", "c.png", "d.png"):
        _image(root / "images" / name)
    (root / "manifest.csv").write_text(
        "file,label,split,patient_id,source,age_group,width\n"
        "images/a.png,NORMAL,train,0012,src/one,adult,8\n"
        "images/b.png,Pneumonia-Bacterial,valid,,src/one,pediatric,8\n"
        "images/c.png,virus,test,p3,src/two,pediatric,8\n"
        "images/d.png,COVID-19,train,p4,src/two,adult,8\n"
    )
    for target in (root / "manifest.csv", root):
        df = load_dataset(target)
        assert list(df.columns) == [*CORE_COLUMNS, "age_group", "width"]
        assert list(df["label"]) == ["normal", "bacterial", "viral", "covid"]
        assert list(df["split"]) == ["train", "val", "test", "train"]
        assert list(df["patient_id"]) == ["0012", "", "p3", "p4"]
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in df["path"])
        assert df.attrs["unknown_folders"] == [] and df.attrs["skipped"] == 0


def test_manifest_errors_list_bad_labels(tmp_path: Path) -> None:
    csv = tmp_path / "list.csv"
    csv.write_text("path,label\nx.png,normal\ny.png,pneumonia\nz.png,tuberculosis\nw.png,fracture\n")
    with pytest.raises(DatasetError, match="tuberculosis.*fracture|fracture.*tuberculosis"):
        load_dataset(csv)
    csv.write_text("image,diagnosis\nx.png,normal\n")
    with pytest.raises(DatasetError, match="'file'"):
        load_dataset(csv)
    csv.write_text("path,label\nx.png,normal\n")
    df = load_dataset(csv)
    assert df.loc[0, "source"] == tmp_path.name and df.loc[0, "split"] == ""


def test_split_class_folders(tmp_path: Path) -> None:
    root = tmp_path / "mydata"
    _image(root / "train" / "normal" / "n1.png")
    _image(root / "train" / "COVID" / "c1.png")
    _image(root / "train" / "COVID" / "nested" / "c2.png")
    _image(root / "Valid" / "Healthy" / "n2.png")
    _image(root / "test" / "viral" / "v1.png")
    _image(root / "train" / "other" / "x.png")
    _image(root / "extras" / "normal" / "e.png")
    (root / "train" / "normal" / "notes.txt").write_text("not an image")
    _image(root / "train" / "normal" / "._n1.png")  # macOS resource fork
    df = load_dataset(root)
    assert list(df.columns) == list(CORE_COLUMNS)
    assert sorted(zip(df["split"], df["label"])) == [
        ("test", "viral"),
        ("train", "covid"),
        ("train", "covid"),
        ("train", "normal"),
        ("val", "normal"),
    ]
    assert set(df["patient_id"]) == {""} and set(df["source"]) == {"mydata"}
    assert df.attrs["unknown_folders"] == ["extras", "train/other"]


def test_class_folders_without_splits(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    _image(root / "Normal" / "a.png")
    _image(root / "bacteria" / "b.jpg")
    _image(root / "covid19" / "c.tif")
    _image(root / "mystery" / "d.png")
    df = load_dataset(root)
    assert sorted(df["label"]) == ["bacterial", "covid", "normal"]
    assert set(df["split"]) == {""}
    assert df.attrs["unknown_folders"] == ["mystery"]


def test_kaggle_layout_names_and_patients(tmp_path: Path) -> None:
    root = tmp_path / "chest_xray"
    files = {
        "train/NORMAL/IM-0115-0001.jpeg": ("normal", "train:IM-0115"),
        "train/NORMAL/NORMAL2-IM-0001-0001.jpeg": ("normal", "train:NORMAL2-IM-0001"),
        "train/PNEUMONIA/person12_bacteria_45.jpeg": ("bacterial", "train:person12"),
        "train/PNEUMONIA/person3_virus_16.jpeg": ("viral", "train:person3"),
        "val/PNEUMONIA/person3_virus_17.jpeg": ("viral", "train:person3"),  # val was carved from train
        "test/PNEUMONIA/person12_virus_1.jpeg": ("viral", "test:person12"),
        "test/NORMAL/IM-0115-0001.jpeg": ("normal", "test:IM-0115"),
    }
    for name in files:
        _image(root / name)
    files["train/PNEUMONIA/scan_0001.jpeg"] = ("pneumonia", "")  # neither bacteria nor virus: partial label
    _image(root / "train" / "PNEUMONIA" / "scan_0001.jpeg")
    df = load_dataset(root)
    got = {
        Path(p).relative_to(root).as_posix(): (label, pid)
        for p, label, pid in zip(df["path"], df["label"], df["patient_id"])
    }
    assert got == files
    assert df.attrs["skipped"] == 0 and df.attrs["unknown_folders"] == []
    assert set(df.loc[df["patient_id"].str.endswith("person12"), "split"]) == {"train", "test"}


def test_bad_paths_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="Accepted layouts"):
        load_dataset(tmp_path / "empty")
    _image(tmp_path / "odd" / "folder" / "a.png")
    with pytest.raises(DatasetError, match="manifest"):
        load_dataset(tmp_path / "odd")
    (tmp_path / "no_images" / "train" / "normal").mkdir(parents=True)
    with pytest.raises(DatasetError, match="No images"):
        load_dataset(tmp_path / "no_images")


def test_counts_and_json_summary(tmp_path: Path) -> None:
    root = tmp_path / "set"
    layout = [("train", "normal"), ("train", "normal"), ("val", "covid"), ("test", "viral")]
    for i, (split, folder) in enumerate(layout):
        _image(root / split / folder / f"{i}.png")
    df = load_dataset(root)
    assert class_counts(df).to_dict() == {"normal": 2, "bacterial": 0, "viral": 1, "covid": 1}
    table = split_counts(df)
    assert list(table.index) == ["train", "val", "test"] and list(table.columns) == list(CLASS_NAMES)
    assert table.loc["train", "normal"] == 2 and table.loc["test", "viral"] == 1
    summary = json.loads(json.dumps(data_summary(df)))
    assert summary["n_images"] == 4
    assert summary["split_class_counts"]["val"]["covid"] == 1
    assert summary["source_class_counts"]["set"]["normal"] == 2


@pytest.mark.parametrize("channels", [1, 3])
def test_xray_dataset_items(tmp_path: Path, channels: int) -> None:
    root = tmp_path / "ds"
    for value, folder in ((10, "normal"), (200, "covid"), (90, "bacteria")):
        _image(root / folder / "img.png", value=value, size=(12, 20))
    df = load_dataset(root)
    dataset = XrayDataset(df, Preprocessing(image_size=16, in_channels=channels))
    assert len(dataset) == 3
    for index in range(len(dataset)):
        tensor, label = dataset[index]
        assert tensor.shape == (channels, 16, 16) and tensor.dtype == torch.float32
        assert isinstance(label, int) and CLASS_NAMES[label] == df.loc[index, "label"]
    augmented = XrayDataset(df, Preprocessing(image_size=16), transform=TrainAugment(1.0))
    assert augmented[0][0].shape == (1, 16, 16)
    with pytest.raises(ValueError):
        XrayDataset(df.assign(label="tuberculosis"), Preprocessing())
    assert XrayDataset(df.assign(label="pneumonia"), Preprocessing()).labels[0] == LABELS.index("pneumonia")


# Counts from /work/shared/cxr/README.md.
_CORPUS_COUNTS = {
    "train": {"normal": 7714, "bacterial": 2061, "viral": 1105, "covid": 2394, "pneumonia": 233},
    "val": {"normal": 1020, "bacterial": 211, "viral": 120, "covid": 352, "pneumonia": 37},
    "test": {"normal": 941, "bacterial": 258, "viral": 117, "covid": 340, "pneumonia": 29},
}


@pytest.mark.corpus
def test_real_corpus_manifest(corpus_dir: Path) -> None:
    df = load_dataset(corpus_dir)
    assert len(df) == 16932
    assert split_counts(df).to_dict(orient="index") == _CORPUS_COUNTS
    assert set(df["label"]) == set(LABELS)
    assert {"age_group", "width", "height", "age_years", "view"} <= set(df.columns)
    assert set(df.loc[df["label"] == "pneumonia", "source"]) == {"muhammedtalo/COVID-19"}
    with_id = df[df["patient_id"] != ""]
    splits_per_patient = with_id.groupby("patient_id")["split"].nunique()
    assert (splits_per_patient == 1).all(), list(splits_per_patient[splits_per_patient > 1].index[:5])
    sample = df.groupby("label").sample(n=5, random_state=0)
    for path, width, height in zip(sample["path"], sample["width"], sample["height"]):
        image = read_image(path)
        assert image.pixels.shape == (int(height), int(width)) and image.pixels.dtype == np.float32
        assert image.pixels.min() >= 0.0 and image.pixels.max() <= 1.0


@pytest.mark.corpus
def test_external_set_loads_with_its_masks(corpus_dir: Path) -> None:
    df = load_dataset(corpus_dir / "external")
    assert len(df) == 203 and set(df["split"]) == {"external"}
    assert df["label"].value_counts().to_dict() == {"normal": 84, "bacterial": 75, "viral": 44}
    with_mask = df[df["lung_mask"] != ""]
    assert len(with_mask) == 202 and all(Path(p).is_file() for p in with_mask["lung_mask"])
    image, mask = read_image(with_mask["path"].iloc[0]), read_image(with_mask["lung_mask"].iloc[0])
    assert image.pixels.shape == mask.pixels.shape


@pytest.mark.corpus
def test_external_adult_loads_with_its_counts_per_cohort_and_label(corpus_dir: Path) -> None:
    df = external_tables(corpus_dir)["external_adult"]
    assert len(df) == 250 and set(df["split"]) == {"external_adult"}
    counts = df.groupby(["cohort", "label"]).size().to_dict()
    assert counts == {
        ("nih", "normal"): 153,
        ("nih", "pneumonia"): 75,
        ("ieee8023_typed", "bacterial"): 16,
        ("ieee8023_typed", "viral"): 6,
    }
    assert df["patient_id"].nunique() == 195 and (df["age_group"] == "adult").sum() == 242


def test_tuning_tables_hold_val_and_both_externals_never_test(tiny_dataset, tmp_path):
    tables = tuning_tables(tiny_dataset)
    assert list(tables) == ["val"] and set(tables["val"]["split"]) == {"val"}  # no external set beside it
    root = tmp_path / "with_external"
    shutil.copytree(tiny_dataset, root)
    shutil.copytree(tiny_dataset, root / "external")
    shutil.copytree(tiny_dataset, root / "external_adult")
    tables = tuning_tables(root)
    assert list(tables) == ["val", "external", "external_adult"]
    for name in ("external", "external_adult"):  # every row of the set, named after it; no 'test' split anywhere
        assert len(tables[name]) == len(load_dataset(tiny_dataset)) and set(tables[name]["split"]) == {name}
    assert not any((table["split"] == "test").any() for table in tables.values())
