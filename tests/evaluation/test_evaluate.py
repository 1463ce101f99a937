import json

import numpy as np
import pytest

from xray_core.cli.main import main
from xray_core.data.dataset import load_dataset
from xray_core.evaluation.evaluate import bootstrap_intervals, evaluate
from xray_core.evaluation.model_card import render
from xray_core.models.checkpoint import load_checkpoint


def test_report_and_card_from_one_dict(tiny_checkpoint, tiny_dataset, tmp_path):
    loaded = load_checkpoint(tiny_checkpoint)
    report = evaluate(loaded, load_dataset(tiny_dataset), "test", reps=20)
    assert report["n_images"] == 24 and report["split"] == "test"
    assert sum(map(sum, report["metrics"]["confusion_matrix"])) == 24
    assert set(report["per_source"]) == {"adult-repo", "kids-repo"}
    assert report["shortcut"]["adult_non_covid_pneumonias"] == 0
    json.dumps(report)
    card = render(report, loaded.meta)
    assert "UNTRAINED" in card and "not a diagnosis" in card and "Per source" in card


def test_cli_writes_metrics_and_card(tiny_checkpoint, tiny_dataset, tmp_path, capsys):
    out_json, out_card = tmp_path / "metrics.json", tmp_path / "MODEL_CARD.md"
    code = main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset), "--split", "val",
                 "--json", str(out_json), "--card", str(out_card), "--bootstrap", "10"])
    assert code == 0
    report = json.loads(out_json.read_text())
    assert report["split"] == "val" and "python -m xray_core evaluate" in report["command"]
    assert report["command"] in out_card.read_text()


def test_bootstrap_resamples_patients_not_images():
    y_true = np.array([0, 0, 1, 1])
    y_prob = np.array([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.2, 0.8, 0, 0], [0.4, 0.6, 0, 0]])
    # two patients, each holding one image of each class: every resample keeps both classes
    intervals = bootstrap_intervals(y_true, y_prob, np.array(["a", "b", "a", "b"]), ["normal", "bacterial",
                                                                                       "viral", "covid"], reps=50)
    assert intervals["normal.auc"] == pytest.approx([1.0, 1.0])
