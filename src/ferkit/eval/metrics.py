"""Classification metrics (scikit-learn underneath) over a model's full label set.

Classes the model knows but the evaluation data lacks (cross-dataset evaluation) are reported as
``absent_classes`` and excluded from the macro averages, never silently dropped: predictions *into*
an absent class still count as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)


@dataclass
class ClassMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Metrics:
    accuracy: float
    macro_f1: float
    balanced_accuracy: float
    per_class: dict[str, ClassMetrics]
    confusion: list[list[int]]  # rows: true class, columns: predicted class (model label order)
    labels: list[str]
    absent_classes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        return to_jsonable(self)


def compute_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...] | list[str]
                    ) -> Metrics:
    """Accuracy, macro-F1 and balanced accuracy over present classes; per-class P/R/F1/support."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = len(labels)
    all_ids = list(range(k))
    support = np.bincount(y_true, minlength=k)
    present = [i for i in all_ids if support[i] > 0]
    absent = [labels[i] for i in all_ids if support[i] == 0]
    if len(y_true) == 0:
        nan = float("nan")
        return Metrics(nan, nan, nan, {}, np.zeros((k, k), int).tolist(), list(labels), absent)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=all_ids, zero_division=0)
    per_class = {labels[i]: ClassMetrics(float(p[i]), float(r[i]), float(f[i]), int(s[i]))
                 for i in all_ids}
    return Metrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=present, average="macro",
                                zero_division=0)),
        balanced_accuracy=float(recall_score(y_true, y_pred, labels=present, average="macro",
                                             zero_division=0)),
        per_class=per_class,
        confusion=confusion_matrix(y_true, y_pred, labels=all_ids).tolist(),
        labels=list(labels),
        absent_classes=absent,
    )
