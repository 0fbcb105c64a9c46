"""Test-time augmentation: average a model's logits over flipped / cropped views of each face.

``TTAS`` maps a name (none, flip, tencrop) to a function ``(model, uint8 images, info) → logits``;
the crop helpers are shared with ten-crop *training* in ``ferkit.train.augment`` so both use the
same geometry (4 corners + centre, and their mirrors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch

from ferkit.preprocess import to_model_input
from ferkit.registry import Registry
from ferkit.types import ModelInfo

TTAS: Registry = Registry("tta mode")

#: stored image size = input_size / crop_fraction when training or testing on crops
DEFAULT_CROP_FRACTION = 0.875


def crop_size_for(input_size: int, crop_fraction: float = DEFAULT_CROP_FRACTION) -> int:
    """The size an image is resized to before crops of ``input_size`` are taken from it."""
    return max(input_size, int(round(input_size / crop_fraction)))


def five_crop(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Top-left, top-right, bottom-left, bottom-right and centre crops of (N,C,H,W)."""
    h, w = x.shape[-2:]
    cy, cx = (h - size) // 2, (w - size) // 2
    return [x[..., :size, :size], x[..., :size, w - size:], x[..., h - size:, :size],
            x[..., h - size:, w - size:], x[..., cy:cy + size, cx:cx + size]]


def ten_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N,C,H,W) → (10·N,C,size,size), crop-major: view(10, N, ...) groups one crop position."""
    crops = five_crop(x, size)
    crops += [c.flip(-1) for c in crops]
    return torch.cat(crops, dim=0)


def _forward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).float()


@TTAS.register("none")
def tta_none(model: torch.nn.Module, images: np.ndarray, info: ModelInfo, *,
             device: torch.device | str = "cpu", crop_fraction: float = DEFAULT_CROP_FRACTION):
    """The plain view: the whole face resized to the model's input size."""
    return _forward(model, to_model_input(images, info).to(device))


@TTAS.register("flip")
def tta_flip(model: torch.nn.Module, images: np.ndarray, info: ModelInfo, *,
             device: torch.device | str = "cpu", crop_fraction: float = DEFAULT_CROP_FRACTION):
    """Average of the image's and its mirror image's logits."""
    x = to_model_input(images, info).to(device)
    return 0.5 * (_forward(model, x) + _forward(model, x.flip(-1)))


@TTAS.register("tencrop")
def tta_tencrop(model: torch.nn.Module, images: np.ndarray, info: ModelInfo, *,
                device: torch.device | str = "cpu", crop_fraction: float = DEFAULT_CROP_FRACTION):
    """Resize to input/crop_fraction, average the logits of the 10 crops at input size."""
    big = dataclasses.replace(info, input_size=crop_size_for(info.input_size, crop_fraction))
    x = to_model_input(images, big).to(device)
    n = x.shape[0]
    logits = _forward(model, ten_crop(x, info.input_size))
    return logits.view(10, n, -1).mean(0)


def get_tta(name: str) -> Callable[..., torch.Tensor]:
    """The TTA function registered as ``name`` (did-you-mean error otherwise)."""
    return TTAS.get(name)


@torch.inference_mode()
def predict_logits(model: torch.nn.Module, images: np.ndarray, info: ModelInfo, tta: str = "none",
                   *, batch_size: int = 256, device: torch.device | str = "cpu",
                   crop_fraction: float = DEFAULT_CROP_FRACTION,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Logits (N, K) for uint8 images in batches, with test-time augmentation ``tta``."""
    fn = get_tta(tta)
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        out.append(fn(model, batch, info, device=device, crop_fraction=crop_fraction).cpu())
        if progress is not None:
            progress(len(batch))
    if not out:
        return np.zeros((0, len(info.labels)), dtype=np.float32)
    return torch.cat(out).numpy()
