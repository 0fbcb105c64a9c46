"""The EMA update rule behind trainer.ema: warm-up copies, then lerp; BatchNorm buffers."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ferkit.errors import ConfigError
from ferkit.train.callbacks import ema_multi_avg_fn
from ferkit.train.config import load_train_config


def _step(model: nn.Module, seed: int) -> None:
    """Change every weight and the BatchNorm statistics, as a training step would."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g))
    model.train()(torch.randn(4, 1, 5, 5, generator=g))


def test_warmup_follows_then_averages_weights_and_bn_statistics():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    avg = AveragedModel(model, use_buffers=True, multi_avg_fn=ema_multi_avg_fn(0.75, 3))
    for i in range(3):  # update 1 copies (n_averaged 0), updates 2-3 still inside the warm-up
        _step(model, i)
        avg.update_parameters(model)
        for a, b in zip(avg.module.state_dict().values(), model.state_dict().values(),
                        strict=True):
            assert torch.equal(a, b)
    expected = {k: v.clone() for k, v in avg.module.state_dict().items()}
    _step(model, 9)
    avg.update_parameters(model)
    for k, v in model.state_dict().items():
        got = avg.module.state_dict()[k]
        if v.is_floating_point():  # weights, running mean/var: 0.75 · old + 0.25 · new
            assert torch.allclose(got, 0.75 * expected[k] + 0.25 * v, atol=1e-6), k
        else:  # num_batches_tracked follows the live model
            assert torch.equal(got, v), k
    assert not torch.equal(avg.module[1].running_mean, model[1].running_mean)


def test_ema_config_ranges():
    assert load_train_config(None, []).trainer.ema == 0.0  # off by default
    for bad in ("trainer.ema=1.0", "trainer.ema=-0.1", "trainer.ema_warmup_steps=-1"):
        with pytest.raises(ConfigError, match=bad.split("=")[0]):
            load_train_config(None, [bad])
