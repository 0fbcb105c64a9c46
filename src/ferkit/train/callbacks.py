"""Run bookkeeping as Lightning callbacks: history, metrics.csv, ferkit checkpoints, resume state.

- ``RunRecorder``: per epoch, one history row (train/val loss+acc, lr, time, images/s — training
  samples per second of training-step time; with ten-crop training each crop is a sample) →
  ``metrics.csv`` (atomic) and a one-line summary on stderr; ``best.safetensors`` (highest
  val_acc, or lowest train loss without validation) and ``last.safetensors``.
- ``ResumeState``: Lightning's full training state (model, optimiser, schedulers, loops, callback
  state) at each epoch end and every N steps, written atomically to ``RUN_DIR/resume/state.ckpt``.
  It is reloaded with ``weights_only=True`` (no arbitrary unpickling; only tensors and plain
  containers), so a SIGKILL loses at most the steps since the last save.
- ``EmaWeights``: an exponential moving average of the weights (``trainer.ema``), built on
  Lightning's ``WeightAveraging`` (torch's ``AveragedModel``), so validation runs on the average
  and the resume state carries both the live and the averaged weights.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, WeightAveraging

from ferkit.io import atomic_path, atomic_write_text

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s",
                   "images_per_s")
RESUME_FILE = "resume/state.ckpt"


def _metric(trainer: L.Trainer, *names: str) -> float | None:
    for name in names:
        value = trainer.callback_metrics.get(name)
        if value is not None:
            return float(value)
    return None


def write_history_csv(path: Path, history: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in HISTORY_COLUMNS})
    atomic_write_text(path, buf.getvalue())


class RunRecorder(Callback):
    """Keeps the epoch history and writes best/last ferkit checkpoints (rank zero only)."""

    def __init__(self, run_dir: Path, save_fn: Callable[[Path, list[dict[str, Any]]], None],
                 log_fn: Callable[[str], None] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.save_fn = save_fn
        self.log_fn = log_fn
        self.history: list[dict[str, Any]] = []
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self._t0 = 0.0
        self._t_last = 0.0
        self._seen = 0

    @property
    def state_key(self) -> str:
        return "ferkit.RunRecorder"

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "best_score": self.best_score,
                "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = list(state.get("history", []))
        self.best_score = state.get("best_score")
        self.best_epoch = state.get("best_epoch")

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._t0 = self._t_last = time.perf_counter()
        self._seen = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # a run resumed mid-epoch skips on_train_epoch_start for that epoch
        self._t0 = self._t_last = time.perf_counter()
        self._seen = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._seen += int(batch[1].shape[0]) * trainer.world_size
        self._t_last = time.perf_counter()  # images/s counts training steps only, not validation

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        elapsed = time.perf_counter() - self._t0
        train_time = self._t_last - self._t0
        row = {
            "epoch": trainer.current_epoch + 1,
            "train_loss": _metric(trainer, "train_loss_epoch", "train_loss"),
            "train_acc": _metric(trainer, "train_acc"),
            "val_loss": _metric(trainer, "val_loss"),
            "val_acc": _metric(trainer, "val_acc"),
            "lr": pl_module.current_lr(),
            "time_s": round(elapsed, 3),
            "images_per_s": round(self._seen / train_time, 1) if train_time > 0 else None,
        }
        self.history.append(row)
        improved = self._improved(row)
        if trainer.is_global_zero:
            write_history_csv(self.run_dir / "metrics.csv", self.history)
            if improved:
                self.save_fn(self.run_dir / "best.safetensors", self.history)
            self.save_fn(self.run_dir / "last.safetensors", self.history)
            if self.log_fn is not None:
                self.log_fn(_summary(row, trainer.max_epochs, improved))

    def _improved(self, row: dict[str, Any]) -> bool:
        score = row["val_acc"] if row["val_acc"] is not None else -(row["train_loss"] or 0.0)
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_epoch = score, row["epoch"]
            return True
        return False


def _summary(row: dict[str, Any], max_epochs: int | None, improved: bool) -> str:
    def f(v: Any, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    return (f"epoch {row['epoch']}/{max_epochs}: train_loss {f(row['train_loss'], '.4f')} "
            f"train_acc {f(row['train_acc'], '.4f')} val_loss {f(row['val_loss'], '.4f')} "
            f"val_acc {f(row['val_acc'], '.4f')} lr {f(row['lr'], '.3g')} "
            f"{f(row['images_per_s'], '.0f')} img/s {row['time_s']:.1f}s"
            + (" *best*" if improved else ""))


class ResumeState(Callback):
    """Lightning's full state to ``RUN_DIR/resume/state.ckpt`` each epoch and every N steps."""

    def __init__(self, run_dir: Path, every_n_steps: int = 200) -> None:
        self.path = Path(run_dir) / RESUME_FILE
        self.every_n_steps = every_n_steps
        self.saved_step: int | None = None  # global step of the newest state on disk
        self.saved_epoch: int | None = None

    def _save(self, trainer: L.Trainer) -> None:
        if trainer.is_global_zero:
            with atomic_path(self.path) as tmp:
                trainer.save_checkpoint(tmp, weights_only=False)
        else:  # other ranks still take part (strategy barriers), but write nothing
            trainer.save_checkpoint(os.devnull, weights_only=False)
        self.saved_step, self.saved_epoch = trainer.global_step, trainer.current_epoch

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule,
                     exception: BaseException) -> None:
        """SIGTERM (and SIGINT, which ``ferkit.train`` forwards as SIGTERM): Lightning stops
        after the current batch and raises SIGTERMException; save the steps since the last save
        so the run resumes exactly there. Mid-validation the state is not at a step boundary:
        the last save stands."""
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        if (isinstance(exception, SIGTERMException) and not trainer.validating
                and trainer.global_step > 0 and trainer.global_step != self.saved_step):
            self._save(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        n = self.every_n_steps
        if n and trainer.global_step > 0 and trainer.global_step % n == 0:
            self._save(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # runs after RunRecorder (callback order), so the epoch's history row is included
        self._save(trainer)


def ema_multi_avg_fn(decay: float, warmup_steps: int = 0):
    """``AveragedModel``'s ``multi_avg_fn`` for EMA with a warm-up, on whole tensor lists.

    torch's ``get_ema_multi_avg_fn`` has no warm-up, and it would average integer buffers
    (BatchNorm's ``num_batches_tracked``) too; here the average *follows* the live weights
    (copies them) while fewer than ``warmup_steps`` updates were made, then moves by
    ``1 - decay`` per step. Float buffers (BatchNorm running mean/var) are averaged like the
    weights, so the averaged network carries statistics that match its averaged weights (as
    timm's ModelEma does); integer counters just follow the live model.
    """

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor],
               n_averaged: torch.Tensor) -> None:
        floating = torch.is_floating_point(averaged[0]) or torch.is_complex(averaged[0])
        if not floating or int(n_averaged) < warmup_steps:
            torch._foreach_copy_(averaged, current)
        else:
            torch._foreach_lerp_(averaged, current, 1.0 - decay)

    return update


class EmaWeights(WeightAveraging):
    """EMA of the LightningModule's weights and buffers, updated after every optimiser step.

    Lightning's ``WeightAveraging`` swaps the average in for validation (so ``val_acc``, early
    stopping and the plateau schedule see the averaged weights), copies it into the module when
    training ends, and stores it in the resume state (``state_dict`` = average,
    ``current_model_state`` = live weights) so ``--resume`` restores both. ``model_state()`` is
    what ``best``/``last.safetensors`` save.
    """

    def __init__(self, decay: float, warmup_steps: int = 0) -> None:
        super().__init__(use_buffers=True, multi_avg_fn=ema_multi_avg_fn(decay, warmup_steps))
        self.decay = decay
        self.warmup_steps = warmup_steps

    @property
    def state_key(self) -> str:
        return "ferkit.EmaWeights"

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # setup runs before the strategy moves the module to its device, so the average would
        # stay on the CPU (and every step copy the weights across); put it where training runs
        if self._device is None:
            self._device = trainer.strategy.root_device
        # the averaged copy is a deepcopy of the module: leave frozen teachers (and any cached
        # teacher outputs) out of it, they are not averaged and could be large
        detach = getattr(pl_module, "without_extras", None)
        if detach is None:
            super().setup(trainer, pl_module, stage)
            return
        with detach():
            super().setup(trainer, pl_module, stage)

    def model_state(self) -> dict[str, torch.Tensor]:
        """The averaged network's ``state_dict`` (keys as ``pl_module.model.state_dict()``)."""
        if self._average_model is None:
            raise RuntimeError("EmaWeights.model_state() before setup(stage='fit')")
        return self._average_model.module.model.state_dict()
