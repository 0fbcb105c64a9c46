"""Metrics against scikit-learn on fixed predictions; calibration; plots."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from ferkit.eval.calibration import (
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
    softmax,
)
from ferkit.eval.metrics import compute_metrics
from ferkit.eval.plots import (
    plot_confusion,
    plot_learning_curves,
    plot_per_class,
    plot_reliability,
)
from ferkit.eval.report import SCHEMA_VERSION, build_report
from ferkit.types import EMOTIONS

Y_TRUE = np.array([0, 0, 1, 2, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 6, 1, 4, 0, 3])
Y_PRED = np.array([0, 3, 1, 2, 6, 2, 3, 3, 0, 3, 6, 5, 2, 6, 6, 4, 2, 4, 0, 3])


def test_metrics_match_sklearn():
    m = compute_metrics(Y_TRUE, Y_PRED, EMOTIONS)
    assert m.accuracy == pytest.approx(accuracy_score(Y_TRUE, Y_PRED))
    assert m.macro_f1 == pytest.approx(f1_score(Y_TRUE, Y_PRED, average="macro"))
    assert m.balanced_accuracy == pytest.approx(balanced_accuracy_score(Y_TRUE, Y_PRED))
    p, r, f, s = precision_recall_fscore_support(Y_TRUE, Y_PRED, labels=range(7),
                                                 zero_division=0)
    for i, name in enumerate(EMOTIONS):
        c = m.per_class[name]
        assert (c.precision, c.recall, c.f1, c.support) == pytest.approx((p[i], r[i], f[i], s[i]))
    assert m.confusion == confusion_matrix(Y_TRUE, Y_PRED, labels=range(7)).tolist()
    assert m.absent_classes == []


def test_absent_classes_are_reported_not_dropped():
    y_true = np.array([0, 0, 3, 3, 6])
    y_pred = np.array([0, 1, 3, 3, 6])  # one prediction into 'disgust', absent from the data
    m = compute_metrics(y_true, y_pred, EMOTIONS)
    assert m.absent_classes == ["disgust", "fear", "sad", "surprise"]
    assert m.accuracy == pytest.approx(0.8)
    present = [0, 3, 6]
    assert m.macro_f1 == pytest.approx(f1_score(y_true, y_pred, labels=present, average="macro"))
    assert m.balanced_accuracy == pytest.approx((0.5 + 1 + 1) / 3)
    assert m.per_class["disgust"].support == 0 and m.confusion[0][1] == 1


def test_report_from_logits_uses_argmax_and_schema():
    logits = np.eye(7)[Y_PRED] * 5.0
    rep = build_report(logits, Y_TRUE, EMOTIONS, temperature=1.0)
    assert rep.accuracy == pytest.approx(accuracy_score(Y_TRUE, Y_PRED))
    d = rep.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION
    for key in ("accuracy", "macro_f1", "balanced_accuracy", "ece", "nll", "per_class",
                "confusion_matrix", "absent_classes", "labels", "num_samples", "tta"):
        assert key in d


def test_temperature_scaling_recovers_the_true_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 7))
    probs = softmax(logits, 2.5)
    labels = np.array([rng.choice(7, p=p) for p in probs])
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(2.5, rel=0.1)
    assert nll(logits, labels, t) < nll(logits, labels, 1.0)
    cal = expected_calibration_error(softmax(logits, t), labels)
    raw = expected_calibration_error(softmax(logits, 1.0), labels)
    assert cal < raw


def test_ece_by_hand():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 1, 0, 1])
    bins = reliability_bins(probs, labels, n_bins=10)
    # bin (0.8,0.9]: conf 0.9, acc 0.5 (2 samples); bin (0.5,0.6]: conf 0.6, acc 1 (2 samples)
    assert bins.ece == pytest.approx((2 * 0.4 + 2 * 0.4) / 4)
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0


def test_plots_write_pngs(tmp_path):
    m = compute_metrics(Y_TRUE, Y_PRED, EMOTIONS)
    probs = softmax(np.eye(7)[Y_PRED] * 2.0)
    paths = [
        plot_confusion(m.confusion, m.labels, tmp_path / "cm.png"),
        plot_per_class(m.to_dict()["per_class"], tmp_path / "pc.png"),
        plot_reliability(reliability_bins(probs, Y_TRUE), tmp_path / "rel.png", 0.1),
        plot_learning_curves([{"epoch": 1, "train_loss": 1.0, "val_loss": None, "lr": 0.1},
                              {"epoch": 2, "train_loss": 0.8, "val_loss": 0.9, "lr": 0.05}],
                             tmp_path / "lc.png"),
    ]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
