"""The same training code under DDP: two CPU processes (gloo) through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch.distributed as dist

from ferkit.checkpoint import load_model
from ferkit.data.synthetic import make_folder_dataset


@pytest.mark.slow
def test_ddp_two_cpu_processes_share_one_run_dir(tmp_path):
    assert dist.is_available() and dist.is_gloo_available()
    data = make_folder_dataset(tmp_path / "fer", n_per_class=6)
    cmd = [sys.executable, "-m", "ferkit.cli.app", "train", "--model", "tinycnn_test",
           "--data", str(data), "trainer.accelerator=cpu", "trainer.devices=2",
           "trainer.strategy=ddp", "trainer.epochs=2", "trainer.batch_size=8",
           "trainer.progress=false", "model.kwargs={input_size: 24}"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # the worker rank reused rank 0's run directory
    rows = (runs[0] / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 3
    model, meta = load_model(runs[0] / "best.safetensors")
    assert meta.model == "tinycnn_test" and len(meta.history) >= 1
    assert proc.stderr.count("done in") == 1  # only rank 0 reports
