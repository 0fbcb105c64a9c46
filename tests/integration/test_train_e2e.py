"""End-to-end training on tiny learnable synthetic data: learning, reproducibility, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ferkit.checkpoint import load_model, read_meta
from ferkit.data.synthetic import make_folder_dataset
from ferkit.train import load_train_config, train
from ferkit.train.runner import load_resume_config

FAST = ["model.kwargs={input_size: 24, width: 8}", "trainer.progress=false",
        "optimizer.lr=0.01", "scheduler.name=none"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=12, seed=3)


def _cfg(data: Path, out: Path, *extra: str):
    return load_train_config(None, [*FAST, *extra], **{
        "model.name": "tinycnn_test", "data.path": str(data), "output": str(out)})


def test_learns_and_writes_run_dir(synth, tmp_path):
    cfg = _cfg(synth, tmp_path / "run", "trainer.epochs=8", "trainer.batch_size=16")
    result = train(cfg)
    chance = 1 / 7
    assert result.best_val_acc is not None and result.best_val_acc > chance + 0.25
    for name in ("best.safetensors", "last.safetensors", "config.yaml", "seed", "metrics.csv",
                 "learning_curves.png", "eval/report.json", "eval/confusion_matrix.png",
                 "eval/reliability.png", "resume/state.ckpt", "result.json"):
        assert (tmp_path / "run" / name).is_file(), name
    rows = (tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,train_loss,train_acc,val_loss,val_acc,lr")
    assert len(rows) == 1 + 8
    meta = read_meta(result.best_checkpoint)
    assert meta.model == "tinycnn_test" and meta.seed == 0 and len(meta.history) >= 1
    assert meta.data_fingerprint and meta.temperature == pytest.approx(result.temperature)
    assert meta.info.input_size == 24
    report = json.loads((tmp_path / "run" / "eval" / "report.json").read_text())
    assert report["schema_version"] == 1
    model, _ = load_model(result.best_checkpoint)
    assert model(torch.zeros(2, 1, 24, 24)).shape == (2, 7)


def test_same_seed_same_run(synth, tmp_path):
    extra = ("trainer.epochs=2", "trainer.batch_size=16", "trainer.final_eval=false",
             "augment.rotation=10", "augment.erasing=0.5", "augment.mixup=0.2")
    a = train(_cfg(synth, tmp_path / "a", *extra))
    b = train(_cfg(synth, tmp_path / "b", *extra))
    c = train(_cfg(synth, tmp_path / "c", *extra, "seed=1"))
    losses = [[r["train_loss"] for r in res.history] for res in (a, b, c)]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]
    wa = load_model(a.last_checkpoint)[0].state_dict()
    wb = load_model(b.last_checkpoint)[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_sigkill_then_resume(synth, tmp_path):
    """Kill a training subprocess mid-epoch with SIGKILL; --resume finishes the run."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "ferkit.cli.app", "train", "--model", "tinycnn_test",
           "--data", str(synth), "--output", str(run), *FAST, "trainer.epochs=3",
           "trainer.batch_size=4", "trainer.ckpt_every_n_steps=2", "trainer.final_eval=false"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    state = run / "resume" / "state.ckpt"
    steps_per_epoch = 7 * 12 // 4
    killed_at = None
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
            if state.is_file():
                step = torch.load(state, weights_only=True)["global_step"]
                if step > steps_per_epoch and step % steps_per_epoch:  # mid-epoch 2
                    os.kill(proc.pid, signal.SIGKILL)
                    killed_at = step
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert killed_at is not None, proc.stderr.read().decode()[-2000:]
    assert proc.returncode == -signal.SIGKILL
    saved = torch.load(state, weights_only=True)
    assert saved["global_step"] >= killed_at  # at most the steps since the last save are lost

    result = train(load_resume_config(run), resume=True)
    epochs = [r["epoch"] for r in result.history]
    assert epochs == [1, 2, 3]
    final = torch.load(state, weights_only=True)
    assert final["global_step"] == 3 * steps_per_epoch
    model, meta = load_model(run / "last.safetensors")
    assert len(meta.history) == 3
    assert np.isfinite(model(torch.zeros(1, 1, 24, 24)).detach().numpy()).all()


def test_resume_without_state_is_one_clear_error(cli, tmp_path):
    code, out, err = cli("train", "--output", str(tmp_path / "nothing"), "--resume")
    assert code == 1 and "error:" in err and "Traceback" not in err


def test_refuses_to_overwrite_a_run(synth, tmp_path, cli):
    cfg = _cfg(synth, tmp_path / "run", "trainer.epochs=1", "trainer.final_eval=false")
    train(cfg)
    code, _, err = cli("train", "--model", "tinycnn_test", "--data", str(synth), "--output",
                       str(tmp_path / "run"), *FAST)
    assert code == 1 and "already holds a run" in err
