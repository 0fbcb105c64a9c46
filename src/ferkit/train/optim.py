"""Optimizer and learning-rate scheduler factories (registries, never if/elif over names).

Step-wise schedules are closed-form multipliers of the step (``LambdaLR``), so resuming mid-epoch
restores them exactly from the step counter; ReduceLROnPlateau is the one epoch-wise scheduler.
Linear warm-up is applied by the LightningModule on top of any schedule (``warmup_factor``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from ferkit.registry import Registry
from ferkit.train.config import OptimizerConfig, SchedulerConfig

OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULERS: Registry = Registry("scheduler")


@OPTIMIZERS.register("sgd")
def sgd(params: Iterable[Any], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                           weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("adam")
def adam(params: Iterable[Any], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("adamw")
def adamw(params: Iterable[Any], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def build_optimizer(params: Iterable[Any], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    if cfg.nesterov and cfg.name != "sgd":
        from ferkit.errors import ConfigError

        raise ConfigError(f"optimizer.nesterov=true needs optimizer.name=sgd, got {cfg.name!r}")
    return OPTIMIZERS.get(cfg.name)(params, cfg)


# ---- schedules: each builder returns a Lightning lr_scheduler config dict or None -------------

def _lambda(opt: torch.optim.Optimizer, fn: Callable[[int], float]) -> dict[str, Any]:
    return {"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, fn), "interval": "step"}


def _floor(cfg: SchedulerConfig, base_lr: float) -> float:
    return min(cfg.min_lr / base_lr, 1.0) if base_lr > 0 else 0.0


@SCHEDULERS.register("none")
def constant(opt, cfg: SchedulerConfig, total_steps: int, steps_per_epoch: int, base_lr: float):
    return None


@SCHEDULERS.register("cosine")
def cosine(opt, cfg: SchedulerConfig, total_steps: int, steps_per_epoch: int, base_lr: float):
    """Cosine decay from lr to min_lr over the steps after warm-up."""
    warm = int(cfg.warmup_epochs * steps_per_epoch)
    floor = _floor(cfg, base_lr)

    def fn(step: int) -> float:
        t = min(max(step - warm, 0) / max(total_steps - warm, 1), 1.0)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))

    return _lambda(opt, fn)


@SCHEDULERS.register("cosine_restarts")
def cosine_restarts(opt, cfg: SchedulerConfig, total_steps: int, steps_per_epoch: int,
                    base_lr: float):
    """SGDR: cosine periods of restart_epochs, each restart_mult times longer than the last."""
    floor = _floor(cfg, base_lr)
    period0 = cfg.restart_epochs * steps_per_epoch

    def fn(step: int) -> float:
        period, t = period0, step
        while t >= period:
            t -= period
            period *= cfg.restart_mult
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t / period))

    return _lambda(opt, fn)


@SCHEDULERS.register("onecycle")
def onecycle(opt, cfg: SchedulerConfig, total_steps: int, steps_per_epoch: int, base_lr: float):
    """One-cycle: cosine ramp from lr/div_factor to lr over pct_start, then cosine to ~0."""
    up = max(int(cfg.pct_start * total_steps), 1)
    start = 1.0 / cfg.div_factor
    end = max(_floor(cfg, base_lr), start / 1e4)

    def fn(step: int) -> float:
        if step < up:
            return end_cos(start, 1.0, step / up)
        return end_cos(1.0, end, min((step - up) / max(total_steps - up, 1), 1.0))

    return _lambda(opt, fn)


def end_cos(a: float, b: float, t: float) -> float:
    """Cosine interpolation from a (t=0) to b (t=1)."""
    return b + (a - b) * 0.5 * (1 + math.cos(math.pi * t))


@SCHEDULERS.register("step")
def step_decay(opt, cfg: SchedulerConfig, total_steps: int, steps_per_epoch: int, base_lr: float):
    """lr × gamma every step_size epochs."""
    floor = _floor(cfg, base_lr)
    return _lambda(opt, lambda s: max(cfg.gamma ** ((s // steps_per_epoch) // cfg.step_size),
                                      floor))


@SCHEDULERS.register("plateau")
def plateau(opt, cfg: SchedulerConfig, total_steps: int, steps_per_epoch: int, base_lr: float):
    """ReduceLROnPlateau on the configured monitor (val_acc maximised, losses minimised)."""
    mode = "max" if cfg.monitor.endswith("acc") else "min"
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr)
    return {"scheduler": sched, "interval": "epoch", "monitor": cfg.monitor, "strict": True}


def build_scheduler(opt: torch.optim.Optimizer, cfg: SchedulerConfig, total_steps: int,
                    steps_per_epoch: int, base_lr: float) -> dict[str, Any] | None:
    return SCHEDULERS.get(cfg.name)(opt, cfg, max(total_steps, 1), max(steps_per_epoch, 1),
                                    base_lr)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up multiplier: (step+1)/warmup_steps until warm-up ends, then 1."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return 1.0
    return (step + 1) / warmup_steps
