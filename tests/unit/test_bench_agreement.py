"""``benchmarks/bench_agreement.py``: two models compared decision by decision (how a recipe that
trained on every labelled image is checked for reproduction)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def agreement(load_tool):
    return load_tool("bench_agreement", "benchmarks")


def test_compare_counts_decisions_and_probability_changes(agreement):
    a = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
    b = np.array([[0.8, 0.2], [0.7, 0.3], [0.5, 0.5]])
    got = agreement.compare(a, b)
    assert got["images"] == 3 and got["top1_agreement"] == pytest.approx(2 / 3)
    assert got["max_abs_prob_diff"] == pytest.approx(0.3)
    assert got["mean_abs_prob_diff"] == pytest.approx((0.1 + 0.1 + 0.3 + 0.3) / 6)


def test_a_model_agrees_with_itself_end_to_end(agreement, tiny_checkpoint, tmp_path,
                                              monkeypatch):
    import cv2

    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for cls in ("angry", "happy", "neutral"):
        (data / "train" / cls).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(data / "train" / cls / f"{i}.png"),
                        rng.integers(0, 256, (48, 48), dtype=np.uint8))
    monkeypatch.setattr(sys, "argv", ["bench_agreement.py", str(tiny_checkpoint),
                                      str(tiny_checkpoint), "--data", str(data),
                                      "--splits", "train", "--name", "ag",
                                      "--output", str(tmp_path / "out")])
    agreement.main()
    result = json.loads(next((tmp_path / "out").glob("ag-*.json")).read_text())
    assert result["rows"][0]["top1_agreement"] == 1.0
    assert result["rows"][0]["max_abs_prob_diff"] == 0.0
