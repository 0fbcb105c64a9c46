"""trainer.compile: training steps run a torch.compile'd network that shares the module's
weights, so losses, checkpoints and the EMA copy are those of eager training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ferkit.checkpoint import load_checkpoint
from ferkit.data.synthetic import make_folder_dataset
from ferkit.train import load_train_config, train

FAST = ["model.kwargs={input_size: 16, width: 4}", "trainer.progress=false",
        "optimizer.lr=0.02", "scheduler.name=none", "trainer.epochs=2", "trainer.batch_size=8",
        "trainer.ckpt_every_n_steps=0", "trainer.ema=0.8", "trainer.final_eval=false",
        "trainer.fit_temperature=false"]


def test_compiled_training_matches_eager(tmp_path):
    data = make_folder_dataset(tmp_path / "fer", n_per_class=6, seed=3)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    runs = {}
    for compiled in (False, True):
        cfg = load_train_config(None, [*FAST, f"trainer.compile={str(compiled).lower()}"], **{
            "model.name": "tinycnn_test", "data.path": str(data),
            "output": str(tmp_path / f"run_{compiled}")})
        runs[compiled] = train(cfg)
    # the compiled run really ran compiled graphs
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1
    eager, comp = runs[False], runs[True]
    assert [h["train_loss"] for h in comp.history] == pytest.approx(
        [h["train_loss"] for h in eager.history], abs=1e-4)
    # a pre-BatchNorm bias drifts on float noise (below), and BatchNorm's running mean with
    # it: on ~20 validation images that may flip one prediction, not more
    assert comp.best_val_acc == pytest.approx(eager.best_val_acc, abs=0.05)
    a, _ = load_checkpoint(Path(tmp_path / "run_True" / "last.safetensors"))
    b, _ = load_checkpoint(Path(tmp_path / "run_False" / "last.safetensors"))
    assert a.keys() == b.keys()  # no compiled wrapper's "_orig_mod." in the checkpoint
    # weights that receive a gradient agree (a conv bias before BatchNorm gets none: only
    # float noise, which Adam normalises into steps, so it is left out)
    for key in ("classifier.weight", "features.0.weight", "features.4.weight"):
        assert torch.allclose(a[key], b[key], atol=1e-4), key
