"""VGG / Inception / ResNet families at 48×48, after Pramerdorfer & Kampel (2016).

Their point: modern deep CNNs (VGG, Inception, ResNet) beat the shallow FER nets on FER2013, and an
ensemble of the three reached 75.2%. Their exact layer tables are not reproduced here; these are
ferkit's variants at 1–5M parameters each, sized for 48 px faces:

- VGG: 4 stages of two conv3×3-BN-ReLU + maxpool (32/64/128/256), flatten 3·3·256 → FC 512 → FC
  512 (dropout 0.5).
- Inception: stem conv 64 ×2, then GoogLeNet-style blocks (1×1 | 1×1→3×3 | 1×1→3×3→3×3 |
  pool→1×1) at 256 then 480 channels, max pools between, GAP → dropout → Linear.
- ResNet: timm ResNet with BasicBlocks (2, 2, 2, 2) at 32/64/128/256 channels, 3×3 stride-1 stem,
  no stem max pool.
"""

from __future__ import annotations

import torch
from timm.models.resnet import BasicBlock, ResNet
from torch import nn

from ferkit.models._api import MODELS
from ferkit.models._common import (
    FerNet,
    check_int,
    check_prob,
    conv_bn_relu,
    flatten_neck,
    gap_neck,
    make_info,
)
from ferkit.models._timm import TimmNet, small_resnet_stem

REF = ("Pramerdorfer & Kampel 2016, 'Facial Expression Recognition using Convolutional Neural "
       "Networks: State of the Art' (arXiv:1612.02903); ferkit's variant")
ACC = "ensemble of VGG+Inception+ResNet 75.2% FER2013 test (single models: see the paper)"


def vgg48_net(name: str, num_classes: int, in_chans: int, *, widths=(32, 64, 128, 256),
              fc: int = 512, drop: float = 0.5, input_size: int = 48) -> FerNet:
    drop = check_prob("drop", drop)
    check_int("input_size", input_size, 2 ** len(widths))
    stages, cin = [], in_chans
    for w in widths:
        stages.append(nn.Sequential(*conv_bn_relu(cin, w, 3, bias=False),
                                    *conv_bn_relu(w, w, 3, bias=False), nn.MaxPool2d(2)))
        cin = w
    side = input_size // 2 ** len(widths)
    neck = flatten_neck(cin * side * side, [fc, fc], drop=drop)
    return FerNet(nn.Sequential(*stages), neck, fc, num_classes,
                  make_info(name, in_chans, input_size, reference=REF))


class InceptionBlock(nn.Module):
    """GoogLeNet block; the 5×5 branch is two 3×3 convs (Inception-v2 factorisation)."""

    def __init__(self, cin: int, c1: int, r3: int, c3: int, r5: int, c5: int, cp: int) -> None:
        super().__init__()
        cbr = conv_bn_relu
        self.b1 = nn.Sequential(*cbr(cin, c1, 1, bias=False))
        self.b3 = nn.Sequential(*cbr(cin, r3, 1, bias=False), *cbr(r3, c3, 3, bias=False))
        self.b5 = nn.Sequential(*cbr(cin, r5, 1, bias=False), *cbr(r5, c5, 3, bias=False),
                                *cbr(c5, c5, 3, bias=False))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), *cbr(cin, cp, 1, bias=False))
        self.out_chans = c1 + c3 + c5 + cp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


#: (c1, r3, c3, r5, c5, cp) per block, grouped in stages separated by max pools (GoogLeNet 3a-4b)
INCEPTION_STAGES = (((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
                    ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64)))


def inception48_net(name: str, num_classes: int, in_chans: int, *, stem: int = 64,
                    stages=INCEPTION_STAGES, drop: float = 0.4, input_size: int = 48) -> FerNet:
    drop = check_prob("drop", drop)
    check_int("input_size", input_size, 16)
    layers = [nn.Sequential(*conv_bn_relu(in_chans, stem, 3, bias=False),
                            *conv_bn_relu(stem, stem, 3, bias=False), nn.MaxPool2d(2))]
    cin = stem
    for i, blocks in enumerate(stages):
        mods = []
        for spec in blocks:
            mods.append(InceptionBlock(cin, *spec))
            cin = mods[-1].out_chans
        pool = [nn.MaxPool2d(2)] if i < len(stages) - 1 else []
        layers.append(nn.Sequential(*mods, *pool))
    return FerNet(nn.Sequential(*layers), gap_neck(), cin, num_classes,
                  make_info(name, in_chans, input_size, reference=REF), head_drop=drop)


def resnet48_net(name: str, num_classes: int, in_chans: int, *, layers=(2, 2, 2, 2),
                 channels=(32, 64, 128, 256), drop: float = 0.0, input_size: int = 48) -> TimmNet:
    check_int("input_size", input_size, 8)
    backbone = small_resnet_stem(ResNet(BasicBlock, layers, num_classes=0, in_chans=in_chans,
                                        stem_width=channels[0], channels=channels), in_chans)
    return TimmNet(backbone, num_classes, make_info(name, in_chans, input_size, reference=REF),
                   cam_path="layer4", drop=drop)


def _register(name: str, factory, **test_kwargs) -> None:
    """Register the full model and its ``*_test`` twin from one factory."""

    def full(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
             drop: float | None = None, input_size: int = 48):
        extra = {} if drop is None else {"drop": drop}
        return factory(name, num_classes, in_chans, input_size=input_size, **extra)

    def test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False):
        return factory(f"{name}_test", num_classes, in_chans, input_size=16, **test_kwargs)

    MODELS.add(name, full, family="pramerdorfer", reference=REF, paper_accuracy=ACC)
    MODELS.add(f"{name}_test", test, family="pramerdorfer", reference="ferkit test model")


_register("pramerdorfer_vgg", vgg48_net, widths=(4, 4, 8, 8), fc=8)
_register("pramerdorfer_inception", inception48_net, stem=4,
          stages=(((4, 4, 4, 2, 2, 2),), ((4, 4, 4, 2, 2, 2),)))
_register("pramerdorfer_resnet", resnet48_net, layers=(1, 1, 1, 1), channels=(4, 8, 8, 8))
