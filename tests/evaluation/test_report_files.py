"""metrics.json beside a checkpoint: read or explained, and its ROC points as evaluate writes them."""

from __future__ import annotations

import json

import numpy as np

from xray_core.evaluation.metrics import roc_points
from xray_core.evaluation.report_files import evaluate_command, read_report, report_path, report_roc


def test_read_report_says_what_is_missing(tmp_path):
    checkpoint = tmp_path / "model.pt"
    assert report_path(checkpoint) == tmp_path / "metrics.json"
    report, message = read_report(checkpoint)
    assert report is None and f"python -m xray_core evaluate --checkpoint {checkpoint}" in message
    (tmp_path / "metrics.json").write_text("{not json")
    assert "not readable" in read_report(checkpoint)[1]
    (tmp_path / "metrics.json").write_text(json.dumps({"splits": {"test": {"n_images": 3}}}))
    assert "no metrics for test" in read_report(checkpoint)[1]
    old = {"split": "test", "metrics": {"accuracy": 0.5}, "command": "python -m xray_core evaluate --json m.json"}
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    report, message = read_report(checkpoint)
    assert report is None and "older evaluate" in message and message.endswith("re-run: " + old["command"])
    (tmp_path / "metrics.json").write_text(json.dumps({"splits": {"test": {"metrics": {"accuracy": 0.5}}}}))
    assert read_report(checkpoint)[0]["splits"]["test"]["metrics"]["accuracy"] == 0.5


def test_roc_points_match_sklearn_auc_and_mark_absent_classes():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 200)  # class 3 never occurs
    y_prob = rng.dirichlet(np.ones(4), 200)
    y_prob[np.arange(200), y_true] += 0.5
    curves = roc_points(y_true, y_prob / y_prob.sum(axis=1, keepdims=True), ["a", "b", "c", "d"])
    assert curves["d"] is None
    for curve in (curves["a"], curves["b"], curves["c"]):
        assert curve["fpr"][0] == 0 and curve["tpr"][-1] == 1 and 0.5 < curve["auc"] <= 1


def test_roc_points_leave_partial_labels_out():
    y_prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    with_partial = roc_points(np.array([0, 1, 0, 2]), y_prob, ["a", "b"])  # 2: a partial label
    assert with_partial == roc_points(np.array([0, 1, 0]), y_prob[:3], ["a", "b"])


def test_report_roc_reads_a_sections_points_or_names_the_command(tmp_path):
    checkpoint = tmp_path / "model.pt"
    curves = roc_points(np.array([0, 1, 0, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), ["a", "b"])
    report = json.loads(
        json.dumps(
            {
                "splits": {"test": {"metrics": {}, "roc": curves}, "external": {"metrics": {}}},
                "command": "python -m xray_core evaluate --json weights/metrics.json",
            }
        )
    )
    assert report_roc(report, "test", checkpoint) == (curves, "")
    missing, message = report_roc(report, "external", checkpoint)
    assert missing is None and "external films" in message
    assert message.endswith("Re-run: python -m xray_core evaluate --json weights/metrics.json")
    assert evaluate_command(checkpoint) in report_roc({"splits": {}}, "test", checkpoint)[1]
