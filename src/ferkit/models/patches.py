"""Nose-relative patch models for deep evolution (Dufourq & Bassett 2020).

A small CNN, shared by all patches, looks only at K square crops placed relative to the nose; each
crop is given as ``(dx, dy, size)`` in input pixels, cut with ``torchvision.ops.roi_align``
(differentiable, batched, zero outside the image) and resized to ``patch_size``. The per-patch
feature maps are flattened and concatenated, then FC ``hidden`` → classes, so the parameter count
grows with K while the full-image twin (``patch_cnn_full``: the same CNN and head over the whole
face) shows what the patches save.

The nose defaults to the canonical position in an aligned 48×48 FER face, (24, 28); pass
``nose=`` to ``forward`` as (2,) or (N, 2) pixel coordinates to override it per batch/image.
Coordinates scale with the actual input size. ``cam_layer`` maps are per patch
((N·K, C, h, w), see ``ferkit_info.extra['cam']``). ferkit's design; only the idea (few
nose-relative patches, far fewer parameters, interpretable placement) is the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchvision.ops import roi_align

from ferkit.errors import ConfigError
from ferkit.models._api import MODELS
from ferkit.models._common import check_int, check_prob, conv_bn_relu, make_info, mlp

REF = ("Dufourq & Bassett 2020, 'Automated facial expression recognition using deep evolution' "
       "(nose-relative patches); ferkit's variant")
NOSE_48 = (24.0, 28.0)
#: left eye+brow, right eye+brow, mouth in an aligned 48×48 face (relative to the nose)
DEFAULT_PATCHES = ((-9, -10, 16), (9, -10, 16), (0, 10, 16))


def check_patches(patches: object, input_size: int) -> tuple[tuple[float, float, float], ...]:
    """Validate a genome: 1–16 patches of (dx, dy, size) with 2 <= size <= 2·input_size."""
    try:
        out = tuple((float(dx), float(dy), float(s)) for dx, dy, s in patches)  # type: ignore
    except (TypeError, ValueError):
        raise ConfigError(f"patches must be a list of (dx, dy, size) triples, got {patches!r}") \
            from None
    if not 1 <= len(out) <= 16:
        raise ConfigError(f"patches: need 1 to 16 patches, got {len(out)}")
    for dx, dy, s in out:
        if not 2 <= s <= 2 * input_size or max(abs(dx), abs(dy)) > input_size:
            raise ConfigError(f"patch (dx={dx}, dy={dy}, size={s}) is out of range: size must be "
                              f"in [2, {2 * input_size}] and |dx|, |dy| <= {input_size}")
    return out


class PatchNet(nn.Module):
    """Shared CNN over nose-relative crops (or the full image when ``patches`` is None)."""

    def __init__(self, name: str, num_classes: int, in_chans: int, *,
                 patches: Sequence | None = DEFAULT_PATCHES, patch_size: int = 16,
                 widths: Sequence[int] = (32, 64), hidden: int = 128, drop: float = 0.3,
                 input_size: int = 48, nose: Sequence[float] | None = None) -> None:
        super().__init__()
        check_int("input_size", input_size, 8)
        self.patches = None if patches is None else check_patches(patches, input_size)
        self.patch_size = input_size if patches is None else check_int("patch_size", patch_size,
                                                                       4, 128)
        nose = NOSE_48 if nose is None else nose
        self.nose = tuple(float(v) * input_size / 48 if nose is NOSE_48 else float(v) for v in nose)
        stages, cin = [], in_chans
        for w in widths:
            stages.append(nn.Sequential(*conv_bn_relu(cin, w, 3), nn.MaxPool2d(2)))
            cin = w
        self.cnn = nn.Sequential(*stages)
        side = self.patch_size // 2 ** len(widths)
        k = 1 if self.patches is None else len(self.patches)
        self.neck = nn.Sequential(*mlp([k * cin * side * side, hidden], bn=False,
                                       drop=check_prob("drop", drop)))
        self.num_features = check_int("hidden", hidden, 1)
        self.head = nn.Linear(hidden, num_classes)
        cam = "whole image" if self.patches is None else "per-patch (N*K, C, h, w)"
        self.ferkit_info = make_info(name, in_chans, input_size, reference=REF, extra={
            "patches": None if self.patches is None else [list(p) for p in self.patches],
            "nose": list(self.nose), "patch_size": self.patch_size, "cam": cam})

    @property
    def cam_layer(self) -> nn.Module:
        return self.cnn[-1]

    def boxes(self, x: torch.Tensor, nose: torch.Tensor | Sequence[float] | None) -> torch.Tensor:
        """roi_align boxes (N·K, 5): batch index, x1, y1, x2, y2 in input pixels."""
        n, scale = x.shape[0], x.shape[-1] / self.ferkit_info.input_size
        centre = torch.as_tensor(self.nose if nose is None else nose, dtype=x.dtype,
                                 device=x.device)
        if centre.shape not in ((2,), (n, 2)):
            raise ConfigError(f"nose must have shape (2,) or ({n}, 2), got {tuple(centre.shape)}")
        centre = centre.expand(n, 2) * (scale if nose is None else 1.0)
        p = torch.tensor(self.patches, dtype=x.dtype, device=x.device) * scale  # (K, 3)
        c = centre[:, None, :] + p[None, :, :2]  # (N, K, 2)
        half = p[None, :, 2:].expand(n, -1, -1) / 2
        idx = torch.arange(n, dtype=x.dtype, device=x.device)[:, None, None].expand(-1, len(p), 1)
        return torch.cat([idx, c - half, c + half], dim=-1).reshape(-1, 5)

    def crops(self, x: torch.Tensor, nose=None) -> torch.Tensor:
        """(N·K, C, patch_size, patch_size) crops, or ``x`` itself for the full-image twin."""
        if self.patches is None:
            return x
        return roi_align(x, self.boxes(x, nose), self.patch_size, spatial_scale=1.0,
                         sampling_ratio=2, aligned=True)

    def forward_features(self, x: torch.Tensor, nose=None) -> torch.Tensor:
        maps = self.cnn(self.crops(x, nose))
        return self.neck(maps.reshape(x.shape[0], -1))

    def forward(self, x: torch.Tensor, nose=None) -> torch.Tensor:
        return self.head(self.forward_features(x, nose))

    def reset_classifier(self, num_classes: int) -> None:
        self.head = nn.Linear(self.num_features, check_int("num_classes", num_classes, 1))


@MODELS.register("patch_cnn", family="patches", reference=REF)
def patch_cnn(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
              patches: Sequence | None = DEFAULT_PATCHES, patch_size: int = 16,
              widths: Sequence[int] = (32, 64), hidden: int = 128, drop: float = 0.3,
              input_size: int = 48, nose: Sequence[float] | None = None) -> PatchNet:
    if patches is None:
        raise ConfigError("patch_cnn needs patches; use 'patch_cnn_full' for the whole image")
    return PatchNet("patch_cnn", num_classes, in_chans, patches=patches, patch_size=patch_size,
                    widths=_widths(widths), hidden=hidden, drop=drop, input_size=input_size,
                    nose=nose)


def _widths(widths: object) -> tuple[int, ...]:
    if (not isinstance(widths, list | tuple) or not 1 <= len(widths) <= 4
            or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths)):
        raise ConfigError(f"model argument widths must be 1 to 4 positive integers, got "
                          f"{widths!r}")
    return tuple(widths)


@MODELS.register("patch_cnn_full", family="patches", reference=REF)
def patch_cnn_full(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                   widths: Sequence[int] = (32, 64), hidden: int = 128, drop: float = 0.3,
                   input_size: int = 48) -> PatchNet:
    return PatchNet("patch_cnn_full", num_classes, in_chans, patches=None,
                    widths=_widths(widths), hidden=hidden, drop=drop, input_size=input_size)


@MODELS.register("patch_cnn_test", family="patches", reference="ferkit test model")
def patch_cnn_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                   patches: Sequence | None = ((-4, -4, 8), (4, 4, 8))) -> PatchNet:
    return PatchNet("patch_cnn_test", num_classes, in_chans, patches=patches, patch_size=8,
                    widths=(4, 8), hidden=8, input_size=16, nose=(8.0, 9.0))
