import numpy as np
import pytest

from xray_core.config import CLASS_NAMES
from xray_core.evaluation import metrics

# Hand-checked fixture: 8 images, classes normal=0, bacterial=1, viral=2, covid=3.
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 3, 3])
Y_PROB = np.array(
    [
        [0.90, 0.05, 0.03, 0.02],  # normal, right
        [0.60, 0.30, 0.05, 0.05],  # normal, right
        [0.20, 0.70, 0.05, 0.05],  # normal, called bacterial
        [0.10, 0.80, 0.05, 0.05],  # bacterial, right
        [0.10, 0.30, 0.55, 0.05],  # bacterial, called viral
        [0.05, 0.20, 0.70, 0.05],  # viral, right
        [0.05, 0.05, 0.10, 0.80],  # covid, right
        [0.40, 0.05, 0.05, 0.50],  # covid, right
    ]
)


def test_hand_checked_per_class_metrics():
    result = metrics.summary(Y_TRUE, Y_PROB, CLASS_NAMES)
    assert result["accuracy"] == pytest.approx(6 / 8)
    normal, bacterial = result["per_class"]["normal"], result["per_class"]["bacterial"]
    assert normal["sensitivity"] == pytest.approx(2 / 3) and normal["specificity"] == pytest.approx(1.0)
    assert normal["ppv"] == pytest.approx(1.0) and normal["npv"] == pytest.approx(5 / 6)
    assert bacterial["sensitivity"] == pytest.approx(0.5) and bacterial["ppv"] == pytest.approx(0.5)
    assert bacterial["specificity"] == pytest.approx(5 / 6)
    assert result["per_class"]["covid"]["auc"] == pytest.approx(1.0)
    # normal vs rest: normal scores .9 .6 .2 against .1 .1 .05 .05 .4 -> 14 of 15 pairs ordered (.2 < .4)
    assert result["per_class"]["normal"]["auc"] == pytest.approx(14 / 15)
    assert result["confusion_matrix"][0] == [2, 1, 0, 0]


def test_clinical_groupings_hand_checked():
    clinical = metrics.summary(Y_TRUE, Y_PROB, CLASS_NAMES)["clinical"]
    # pneumonia score among non-covid: normals .08 .35 .75 vs pneumonias .85 .85 .9 -> all 9 pairs ordered
    assert clinical["pneumonia_vs_normal_auc"] == pytest.approx(1.0)
    # bacterial share: bacterial .8/.85, .3/.85 vs viral .2/.9 -> 2 of 2 pairs ordered
    assert clinical["bacterial_vs_viral_auc"] == pytest.approx(1.0)
    assert clinical["covid_sensitivity_at_95_specificity"] == pytest.approx(1.0)


def test_undefined_metrics_are_none_not_zero():
    y_true = np.array([0, 0, 1])
    y_prob = np.array([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.3, 0.7, 0, 0]])
    result = metrics.summary(y_true, y_prob, CLASS_NAMES)
    assert result["per_class"]["covid"]["auc"] is None
    assert result["per_class"]["covid"]["sensitivity"] is None
    assert result["per_class"]["covid"]["ppv"] is None
    assert result["clinical"]["bacterial_vs_viral_auc"] is None


def test_calibration_of_perfectly_calibrated_bins():
    y_prob = np.array([[1.0, 0, 0, 0]] * 4)
    result = metrics.calibration(np.array([0, 0, 0, 0]), y_prob)
    assert result["ece"] == pytest.approx(0.0) and result["bins"][-1]["count"] == 4
    wrong = metrics.calibration(np.array([1, 1, 1, 1]), y_prob)
    assert wrong["ece"] == pytest.approx(1.0)
