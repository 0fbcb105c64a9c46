"""Interrupted training (#15): SIGTERM/SIGINT stop cleanly with a resume command, --resume
finishes the run; folders of failed starts are reusable; --resume refuses silent changes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ferkit.data.synthetic import make_folder_dataset
from ferkit.errors import ConfigError
from ferkit.train import load_train_config, train
from ferkit.train.runner import load_resume_config

FAST = ["model.kwargs={input_size: 24, width: 8}", "trainer.progress=false",
        "optimizer.lr=0.01", "scheduler.name=none", "trainer.final_eval=false"]
STEPS_PER_EPOCH = 7 * 12 // 4  # 84 training images, batch 4

#: the CLI in a child process, each training step slowed to 20 ms and its global step written
#: to $STEP_FILE, so that the test can signal at a chosen step
SLOW_CLI = """
import os, sys, time
from ferkit.train.module import FerModule
step = FerModule.training_step
def slow(self, *args, **kwargs):
    time.sleep(0.02)
    out = step(self, *args, **kwargs)
    with open(os.environ["STEP_FILE"], "w") as fh:
        fh.write(str(self.global_step))
    return out
FerModule.training_step = slow
from ferkit.cli.app import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=12, seed=3)


def _signal_at_step(synth: Path, run: Path, signum: int, at: int, tmp_path: Path):
    step_file = tmp_path / "step"
    cmd = [sys.executable, "-c", SLOW_CLI, "train", "--model", "tinycnn_test", "--data",
           str(synth), "--output", str(run), *FAST, "trainer.epochs=3", "trainer.batch_size=4",
           "trainer.ckpt_every_n_steps=1000"]  # no mid-epoch saves: the stop itself saves
    env = dict(os.environ, OMP_NUM_THREADS="1", STEP_FILE=str(step_file))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if step_file.is_file() and int(step_file.read_text() or 0) >= at:
                proc.send_signal(signum)
                break
            time.sleep(0.01)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err.decode()


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_at_a_random_step_then_resume(synth, tmp_path, signum, code):
    total = 3 * STEPS_PER_EPOCH
    at = random.randint(1, total - 6)  # leave room: the run must still be going
    run = tmp_path / "run"
    returncode, err = _signal_at_step(synth, run, signum, at, tmp_path)
    context = f"signal {signum.name} at step {at}: {err[-1500:]}"
    assert returncode == code, context
    assert "Traceback" not in err, context
    assert f"training stopped by {signum.name}" in err, context
    assert f"Resume with: ferkit train --resume --output {run}" in err, context
    state = torch.load(run / "resume" / "state.ckpt", weights_only=True)
    assert at <= state["global_step"] <= at + 5, context  # saved where it stopped
    assert not (run / "result.json").exists()
    stale = run / "resume" / ".state.ckpt.x1y2.tmp"  # as a SIGKILL during a save leaves
    stale.write_bytes(b"partial")

    result = train(load_resume_config(run), resume=True)
    assert [r["epoch"] for r in result.history] == [1, 2, 3], context
    final = torch.load(run / "resume" / "state.ckpt", weights_only=True)
    assert final["global_step"] == total and (run / "result.json").is_file()
    assert not list((run / "resume").glob(".*.tmp"))


def test_failed_start_leaves_a_reusable_folder(synth, tmp_path, cli):
    run = tmp_path / "run"
    code, _, err = cli("train", "-m", "tinycnn_test", "-d", synth, "-o", run, *FAST,
                       "trainer.accelerator=gpu")
    assert code == 1 and "trainer.accelerator=gpu" in err and "Traceback" not in err
    code, _, err = cli("train", "-m", "tinycnn_test", "-d", synth, "-o", run, *FAST,
                       "trainer.epochs=1")
    assert code == 0, err
    assert (run / "result.json").is_file()


@pytest.mark.parametrize("then", ["same command", "--resume"])
def test_signal_before_the_first_step(synth, tmp_path, cli, monkeypatch, then):
    """SIGTERM after the run folder is written but before any step: exit 143, nothing to
    resume; both the same command and --resume then start the run from the beginning."""
    from ferkit.train import runner

    write = runner.write_run_files

    def write_then_signal(run_dir, cfg):
        write(run_dir, cfg)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(runner, "write_run_files", write_then_signal)
    run = tmp_path / "run"
    args = ["train", "-m", "tinycnn_test", "-d", synth, "-o", run, *FAST, "trainer.epochs=1"]
    code, _, err = cli(*args)
    assert code == 143 and "before its first checkpoint" in err and "Traceback" not in err
    assert (run / "config.yaml").is_file() and not (run / "resume" / "state.ckpt").exists()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler restored
    monkeypatch.setattr(runner, "write_run_files", write)
    again = args if then == "same command" else ["train", "--resume", "-o", run]
    code, _, err = cli(*again)
    assert code == 0 and (run / "result.json").is_file(), err
    assert ("reusing" if then == "same command" else "from the beginning") in err


def test_resume_refuses_silent_changes_and_finished_runs(synth, tmp_path, cli):
    run = tmp_path / "run"
    cfg = load_train_config(None, [*FAST, "trainer.epochs=2", "scheduler.name=cosine"], **{
        "model.name": "tinycnn_test", "data.path": str(synth), "output": str(run)})
    first = train(cfg)
    assert first.history[-1]["lr"] < 0.01 * 0.6  # the cosine schedule decayed

    for extra, needle in ((["trainer.epochs=4"], "trainer.epochs (2 → 4)"),
                          (["--data", str(tmp_path)], "data.path"),
                          (["--model", "efficientnet_test"], "model.name"),
                          (["optimizer.lr=0.5"], "optimizer.lr")):
        code, _, err = cli("train", "--resume", "-o", run, *extra)
        assert code == 1 and needle in err and "model.init_from=" in err, err
    code, _, err = cli("train", "--resume", "-o", run, "--data", f"{synth}/../fer",
                       "--model", "tinycnn_test", "trainer.progress=false")
    assert code == 1 and "already finished all its 2 epochs" in err, err  # same values: fine
    code, _, err = cli("train", "--resume", "-o", run, "--config", run / "config.yaml")
    assert code == 1 and "drop --config" in err
    with pytest.raises(ConfigError, match="already finished"):
        load_resume_config(run)

    # the suggested way to train longer: a new run from the weights, with a fresh schedule
    code, _, err = cli("train", "--config", run / "config.yaml", "--output", tmp_path / "more",
                       f"model.init_from={run / 'last.safetensors'}", "trainer.epochs=2")
    assert code == 0, err
    more = (tmp_path / "more" / "metrics.csv").read_text()
    lr = float(more.splitlines()[1].split(",")[5])
    assert lr == pytest.approx(0.005, rel=0.05)  # half-way down a fresh cosine, not lr ≈ 0
