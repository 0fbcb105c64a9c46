"""Vulpe-Grigorași & Grigore (2021): the CNN found by random hyperparameter search.

conv 256 → conv 512 (BN, pool, drop .4) → 384 (BN, pool, drop .4) → 192 (BN, pool, drop .4) →
384 (BN, pool, drop .4) → flatten 3·3·384 → FC 256 (BN, drop .3) → 7; 3×3 kernels, ReLU,
'same' padding. Exactly 5,170,503 trainable parameters, which pins down the choices below.

ferkit's variant where the slides are silent: conv biases kept; no BN after the first conv
(adding one would break the published count); BN before ReLU.
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

REF = ("Vulpe-Grigorași & Grigore 2021, 'Convolutional neural network hyperparameters "
       "optimization for facial emotion recognition' (ATEE 2021)")


def vulpe_net(name: str, num_classes: int, in_chans: int, *, first: int = 256,
              widths=(512, 384, 192, 384), fc: int = 256, conv_drop: float = 0.4,
              fc_drop: float = 0.3, input_size: int = 48) -> FerNet:
    conv_drop, fc_drop = check_prob("conv_drop", conv_drop), check_prob("fc_drop", fc_drop)
    check_int("input_size", input_size, 16)
    stem = nn.Sequential(nn.Conv2d(in_chans, first, 3, padding="same"), nn.ReLU(inplace=True))
    stages, cin = [stem], first
    for w in widths:
        stages.append(nn.Sequential(*conv_bn_relu(cin, w, 3), nn.MaxPool2d(2),
                                    nn.Dropout(conv_drop)))
        cin = w
    side = input_size // 2 ** len(widths)
    neck = flatten_neck(cin * side * side, [fc], bn=True, drop=fc_drop)
    info = make_info(name, in_chans, input_size, reference=REF)
    return FerNet(nn.Sequential(*stages), neck, fc, num_classes, info)


@MODELS.register("vulpe_cnn", family="vulpe", reference=REF,
                 paper_accuracy="72.16% FER2013 test")
def vulpe_cnn(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
              conv_drop: float = 0.4, fc_drop: float = 0.3, input_size: int = 48) -> FerNet:
    return vulpe_net("vulpe_cnn", num_classes, in_chans, conv_drop=conv_drop, fc_drop=fc_drop,
                     input_size=input_size)


@MODELS.register("vulpe_family", family="vulpe", reference=REF,
                 paper_accuracy="search space of the 72.16% model")
def vulpe_family(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 first: int = 256, depth: int = 4, w1: int = 512, w2: int = 384, w3: int = 192,
                 w4: int = 384, fc: int = 256, conv_drop: float = 0.4, fc_drop: float = 0.3,
                 input_size: int = 48) -> FerNet:
    """The random-search space as a model family: flat, searchable options.

    ``first`` filters in the unpooled first conv, then ``depth`` (1-4) pooled conv layers of
    ``w1..w4`` filters (options past ``depth`` are ignored, so a search can sample all four). The
    defaults are the paper's chosen member: exactly 5,170,503 parameters.
    """
    check_int("first", first, 1)
    check_int("depth", depth, 1, 4)
    widths = tuple(check_int(f"w{i + 1}", w, 1) for i, w in enumerate((w1, w2, w3, w4)))
    return vulpe_net("vulpe_family", num_classes, in_chans, first=first, widths=widths[:depth],
                     fc=check_int("fc", fc, 1), conv_drop=conv_drop, fc_drop=fc_drop,
                     input_size=input_size)


@MODELS.register("vulpe_cnn_test", family="vulpe", reference="ferkit test model")
def vulpe_cnn_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False) -> FerNet:
    return vulpe_net("vulpe_cnn_test", num_classes, in_chans, first=4, widths=(8, 8, 8, 8), fc=8,
                     input_size=16)
