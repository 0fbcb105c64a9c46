"""``benchmarks/bench_int8_calibration.py``: calibration choices judged on training images that
no calibration draw contains, each file made exactly as ``ferkit export`` makes it."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_tool):
    return load_tool("bench_int8_calibration", "benchmarks")


def test_calibration_indices_are_the_images_export_draws(tmp_path):
    from ferkit.data import load_dataset
    from ferkit.data.synthetic import make_folder_dataset
    from ferkit.export.quantize import calibration_images, calibration_indices

    root = make_folder_dataset(tmp_path / "ds", n_per_class=5)
    train = load_dataset(root).split("train")
    images, _ = calibration_images(root, "train", 12, seed=0)
    idx = calibration_indices(len(train.labels), 12, 0)
    assert len(idx) == 12 and np.array_equal(images, train.images[idx])
    assert not np.array_equal(idx, calibration_indices(len(train.labels), 12, 1))


def test_judging_images_avoid_every_calibration_draw(bench):
    draws = [np.arange(0, 50, 2), np.arange(0, 100, 5)]
    judge = bench.judge_indices(200, draws, 60, seed=1)
    assert len(judge) == 60 and len(set(judge)) == 60
    assert not set(judge) & set(np.concatenate(draws).tolist())
    assert np.array_equal(judge, np.sort(judge))
    with pytest.raises(SystemExit, match="--agree 190"):
        bench.judge_indices(200, draws, 190, seed=1)


def test_end_to_end_rows_and_result(bench, tiny_checkpoint, tmp_path, monkeypatch):
    from ferkit.data.synthetic import make_folder_dataset

    data = make_folder_dataset(tmp_path / "ds", n_per_class=6)
    monkeypatch.setattr(sys, "argv", ["bench_int8_calibration.py", "--data", str(data),
                                      "--model", str(tiny_checkpoint), "--methods", "minmax",
                                      "percentile", "--sizes", "8", "--agree", "20",
                                      "--calibration-seeds", "0", "1",
                                      "--name", "cal", "--output", str(tmp_path / "out")])
    assert bench.main() == 0
    (result,) = (tmp_path / "out").glob("cal-*.json")
    rows = json.loads(result.read_text())["rows"]
    assert [(r["calibration_seed"], r["method"]) for r in rows] == [
        (0, "minmax"), (0, "percentile"), (1, "minmax"), (1, "percentile")]
    for r in rows:
        assert r["judge_images"] == 20 and r["calibration_images"] == 8
        assert 0.0 <= r["agreement"] <= 1.0 and r["mean_abs_prob_diff"] >= 0.0
        assert r["split_images"] == 42
    assert "top-1 agreement" in result.with_suffix(".md").read_text()
