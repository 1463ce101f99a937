import json

import numpy as np
import pytest
import torch
from _lung_corpus import write_lung_corpus
from PIL import Image

from xray_core.cli.main import main
from xray_core.cli.main import main as cli_main
from xray_core.config import Preprocessing
from xray_core.explain.methods import DEFAULT_METHOD
from xray_core.models.unet import SegmenterMeta, UNet, save_segmenter


@pytest.fixture()
def segmenter(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "lungs.pt"
    save_segmenter(path, UNet(1, (4, 8)), SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8)))
    return path


@pytest.fixture()
def films(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "films"
    folder.mkdir()
    Image.fromarray(rng.integers(0, 255, (90, 70), dtype=np.uint8)).save(folder / "alpha.png")
    Image.fromarray(rng.integers(0, 255, (64, 80), dtype=np.uint8)).save(folder / "beta.jpg")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def test_segment_writes_binary_masks_at_each_films_size(segmenter, films, tmp_path, capsys):
    out = tmp_path / "masks"
    files = [str(films / name) for name in ("alpha.png", "broken.png", "beta.jpg")]
    assert main(["segment", *files, "--out", str(out), "--segmenter", str(segmenter)]) == 1
    assert "broken.png" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["alpha.png", "beta.png"]
    for name, shape in (("alpha.png", (90, 70)), ("beta.png", (64, 80))):
        mask = Image.open(out / name)
        assert mask.mode == "L" and np.asarray(mask).shape == shape
        assert set(np.unique(np.asarray(mask))) <= {0, 255}


def test_segment_explains_missing_segmenter_and_arguments(films, tmp_path, capsys):
    film = str(films / "alpha.png")
    assert main(["segment", film, "--out", str(tmp_path), "--segmenter", str(tmp_path / "no.pt")]) == 2
    assert "train-segmenter" in capsys.readouterr().err
    assert main(["segment", film]) == 2
    assert "--out DIR" in capsys.readouterr().err


def test_explain_maps_and_json_with_lung_figures(tiny_checkpoint, segmenter, films, tmp_path, capsys):
    maps, report = tmp_path / "maps", tmp_path / "report.json"
    files = [str(films / "alpha.png"), str(films / "beta.jpg")]
    code = cli_main(
        [
            "explain",
            *files,
            "--checkpoint",
            str(tiny_checkpoint),
            "--maps",
            str(maps),
            "--json",
            str(report),
            "--segmenter",
            str(segmenter),
            "--target",
            "viral",
        ]
    )
    assert code == 0 and f"explanation: {DEFAULT_METHOD} for viral" in capsys.readouterr().out
    for name, shape in (("alpha.png", (90, 70)), ("beta.png", (64, 80))):
        picture = Image.open(maps / name)
        assert picture.mode == "L" and np.asarray(picture).shape == shape
    rows = json.loads(report.read_text())
    assert [row["target"] for row in rows] == ["viral", "viral"] and rows[0]["method"] == DEFAULT_METHOD
    for row in rows:  # noise films (often refused) and an untrained segmenter: no lung claims, as on Diagnose
        assert row["lungs"]["reason"] in ("refused", "untrained_segmenter") and row["lungs"]["lung_fraction"] is None
        assert row["lungs"]["pointing_hit"] is None and row["map"].endswith(".png")


def test_explain_json_says_why_lungs_are_missing(tiny_checkpoint, films, tmp_path, capsys):
    code = cli_main(
        [
            "explain",
            str(films / "alpha.png"),
            str(films / "broken.png"),
            "--checkpoint",
            str(tiny_checkpoint),
            "--json",
            "--segmenter",
            str(tmp_path / "none.pt"),
        ]
    )
    rows = json.loads(capsys.readouterr().out)
    assert code == 1 and "error" in rows[1]
    assert rows[0]["lungs"]["lung_fraction"] is None and rows[0]["lungs"]["pointing_hit"] is None
    assert rows[0]["lungs"]["reason"] == "no_segmenter" and "not found" in rows[0]["lungs"]["note"]
    assert (
        cli_main(
            [
                "explain",
                str(films / "alpha.png"),
                str(films / "beta.jpg"),
                "--out",
                str(tmp_path / "o.png"),
                "--checkpoint",
                str(tiny_checkpoint),
            ]
        )
        == 2
    )


def test_evaluate_writes_report_and_card(segmenter, tmp_path, capsys):
    data = write_lung_corpus(tmp_path / "cxr", counts=(("val", 2), ("test", 1)), external=2)
    out, card = tmp_path / "metrics.json", tmp_path / "CARD.md"
    assert (
        main(
            [
                "segment",
                "--evaluate",
                "--data",
                str(data),
                "--segmenter",
                str(segmenter),
                "--json",
                str(out),
                "--card",
                str(card),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["command"].startswith("python -m xray_core segment --evaluate")
    assert {name: s["summary"]["n"] for name, s in report["sections"].items()} == {
        "lungs_val": 2,
        "lungs_test": 1,
        "external": 2,
    }
    assert len(report["sections"]["external"]["per_image"]) == 2 and report["goal"]["met"] is False
    assert "does NOT meet" in card.read_text() and "| external | 2 |" in card.read_text()
