"""Alizadeh & Fazel (2017) classic CNNs, as rebuilt by Bokányi & Mészégető.

Shallow: 2 conv layers (64, 128; 3×3) each BN-ReLU-dropout-maxpool 2×2, then FC 512; ≈9.5M params
at 48×48 (the FC layer dominates). Deep: conv 64 (3×3) → 128 (5×5) → 512 (3×3) → 512 (3×3), each
BN-ReLU-maxpool-dropout, then FC 256 → 512 (BN, ReLU, dropout); ≈4.47M params.

ferkit's variant: 'same' padding, conv biases kept (Keras default), input pixels scaled to [-1, 1]
(mean 0.5, std 0.5; the papers do not say).
"""

from __future__ import annotations

from torch import nn

from ferkit.models._api import MODELS
from ferkit.models._common import (
    FerNet,
    check_int,
    check_prob,
    conv_bn_relu,
    flatten_neck,
    make_info,
)

REF = ("Alizadeh & Fazel 2017, 'Convolutional Neural Networks for Facial Expression Recognition' "
       "(arXiv:1704.06756); rebuilt by Bokányi & Mészégető")


def alizadeh_shallow_net(name: str, num_classes: int, in_chans: int, *, widths=(64, 128),
                         fc: int = 512, drop: float = 0.3, input_size: int = 48) -> FerNet:
    """Two conv blocks (conv-BN-ReLU-dropout-maxpool) + one hidden FC layer."""
    drop = check_prob("drop", drop)
    check_int("input_size", input_size, 8)
    stages, cin = [], in_chans
    for w in widths:
        stages.append(nn.Sequential(*conv_bn_relu(cin, w, 3), nn.Dropout(drop), nn.MaxPool2d(2)))
        cin = w
    side = input_size // 2 ** len(widths)
    neck = flatten_neck(cin * side * side, [fc], drop=drop)
    info = make_info(name, in_chans, input_size, reference=REF)
    return FerNet(nn.Sequential(*stages), neck, fc, num_classes, info)


def alizadeh_deep_net(name: str, num_classes: int, in_chans: int, *,
                      convs=((64, 3), (128, 5), (512, 3), (512, 3)), fcs=(256, 512),
                      drop: float = 0.3, input_size: int = 48) -> FerNet:
    """Four conv blocks (conv-BN-ReLU-maxpool-dropout) + FC 256 → 512 with BN and dropout."""
    drop = check_prob("drop", drop)
    check_int("input_size", input_size, 16)
    stages, cin = [], in_chans
    for w, k in convs:
        stages.append(nn.Sequential(*conv_bn_relu(cin, w, k), nn.MaxPool2d(2), nn.Dropout(drop)))
        cin = w
    side = input_size // 2 ** len(convs)
    neck = flatten_neck(cin * side * side, fcs, bn=True, drop=drop)
    info = make_info(name, in_chans, input_size, reference=REF)
    return FerNet(nn.Sequential(*stages), neck, fcs[-1], num_classes, info)


@MODELS.register("alizadeh_shallow", family="alizadeh", reference=REF,
                 paper_accuracy="≈55-60% FER2013 (Bokányi rebuild: ≈60%)")
def alizadeh_shallow(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                     drop: float = 0.3, input_size: int = 48) -> FerNet:
    return alizadeh_shallow_net("alizadeh_shallow", num_classes, in_chans, drop=drop,
                                input_size=input_size)


@MODELS.register("alizadeh_deep", family="alizadeh", reference=REF,
                 paper_accuracy="≈65-66% FER2013 (Bokányi rebuild: ≈66%)")
def alizadeh_deep(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                  drop: float = 0.3, input_size: int = 48) -> FerNet:
    return alizadeh_deep_net("alizadeh_deep", num_classes, in_chans, drop=drop,
                             input_size=input_size)


@MODELS.register("alizadeh_shallow_test", family="alizadeh", reference="ferkit test model")
def alizadeh_shallow_test(num_classes: int = 7, in_chans: int = 1,
                          pretrained: bool = False) -> FerNet:
    return alizadeh_shallow_net("alizadeh_shallow_test", num_classes, in_chans, widths=(4, 8),
                                fc=16, input_size=16)


@MODELS.register("alizadeh_deep_test", family="alizadeh", reference="ferkit test model")
def alizadeh_deep_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False) -> FerNet:
    return alizadeh_deep_net("alizadeh_deep_test", num_classes, in_chans,
                             convs=((4, 3), (8, 5), (8, 3), (8, 3)), fcs=(16, 16), input_size=16)
