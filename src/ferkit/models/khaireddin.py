"""Khaireddin & Chen (2021): the VGG variant behind "73.28% on FER2013" (PublicTest).

4 stages × (conv3×3-BN-ReLU ×2 + maxpool 2×2) with 64/128/256/512 channels on 40×40 crops,
then FC 4096 → 4096 → 7 with dropout 0.2: exactly 29,890,759 parameters. Inputs are pixels / 255
(mean 0, std 1), as in the authors' code.

ferkit's variant: dropout placed after each hidden FC's ReLU (the count does not depend on it).
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

REF = ("Khaireddin & Chen 2021, 'Facial Emotion Recognition: State of the Art Performance on "
       "FER2013' (arXiv:2105.03588)")


def vgg_net(name: str, num_classes: int, in_chans: int, *, widths=(64, 128, 256, 512),
            fc: int = 4096, drop: float = 0.2, input_size: int = 40) -> FerNet:
    drop = check_prob("drop", drop)
    check_int("input_size", input_size, 16)
    stages, cin = [], in_chans
    for w in widths:
        stages.append(nn.Sequential(*conv_bn_relu(cin, w, 3, padding=1),
                                    *conv_bn_relu(w, w, 3, padding=1), nn.MaxPool2d(2)))
        cin = w
    side = input_size // 2 ** len(widths)
    neck = flatten_neck(cin * side * side, [fc, fc], drop=drop)
    info = make_info(name, in_chans, input_size, mean=0.0, std=1.0, reference=REF)
    return FerNet(nn.Sequential(*stages), neck, fc, num_classes, info)


@MODELS.register("khaireddin_vgg", family="khaireddin", reference=REF,
                 paper_accuracy="73.28% FER2013 PublicTest")
def khaireddin_vgg(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                   drop: float = 0.2, input_size: int = 40) -> FerNet:
    return vgg_net("khaireddin_vgg", num_classes, in_chans, drop=drop, input_size=input_size)


@MODELS.register("khaireddin_vgg_test", family="khaireddin", reference="ferkit test model")
def khaireddin_vgg_test(num_classes: int = 7, in_chans: int = 1,
                        pretrained: bool = False) -> FerNet:
    return vgg_net("khaireddin_vgg_test", num_classes, in_chans, widths=(4, 4, 8, 8), fc=16,
                   input_size=16)
