import json
import shutil

import numpy as np
import pytest

from xray_core.cli.main import main
from xray_core.data.dataset import load_dataset
from xray_core.evaluation.evaluate import bootstrap_intervals, evaluate
from xray_core.evaluation.model_card import render
from xray_core.evaluation.shortcuts import linear_probe
from xray_core.models.checkpoint import load_checkpoint

CLASSES = ["normal", "bacterial", "viral", "covid"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def partial_dataset(tiny_dataset, tmp_path):
    """The tiny dataset with every other viral film relabelled 'pneumonia' (type unknown)."""
    root = tmp_path / "partial"
    shutil.copytree(tiny_dataset, root)
    lines = (root / "manifest.csv").read_text().splitlines()
    lines = [line.replace(",viral,", ",pneumonia,") if i % 2 else line for i, line in enumerate(lines)]
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def test_report_and_card_from_one_dict(tiny_checkpoint, partial_dataset):
    loaded = load_checkpoint(tiny_checkpoint)
    table = load_dataset(partial_dataset)
    report = evaluate(
        loaded,
        {"test": table[table["split"] == "test"], "val": table[table["split"] == "val"]},
        reps=20,
        probe_table=table,
    )
    test = report["splits"]["test"]
    assert test["n_images"] == 24 and test["metrics"]["n_partial"] == int(
        (table.query("split == 'test'")["label"] == "pneumonia").sum()
    )
    full = test["metrics"]["n"] - test["metrics"]["n_partial"]
    assert sum(map(sum, test["metrics"]["confusion_matrix"])) == full  # partial films never in the 4-class matrix
    assert set(test["per_source"]) == {"adult-repo", "kids-repo"} and "roc" in test
    assert {t["split"] for t in report["targets"]} == {"test"}  # targets only for the sets evaluated
    assert 0.0 <= report["probe"]["age_group_auc"] <= 1.0
    json.dumps(report)
    card = render(report, loaded.meta)
    assert "UNTRAINED" in card and "not a diagnosis" in card and "side by side" in card
    for heading in ("## Model\n", "## Targets", "## Training data", "## Limitations"):
        assert card.count(heading) == 1, heading


def test_linear_probe_reports_undefined_without_splits(tiny_checkpoint, tiny_dataset):
    loaded = load_checkpoint(tiny_checkpoint)
    table = load_dataset(tiny_dataset)
    assert linear_probe(loaded, table[table["split"] == "test"])["age_group_auc"] is None


def test_cli_writes_metrics_and_card(tiny_checkpoint, tiny_dataset, tmp_path, capsys):
    out_json, out_card = tmp_path / "metrics.json", tmp_path / "MODEL_CARD.md"
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(tiny_checkpoint),
            "--data",
            str(tiny_dataset),
            "--splits",
            "val,external",
            "--no-probe",
            "--json",
            str(out_json),
            "--card",
            str(out_card),
            "--bootstrap",
            "10",
        ]
    )
    assert code == 0
    report = json.loads(out_json.read_text())
    assert list(report["splits"]) == ["val"]  # no external/ folder beside the tiny dataset: skipped
    assert "python -m xray_core evaluate" in report["command"] and report["command"] in out_card.read_text()

    notes = tmp_path / "notes.md"
    notes.write_text("## Added after scoring\n\nA new note.\n")
    again = ["evaluate", "--checkpoint", str(tiny_checkpoint), "--card", str(out_card), "--notes", str(notes)]
    assert main([*again, "--rerender", str(out_json)]) == 0
    card = out_card.read_text()
    assert "A new note." in card and report["command"] in card and "--rerender" not in card
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**report, "model": {**report["model"], "sha256": "0" * 64}}))
    capsys.readouterr()
    assert main([*again, "--rerender", str(other)]) == 2 and "evaluate again" in capsys.readouterr().err


def test_bootstrap_resamples_patients_not_images():
    y_true = np.array([0, 0, 1, 1])
    y_prob = np.array([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.2, 0.8, 0, 0], [0.4, 0.6, 0, 0]])
    # two patients, each holding one image of each class: every resample keeps both classes
    intervals = bootstrap_intervals(y_true, y_prob, np.array(["a", "b", "a", "b"]), CLASSES, reps=50)
    assert intervals["normal.auc"] == pytest.approx([1.0, 1.0])
