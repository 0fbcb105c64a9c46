"""``benchmarks/bench_train.py``: any registered network, timed under each precision asked for."""

from __future__ import annotations

import json
import sys

import pytest


@pytest.fixture(scope="module")
def bench(load_tool):
    return load_tool("bench_train", "benchmarks")


def test_model_specs_parse_builder_options(bench):
    assert bench.parse_spec("efficientnet_lite0:input_size=112,drop=0.3") == (
        "efficientnet_lite0", {"input_size": 112, "drop": 0.3})
    assert bench.parse_spec("tinycnn_test") == ("tinycnn_test", {})


def test_each_model_is_timed_under_each_precision(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "REPO", tmp_path)
    monkeypatch.setattr(sys, "argv", ["bench_train.py", "--model", "tinycnn_test:width=8",
                                      "--precision", "32-true", "bf16-mixed", "--steps", "1",
                                      "--warmup", "1", "--batch-size", "4", "--name", "tp"])
    bench.main()
    doc = json.loads(next((tmp_path / "benchmarks" / "results").glob("tp-*.json")).read_text())
    rows = [(r["model"], r["precision"]) for r in doc["results"]]
    assert rows == [("tinycnn_test", "32-true"), ("tinycnn_test", "bf16-mixed")]
    assert all(r["images_per_s"] > 0 and r["kwargs"] == {"width": 8} for r in doc["results"])
