"""Batched training augmentations: whole-batch tensor ops, so a small CPU is never data-bound.

The batch arrives as floats in [0, 1] (N,C,H,W) at the *stored* size (the model's input size, or
input/crop_fraction when crops are trained). Stages run in ``STAGE_ORDER``; each is registered on
``AUGMENTATIONS`` and built from ``AugmentConfig`` (a builder returns ``None`` when disabled):

- ``affine``: flip + rotation + shift + scale as ONE ``affine_grid``/``grid_sample`` per batch;
- ``crop``: random crop or ten-crop (each crop becomes a sample, labels repeated);
- ``erase``: vectorised random erasing (one mask per sample, no Python loop);
- ``mix``: mixup / cutmix, turning labels into soft targets (N, K).
All randomness comes from an explicit ``torch.Generator`` so runs are reproducible and resumable.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ferkit.ensemble.tta import ten_crop
from ferkit.registry import Registry
from ferkit.train.config import AugmentConfig

Stage = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
AUGMENTATIONS: Registry = Registry("augmentation")
STAGE_ORDER: tuple[str, ...] = ("affine", "crop", "erase", "mix")


def _rand(n: int, gen: torch.Generator, device: torch.device, lo: float = 0.0,
          hi: float = 1.0) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (hi - lo) + lo


@AUGMENTATIONS.register("affine")
def build_affine(cfg: AugmentConfig, input_size: int, num_classes: int) -> Stage | None:
    """Random horizontal flip, rotation, shift and zoom in one resampling pass."""
    geometric = cfg.rotation > 0 or cfg.shift > 0 or cfg.scale > 0
    if cfg.hflip == 0 and not geometric:
        return None

    def flip_only(x, y, gen):
        mask = _rand(x.shape[0], gen, x.device) < cfg.hflip
        return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x), y

    def affine(x, y, gen):
        n, dev = x.shape[0], x.device
        on = (_rand(n, gen, dev) < cfg.affine_p).float()
        angle = _rand(n, gen, dev, -1, 1) * math.radians(cfg.rotation) * on
        zoom = 1.0 + _rand(n, gen, dev, -1, 1) * cfg.scale * on
        tx = _rand(n, gen, dev, -1, 1) * 2 * cfg.shift * on
        ty = _rand(n, gen, dev, -1, 1) * 2 * cfg.shift * on
        flip = torch.where(_rand(n, gen, dev) < cfg.hflip, -1.0, 1.0)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                             torch.stack([sin * flip, cos, ty], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False), y

    return affine if geometric else flip_only


@AUGMENTATIONS.register("crop")
def build_crop(cfg: AugmentConfig, input_size: int, num_classes: int) -> Stage | None:
    """Random crop or ten-crop of ``input_size`` from the larger stored image."""
    if cfg.tencrop:
        def tencrop(x, y, gen):
            return ten_crop(x, input_size), y.repeat(10, *([1] * (y.dim() - 1)))

        return tencrop
    if not cfg.random_crop:
        return None

    def random_crop(x, y, gen):
        n, _, h, w = x.shape
        oy = (torch.rand(n, generator=gen, device=x.device) * (h - input_size + 1)).long()
        ox = (torch.rand(n, generator=gen, device=x.device) * (w - input_size + 1)).long()
        ar = torch.arange(input_size, device=x.device)
        iy = (oy[:, None] + ar)[:, :, None]  # (N,S,1)
        ix = (ox[:, None] + ar)[:, None, :]  # (N,1,S)
        b = torch.arange(n, device=x.device)[:, None, None]
        return x.permute(0, 2, 3, 1)[b, iy, ix].permute(0, 3, 1, 2).contiguous(), y

    return random_crop


@AUGMENTATIONS.register("erase")
def build_erase(cfg: AugmentConfig, input_size: int, num_classes: int) -> Stage | None:
    """Random erasing (Zhong et al.): one rectangle per chosen sample set to 0, vectorised."""
    if cfg.erasing == 0:
        return None
    lo, hi = cfg.erasing_area

    def erase(x, y, gen):
        n, _, h, w = x.shape
        dev = x.device
        area = _rand(n, gen, dev, lo, hi) * h * w
        ratio = torch.exp(_rand(n, gen, dev, math.log(0.3), math.log(1 / 0.3)))
        eh = torch.sqrt(area * ratio).clamp(1, h)
        ew = torch.sqrt(area / ratio).clamp(1, w)
        top = _rand(n, gen, dev) * (h - eh)
        left = _rand(n, gen, dev) * (w - ew)
        rows = torch.arange(h, device=dev).view(1, h, 1)
        cols = torch.arange(w, device=dev).view(1, 1, w)
        inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + eh).view(-1, 1, 1))
                  & (cols >= left.view(-1, 1, 1)) & (cols < (left + ew).view(-1, 1, 1)))
        chosen = (_rand(n, gen, dev) < cfg.erasing).view(-1, 1, 1)
        return x.masked_fill((inside & chosen).unsqueeze(1), 0.0), y

    return erase


def _beta(alpha: float, gen: torch.Generator) -> float:
    """A Beta(alpha, alpha) draw seeded from the explicit torch generator."""
    import numpy as np

    seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device).item())
    return float(np.random.default_rng(seed).beta(alpha, alpha))


@AUGMENTATIONS.register("mix")
def build_mix(cfg: AugmentConfig, input_size: int, num_classes: int) -> Stage | None:
    """Mixup or CutMix on the batch; labels become soft targets (N, K)."""
    modes = [m for m, alpha in (("mixup", cfg.mixup), ("cutmix", cfg.cutmix)) if alpha > 0]
    if not modes:
        return None

    def mix(x, y, gen):
        dev = x.device
        target = F.one_hot(y, num_classes).to(x.dtype) if y.dim() == 1 else y
        if float(_rand(1, gen, dev)) >= cfg.mix_p:
            return x, target
        mode = modes[int(_rand(1, gen, dev) * len(modes)) % len(modes)]
        lam = _beta(cfg.mixup if mode == "mixup" else cfg.cutmix, gen)
        perm = torch.randperm(x.shape[0], generator=gen, device=dev)
        if mode == "mixup":
            x = lam * x + (1 - lam) * x[perm]
        else:
            h, w = x.shape[-2:]
            ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
            cy, cx = int(_rand(1, gen, dev) * h), int(_rand(1, gen, dev) * w)
            y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
            x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
            x = x.clone()
            x[..., y0:y1, x0:x1] = x[perm][..., y0:y1, x0:x1]
            lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
        return x, lam * target + (1 - lam) * target[perm]

    return mix


class BatchAugmenter:
    """The configured stages in order; ``(x, y, gen) → (x, y)`` on a whole batch."""

    def __init__(self, cfg: AugmentConfig, input_size: int, num_classes: int,
                 stages: tuple[str, ...] = STAGE_ORDER) -> None:
        built = [(name, AUGMENTATIONS.get(name)(cfg, input_size, num_classes)) for name in stages]
        self.stages = [(name, fn) for name, fn in built if fn is not None]
        self.input_size = input_size

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.stages]

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        for _, fn in self.stages:
            x, y = fn(x, y, gen)
        if x.shape[-1] != self.input_size:  # stored larger but no crop stage: plain resize
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                              align_corners=False, antialias=True)
        return x, y
