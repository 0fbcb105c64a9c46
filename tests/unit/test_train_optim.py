"""Optimizer/scheduler registries and the closed-form schedules."""

from __future__ import annotations

import pytest
import torch

from ferkit.errors import ConfigError
from ferkit.train.config import OptimizerConfig, SchedulerConfig
from ferkit.train.optim import (
    OPTIMIZERS,
    SCHEDULERS,
    build_optimizer,
    build_scheduler,
    warmup_factor,
)


def _opt(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _lrs(name: str, total: int = 100, per_epoch: int = 10, **kw) -> list[float]:
    opt = _opt()
    sched = build_scheduler(opt, SchedulerConfig(name=name, **kw), total, per_epoch, 0.1)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched["scheduler"].step()
    return out


def test_registries():
    assert {"sgd", "adam", "adamw"} <= set(OPTIMIZERS.names())
    assert {"none", "plateau", "cosine", "cosine_restarts", "onecycle", "step"} <= set(
        SCHEDULERS.names())


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_optimizers_build(name):
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(2))],
                          OptimizerConfig(name=name, lr=0.05, weight_decay=1e-4))
    assert opt.param_groups[0]["lr"] == 0.05


def test_sgd_nesterov_and_misuse():
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))],
                          OptimizerConfig(name="sgd", nesterov=True))
    assert opt.param_groups[0]["nesterov"] is True
    with pytest.raises(ConfigError, match="nesterov"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))],
                        OptimizerConfig(name="adam", nesterov=True))


def test_cosine_decays_to_min_lr():
    lrs = _lrs("cosine", min_lr=0.001)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[50] == pytest.approx(0.001 + 0.099 * 0.5, rel=1e-3)
    assert lrs[-1] == pytest.approx(0.001, abs=2e-4)
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_step_decay_every_step_size_epochs():
    lrs = _lrs("step", step_size=2, gamma=0.5)
    assert lrs[19] == pytest.approx(0.1) and lrs[20] == pytest.approx(0.05)
    assert lrs[40] == pytest.approx(0.025)


def test_onecycle_peaks_at_pct_start():
    lrs = _lrs("onecycle", pct_start=0.3, div_factor=10)
    assert lrs[0] == pytest.approx(0.01)
    assert max(lrs) == pytest.approx(0.1, rel=1e-3) and lrs.index(max(lrs)) == 30
    assert lrs[-1] < 0.005


def test_cosine_restarts_restart():
    lrs = _lrs("cosine_restarts", restart_epochs=3)
    assert lrs[0] == pytest.approx(0.1) and lrs[29] < 0.01 and lrs[30] == pytest.approx(0.1)


def test_plateau_is_epoch_wise_and_monitors():
    sched = build_scheduler(_opt(), SchedulerConfig(name="plateau", monitor="val_loss"), 10, 1,
                            0.1)
    assert sched["interval"] == "epoch" and sched["monitor"] == "val_loss"
    assert sched["scheduler"].mode == "min"
    assert build_scheduler(_opt(), SchedulerConfig(name="none"), 10, 1, 0.1) is None


def test_warmup_factor():
    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0
