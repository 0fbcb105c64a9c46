"""One trial = one ``ferkit train`` run (the same ``train()`` function, never a second trainer).

The trial's run directory is ``OUTPUT/trials/trial_NNNN``; its resume state is deleted once the
trial ends (a trial is re-run, not resumed, when its worker dies), while ``best.safetensors``
stays, so the best trial's model can be evaluated or fine-tuned directly.
"""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferkit.errors import ConfigError
from ferkit.search.space import SearchSpace, trial_config


@dataclass
class TrialSetup:
    """Everything a trial needs besides its sampled values."""

    space: SearchSpace
    data: str
    output: Path
    extra: tuple[str, ...] = ()
    prune: bool = True


def trial_dir(output: Path, number: int) -> Path:
    return output / "trials" / f"trial_{number:04d}"


def latency_ms(model, input_size: int, in_chans: int, repeats: int = 20) -> float:
    """Median batch-1 forward time on one CPU thread (what a search can compare fairly)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.zeros(1, in_chans, input_size, input_size)
        model.eval()
        times = []
        with torch.inference_mode():
            for i in range(repeats + 3):
                t = time.perf_counter()
                model(x)
                if i >= 3:
                    times.append((time.perf_counter() - t) * 1000)
    finally:
        torch.set_num_threads(threads)
    return round(statistics.median(times), 3)


def train_trial(setup: TrialSetup, trial, values: dict[str, Any]) -> float | tuple[float, float]:
    """Train the trial's config; return best val accuracy (and params or latency)."""
    from ferkit.checkpoint import load_model
    from ferkit.models import count_params
    from ferkit.train.runner import train

    cfg = trial_config(setup.space, values, setup.extra, setup.data)
    run = trial_dir(setup.output, trial.number)
    if run.exists():  # a stale folder from a discarded attempt with this number
        shutil.rmtree(run)
    cfg.output = str(run)
    cfg.trainer.progress = False
    cfg.trainer.fit_temperature = False
    cfg.trainer.final_eval = False
    callbacks = []
    if setup.prune and not setup.space.multi_objective:
        from optuna_integration.pytorch_lightning import PyTorchLightningPruningCallback

        callbacks.append(PyTorchLightningPruningCallback(trial, monitor="val_acc"))
    try:
        result = train(cfg, progress=False, callbacks=callbacks)
    finally:
        shutil.rmtree(run / "resume", ignore_errors=True)
        trial.set_user_attr("run_dir", str(run))
    if result.best_val_acc is None:
        raise ConfigError(f"data {setup.data!r} gave no validation accuracy: a search needs a "
                          "validation split (data.val_split)")
    trial.set_user_attr("epochs", result.epochs)
    trial.set_user_attr("train_s", result.wall_time_s)
    model, meta = load_model(result.best_checkpoint)
    params = count_params(model)
    trial.set_user_attr("params", params)
    acc = float(result.best_val_acc)
    objectives = setup.space.objectives
    if len(objectives) == 1:
        return acc
    if objectives[1] == "params":
        return acc, float(params)
    ms = latency_ms(model, meta.info.input_size, meta.info.in_chans)
    trial.set_user_attr("latency_ms", ms)
    return acc, ms
