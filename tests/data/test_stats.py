"""Dataset statistics: scanning, cache, duplicates, leakage, confounding, outliers, summary and the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xray_core.data import duplicates, image_stats, stats
from xray_core.data import scan as stats_scan
from xray_core.data.scan import scan_images
from xray_core.io.reader import read_image


def _xray(seed: int, height: int = 120, width: int = 100) -> np.ndarray:
    """A synthetic radiograph (uint8): dark corners, darker lungs, bright mediastinum, seed-specific texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    body = ((x - 0.5) / 0.45) ** 2 + ((y - 0.55) / 0.5) ** 2 < 1
    lungs = (((np.abs(x - 0.5) - 0.2) / 0.13) ** 2 + ((y - 0.45) / 0.25) ** 2) < 1  # two ellipses at x = 0.3, 0.7
    image = 0.05 + 0.6 * body - 0.3 * lungs + 0.25 * (np.abs(x - 0.5) < 0.05) * body
    texture = cv2.resize(rng.random((8, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return (np.clip(image + 0.5 * (texture - 0.5), 0, 1) * 255).astype(np.uint8)


def _save(path: Path, pixels: np.ndarray, **options) -> str:
    Image.fromarray(pixels).save(path, **options)
    return str(path)


# name: (seed, split, patient, label, source)
_ROWS = {
    "a0": (0, "train", "p0", "normal", "S1"),
    "a1": (1, "train", "p1", "normal", "S1"),
    "a2": (2, "train", "p2", "bacterial", "S1"),
    "a3": (3, "train", "p3", "bacterial", "S1"),
    "a4": (4, "val", "p3", "bacterial", "S1"),
    "a5": (5, "val", "p5", "covid", "S2"),
    "a6": (6, "test", "p6", "covid", "S2"),
    "a7": (7, "test", "p7", "covid", "S2"),
}


@pytest.fixture()
def dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    """8 distinct films; a0 copied byte for byte into test, a1 shrunk and re-encoded into val (both leaks),
    a2 copied within train (a duplicate, not a leak); patient p3 in train and val."""
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "images"
    folder.mkdir()
    rows = [
        (_save(folder / f"{n}.jpg", _xray(seed), quality=90), label, split, patient, source)
        for n, (seed, split, patient, label, source) in _ROWS.items()
    ]
    shutil.copy(folder / "a0.jpg", folder / "a0_copy.jpg")
    shutil.copy(folder / "a2.jpg", folder / "a2_copy.jpg")
    _save(folder / "a1_small.jpg", np.asarray(Image.fromarray(_xray(1)).resize((80, 96))), quality=50)
    rows += [
        (str(folder / "a0_copy.jpg"), "normal", "test", "q0", "S1"),
        (str(folder / "a2_copy.jpg"), "bacterial", "train", "q2", "S1"),
        (str(folder / "a1_small.jpg"), "normal", "val", "q1", "S1"),
    ]
    return pd.DataFrame(rows, columns=["path", "label", "split", "patient_id", "source"])


def _names(paths) -> set[str]:
    return {Path(p).stem for p in paths}


def test_scan_columns_and_values(dataset: pd.DataFrame) -> None:
    scan = scan_images(dataset, workers=1)
    assert list(scan.columns[: len(stats_scan.SCAN_COLUMNS)]) == list(stats_scan.SCAN_COLUMNS)
    assert scan["path"].tolist() == dataset["path"].tolist()
    first = scan.iloc[0]
    assert first[["width", "height", "format", "bit_depth", "mode"]].tolist() == [100, 120, "JPEG", 8, "L"]
    assert first["error"] == "" and not first["is_color"] and len(first["hist"]) == image_stats.HIST_BINS
    assert sum(first["hist"]) == pytest.approx(1.0, abs=1e-5)
    assert first["p1"] <= first["p50"] <= first["p99"]
    assert first["mean"] == pytest.approx(read_image(first["path"]).pixels.mean(), abs=0.01)


def test_pixel_statistics_hand_computed() -> None:
    gray = np.array([[0, 0], [255, 255]], np.uint8).repeat(8, axis=0).repeat(8, axis=1)
    result = image_stats.pixel_statistics(gray)
    assert (result["mean"], result["std"], result["p1"], result["p99"]) == (0.5, 0.5, 0.0, 1.0)
    assert result["hist"][0] == result["hist"][-1] == 0.5


def test_duplicate_groups_found_exactly(dataset: pd.DataFrame) -> None:
    groups = stats.duplicate_groups(scan_images(dataset, workers=1))
    found = {frozenset(_names(g["path"])): set(g["kind"]) for _, g in groups.groupby("group")}
    assert found == {
        frozenset({"a0", "a0_copy"}): {"exact"},
        frozenset({"a2", "a2_copy"}): {"exact"},
        frozenset({"a1", "a1_small"}): {"near"},
    }


def test_near_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    flips = rng.random((150, 256)) < 0.05  # about 13 of 256 bits: many pairs within 16 bits, some beyond
    codes[150:] = np.packbits(np.unpackbits(codes[:150], axis=1) ^ flips, axis=1)
    distance = np.unpackbits(codes[:, None] ^ codes[None], axis=2).sum(axis=2)
    expected = {(i, j) for i, j in zip(*np.nonzero(distance <= 16)) if i < j}
    i, j = duplicates._near_pairs(codes, 16)
    assert set(zip(i.tolist(), j.tolist())) == expected and len(expected) > 100


def test_leakage_found_exactly(dataset: pd.DataFrame) -> None:
    found = stats.leakage(dataset, scan_images(dataset, workers=1))
    assert found["patients"].to_dict("records") == [
        {"patient_id": "p3", "splits": "train,val", "n_images": 2, "labels": "bacterial"}
    ]
    groups = {frozenset(_names(g["path"])) for _, g in found["duplicates"].groupby("group")}
    assert groups == {frozenset({"a0", "a0_copy"}), frozenset({"a1", "a1_small"})}


def test_confounding_hand_computed() -> None:
    table = pd.DataFrame({"label": ["normal"] * 10 + ["covid"] * 10, "source": ["S1"] * 8 + ["S2"] * 2 + ["S2"] * 10})
    result = stats.confounding(table)
    # chi2 = n (ad - bc)^2 / (row and column totals) = 20 * 80^2 / (10 * 10 * 8 * 12); V = sqrt(chi2 / 20)
    assert result["cramers_v"] == pytest.approx(np.sqrt(20 * 80**2 / (10 * 10 * 8 * 12) / 20))
    assert result["shares"] == {"normal": {"S1": 0.8, "S2": 0.2}, "covid": {"S1": 0.0, "S2": 1.0}}
    assert result["warnings"][:2] == [
        "80% of 'normal' images come from one source (S1).",
        "100% of 'covid' images come from one source (S2).",
    ]
    assert "Strong association between class and source (Cramer's V = 0.82)" in result["warnings"][2]


def test_confounding_single_source_is_undefined_without_warning() -> None:
    result = stats.confounding(pd.DataFrame({"label": ["normal", "covid"], "source": ["S1", "S1"]}))
    assert result["cramers_v"] is None and result["warnings"] == []


def test_size_confounding_warning() -> None:
    table = pd.DataFrame(
        {
            "path": list("abcd"),
            "label": ["normal", "normal", "covid", "covid"],
            "split": "",
            "patient_id": "",
            "source": "S",
        }
    )
    scan = pd.DataFrame(
        {
            "path": list("abcd"),
            "width": [224, 224, 384, 224],
            "height": [224, 224, 300, 224],
            "aspect": [1.0, 1.0, 1.28, 1.0],
            "error": "",
            "is_color": False,
            "phash": "",
            "format": "JPEG",
            "bit_depth": 8,
            "mode": "L",
            "hist": None,
            **{c: np.nan for c in ("mean", "std", "p1", "p99", "inversion_score")},
        }
    )
    warnings = stats.summarize(table, scan)["warnings"]
    assert (
        "100% of 'normal' images are square vs 50% of 'covid': image size can reveal the class; resize every "
        "image the same way." in warnings
    )


def test_outliers_flag_colour_blank_aspect_inverted_and_unreadable(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    photo = np.zeros((90, 120, 3), np.uint8)
    photo[..., 0], photo[..., 1] = 230, rng.integers(0, 120, (90, 120))
    paths = {
        "photo": _save(tmp_path / "photo.jpg", photo),
        "blank": _save(tmp_path / "blank.png", np.full((64, 64), 128, np.uint8)),
        "strip": _save(tmp_path / "strip.png", _xray(9, 25, 100)),
        "inverted": _save(tmp_path / "inverted.jpg", 255 - _xray(3)),
        "fine": _save(tmp_path / "fine.jpg", _xray(4)),
        "grey_rgb": _save(tmp_path / "grey_rgb.jpg", np.repeat(_xray(5)[..., None], 3, axis=2)),
    }
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    scan = scan_images([*paths.values(), str(tmp_path / "broken.jpg")], workers=1, cache=False)
    flagged = stats.outliers(scan)
    reasons = dict(zip([Path(p).stem for p in flagged["path"]], flagged["reasons"]))
    assert reasons == {
        "photo": "colour image",
        "blank": "near-constant (blank)",
        "strip": "extreme aspect ratio",
        "inverted": "likely inverted",
        "broken": reasons["broken"],
    }
    assert reasons["broken"].startswith("unreadable (")


def test_unreadable_and_missing_files_give_error_rows(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    scan = scan_images([str(tmp_path / "empty.png"), str(tmp_path / "missing.jpg")], workers=1, cache=False)
    assert (scan["error"] != "").all() and scan["width"].isna().all()
    assert "missing.jpg" in scan["path"].iloc[1] and "FileNotFoundError" in scan["error"].iloc[1]


def test_sixteen_bit_png_goes_through_read_image(tmp_path: Path) -> None:
    values = _xray(2).astype(np.uint16) * 257
    path = _save(tmp_path / "deep.png", values)
    row = scan_images([path], workers=1, cache=False).iloc[0]
    assert (row["bit_depth"], row["error"]) == (16, "")
    assert row["mean"] == pytest.approx(float(read_image(path).pixels.mean()), abs=0.01)


def test_metadata_only_scan_reads_headers(dataset: pd.DataFrame) -> None:
    scan = scan_images(dataset, pixels=False, workers=1, cache=False)
    assert scan["width"].tolist() == [100] * 10 + [80] and scan["mean"].isna().all()
    assert not scan["has_pixels"].any() and (scan["error"] == "").all()


def _recording(scanned: list[str], original):
    def chunk(paths, pixels):
        scanned.extend(paths)
        return original(paths, pixels)

    return chunk


def test_cache_reuses_rows_and_rescans_a_changed_file(dataset: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    first = scan_images(dataset, workers=1)
    scanned: list[str] = []
    original = stats_scan._scan_chunk
    monkeypatch.setattr(stats_scan, "_scan_chunk", _recording(scanned, original))
    calls: list[tuple[int, int]] = []
    again = scan_images(dataset, workers=1, progress=lambda done, total: calls.append((done, total)))
    assert scanned == [] and calls[-1] == (11, 11)
    pd.testing.assert_frame_equal(first.drop(columns="hist"), again.drop(columns="hist"))
    changed = dataset["path"].iloc[3]
    _save(Path(changed), 255 - _xray(3), quality=90)
    stat = os.stat(changed)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    third = scan_images(dataset, workers=1)
    assert scanned == [changed]
    assert third["mean"].iloc[3] > first["mean"].iloc[3] + 0.1 and third["mean"].iloc[4] == first["mean"].iloc[4]


def test_process_pool_matches_in_process_scan(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"{i}.jpg", _xray(i, 64, 64)) for i in range(70)]
    calls: list[int] = []
    pooled = scan_images(paths, workers=2, cache=False, progress=lambda done, total: calls.append(done))
    serial = scan_images(paths, workers=1, cache=False)
    pd.testing.assert_frame_equal(pooled, serial)
    assert calls[-1] == 70 and calls == sorted(calls)


def test_summarize_is_json_and_counts(dataset: pd.DataFrame) -> None:
    summary = stats.summarize(dataset.assign(age_group="adult"), scan_images(dataset, workers=1))
    json.dumps(summary, allow_nan=False)
    assert summary["class_counts"] == {"normal": 4, "bacterial": 4, "viral": 0, "covid": 3}
    assert summary["split_class_counts"]["val"] == {"normal": 1, "bacterial": 1, "viral": 0, "covid": 1}
    assert summary["patients_per_class"]["bacterial"] == 3
    assert summary["duplicates"]["n_exact_groups"] == 2 and summary["duplicates"]["n_near_groups"] == 1
    assert summary["leakage"]["n_patients_across_splits"] == 1
    assert summary["leakage"]["n_duplicate_groups_across_splits"] == 2
    assert "1 patient(s) appear in more than one split." in summary["warnings"]
    assert summary["confounding"]["age_group"]["cramers_v"] is None


def test_cli_writes_json_and_html(dataset: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from xray_core.cli.main import main

    manifest = dataset.rename(columns={"path": "file"})
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    code = main(
        [
            "stats",
            str(tmp_path),
            "--json",
            str(tmp_path / "out.json"),
            "--html",
            str(tmp_path / "out.html"),
            "--quiet",
            "--workers",
            "1",
        ]
    )
    assert code == 0
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["n_images"] == 11 and summary["leakage"]["n_duplicate_groups_across_splits"] == 2
    page = (tmp_path / "out.html").read_text()
    assert "Plotly.newPlot" in page and "Duplicate groups across splits: 2" in page
    assert "WARNING: 1 patient(s) appear in more than one split." in capsys.readouterr().out
    assert main(["stats", str(tmp_path / "nowhere")]) == 2


@pytest.mark.corpus
def test_corpus_metadata_counts_match_manifest(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xray_core.data.dataset import load_dataset

    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path))
    table = load_dataset(corpus_dir).sample(300, random_state=0).reset_index(drop=True)
    manifest = pd.read_csv(corpus_dir / "manifest.csv", dtype=str).fillna("").set_index("file")
    rows = manifest.loc[[os.path.relpath(p, corpus_dir) for p in table["path"]]]
    scan = scan_images(table, pixels=False)
    summary = stats.summarize(table, scan)
    assert summary["class_counts"] == {c: int((rows["label"] == c).sum()) for c in summary["class_names"]}
    for split, counts in summary["split_class_counts"].items():
        assert counts == {c: int(((rows["split"] == split) & (rows["label"] == c)).sum()) for c in counts}
    assert sum(sum(v.values()) for v in summary["source_class_counts"].values()) == 300
    assert scan["width"].tolist() == rows["width"].astype(int).tolist()
    assert scan["height"].tolist() == rows["height"].astype(int).tolist()
