"""Patch model geometry: crops sit where (nose + offset) says, nose overridable per batch."""

from __future__ import annotations

import pytest
import torch

from ferkit.errors import ConfigError
from ferkit.models import create_model


def _ramp(n: int = 2, size: int = 48) -> torch.Tensor:
    """Images whose pixel value is its x coordinate (+ 100·y), to read crop positions back."""
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (xs + 100 * ys).float().expand(n, 1, size, size).clone()


def test_crop_lands_on_nose_relative_box():
    model = create_model("patch_cnn", patches=[(0, 0, 8), (10, -10, 4)], patch_size=8)
    crops = model.crops(_ramp())  # (N*K, 1, 8, 8)
    assert crops.shape == (4, 1, 8, 8)
    # default nose (24, 28): box x ∈ [20, 28), y ∈ [24, 32) → pixel centres 20.5 … 27.5 (minus
    # the 0.5 pixel-centre offset: values 20 … 27 along x, 2400 … 3100 along y)
    first = crops[0, 0]
    assert first[0, 0].item() == pytest.approx(20 + 100 * 24, abs=1e-3)
    assert first[-1, -1].item() == pytest.approx(27 + 100 * 31, abs=1e-3)
    second = crops[1, 0]  # centre (34, 18), size 4 → x 32 … 36, y 16 … 20
    assert second.mean().item() == pytest.approx(33.5 + 100 * 17.5, abs=1e-3)


def test_nose_override_per_image():
    model = create_model("patch_cnn", patches=[(0, 0, 8)], patch_size=8)
    nose = torch.tensor([[24.0, 28.0], [10.0, 12.0]])
    crops = model.crops(_ramp(), nose)
    assert crops[1, 0, 0, 0].item() == pytest.approx(6 + 100 * 8, abs=1e-3)
    model.eval()
    with torch.no_grad():
        a = model(_ramp() / 5000)
        b = model(_ramp() / 5000, nose=nose)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])
    with pytest.raises(ConfigError, match="nose"):
        model(_ramp(), nose=torch.zeros(3, 2))


def test_gradients_reach_the_input():
    model = create_model("patch_cnn_test")
    x = torch.randn(2, 1, 16, 16, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("patches", [[], [(0, 0)], [(0, 0, 1)], [(200, 0, 8)], "abc",
                                     [(0, 0, 8)] * 17])
def test_bad_patches(patches):
    with pytest.raises(ConfigError, match="patch"):
        create_model("patch_cnn", patches=patches)


def test_full_twin_shares_the_architecture():
    patch = create_model("patch_cnn")
    full = create_model("patch_cnn_full")
    assert [p.shape for p in patch.cnn.parameters()] == [p.shape for p in full.cnn.parameters()]
    assert full.ferkit_info.extra["patches"] is None
    assert patch.ferkit_info.extra["patches"] == [[-9.0, -10.0, 16.0], [9.0, -10.0, 16.0],
                                                  [0.0, 10.0, 16.0]]
