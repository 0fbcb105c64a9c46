"""model.freeze_backbone in a real fit: only the head learns, and the backbone's BatchNorm
statistics stay as they were (Keras-style freezing; Lightning does not call ``train()`` on the
module when fitting starts, so ferkit's mode override must be applied by the module itself)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ferkit.checkpoint import load_checkpoint
from ferkit.data.synthetic import make_folder_dataset
from ferkit.train import load_train_config, train

FAST = ["model.kwargs={input_size: 16, width: 4}", "trainer.progress=false",
        "optimizer.lr=0.02", "scheduler.name=none", "trainer.epochs=2", "trainer.batch_size=8",
        "trainer.ckpt_every_n_steps=0"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=6, seed=4)


def _cfg(data: Path, out: Path, *extra: str):
    return load_train_config(None, [*FAST, *extra], **{
        "model.name": "tinycnn_test", "data.path": str(data), "output": str(out)})


def test_a_frozen_backbone_keeps_its_batchnorm_statistics(synth, tmp_path):
    start = tmp_path / "start"
    train(_cfg(synth, start))
    before, _ = load_checkpoint(start / "best.safetensors")
    run = tmp_path / "frozen"
    train(_cfg(synth, run, f"model.init_from={start / 'best.safetensors'}",
               "model.freeze_backbone=true"))
    after, _ = load_checkpoint(run / "best.safetensors")
    backbone = [k for k in before if k.startswith("features.")]
    assert any("running_mean" in k for k in backbone)
    for key in backbone:
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after["classifier.weight"], before["classifier.weight"])
