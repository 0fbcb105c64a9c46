"""Weight EMA (trainer.ema): validation, checkpoints and --resume all use the averaged weights."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from ferkit.checkpoint import load_checkpoint
from ferkit.data.synthetic import make_folder_dataset
from ferkit.interrupt import Interrupted
from ferkit.train import load_train_config, train
from ferkit.train.runner import load_resume_config

FAST = ["model.kwargs={input_size: 16, width: 4}", "trainer.progress=false",
        "optimizer.lr=0.02", "scheduler.name=none", "trainer.epochs=3", "trainer.batch_size=8",
        "trainer.ckpt_every_n_steps=0"]
EMA = ["trainer.ema=0.8", "trainer.ema_warmup_steps=2"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=6, seed=3)


def _cfg(data: Path, out: Path, *extra: str):
    return load_train_config(None, [*FAST, *extra], **{
        "model.name": "tinycnn_test", "data.path": str(data), "output": str(out)})


def _state(run: Path) -> dict:
    return torch.load(run / "resume" / "state.ckpt", weights_only=True)


def _model_keys(state: dict) -> dict:
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}


@pytest.mark.parametrize("ema", [False, True])
def test_checkpoints_hold_the_weights_validation_measured(synth, tmp_path, ema):
    run = tmp_path / "run"
    result = train(_cfg(synth, run, *(EMA if ema else [])))
    # the final evaluation of best.safetensors reproduces the validation accuracy of its epoch
    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["accuracy"] == pytest.approx(result.best_val_acc, abs=1e-6)
    state = _state(run)
    last, _ = load_checkpoint(run / "last.safetensors")
    saved = _model_keys(state["state_dict"])
    assert all(torch.equal(last[k], saved[k]) for k in last)
    if not ema:
        assert "current_model_state" not in state
        return
    live = _model_keys(state["current_model_state"])
    assert state["averaging_state"]["n_averaged"].item() == result.history[-1]["epoch"] * 5
    bn = "features.1.running_mean"  # BatchNorm statistics are averaged with the weights
    assert not torch.equal(last[bn], live[bn])
    assert not torch.equal(last["classifier.weight"], live["classifier.weight"])
    assert torch.equal(last["features.1.num_batches_tracked"],
                       live["features.1.num_batches_tracked"])


class StopAfterFirstEpoch(Callback):
    """SIGTERM at the end of epoch 1 (after its resume state was saved), as a scheduler would."""

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 0:
            os.kill(os.getpid(), signal.SIGTERM)


def test_resume_restores_the_average(synth, tmp_path):
    # the robustness augmentations ride along: their generator state must resume exactly too
    extra = [*EMA, "trainer.final_eval=false", "trainer.fit_temperature=false",
             "augment.blur=0.3", "augment.jpeg=0.3", "augment.noise=0.3", "augment.gamma=0.2",
             "augment.contrast=0.2", "augment.brightness=0.1"]
    whole = train(_cfg(synth, tmp_path / "whole", *extra))
    with pytest.raises(Interrupted):
        train(_cfg(synth, tmp_path / "cut", *extra), callbacks=[StopAfterFirstEpoch()])
    assert _state(tmp_path / "cut")["averaging_state"]["n_averaged"].item() == 5
    resumed = train(load_resume_config(tmp_path / "cut"), resume=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert [r["val_acc"] for r in resumed.history] == [r["val_acc"] for r in whole.history]
    a, b = _state(tmp_path / "whole"), _state(tmp_path / "cut")
    for key in ("state_dict", "current_model_state"):  # average and live weights
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    wa, _ = load_checkpoint(whole.last_checkpoint)
    wb, _ = load_checkpoint(resumed.last_checkpoint)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
