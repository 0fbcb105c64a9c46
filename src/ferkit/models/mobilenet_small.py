"""A small MobileNetV2-style FER model (Dao Cong & Le Trung report, 784,263 parameters).

Two plain convs (3×3 then 5×5, each BN-ReLU), then inverted-residual blocks (1×1 expand →
depthwise 3×3 → 1×1 project, identity skip) whose intermediate (expanded) widths are 256, 256,
512, 512, with 2×2 max pooling between stages; then flatten + FC.

ferkit's variant (the report gives only the above and the total): stem 32 → 64 channels
(bias-free convs), a max pool after the stem and after each stage, every block keeps 64 channels
(expansion 4 then 8, so the skip is an identity as the report describes), flatten 6·6·64 → FC 224
(BN, ReLU) → classes. Total 787,111 parameters with 7 classes (+0.36% of the report's).
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

REF = ("Dao Cong & Le Trung 2021, 'AI Programming Project' report (FER with a MobileNetV2-style "
       "small CNN)")


class InvertedResidual(nn.Module):
    """MobileNetV2 block with identity skip: expand 1×1 → depthwise 3×3 → project 1×1."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            *conv_bn_relu(channels, hidden, 1, bias=False),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False), nn.BatchNorm2d(channels),
        )

    def forward(self, x):
        return x + self.conv(x)


def mobilenet_small_net(name: str, num_classes: int, in_chans: int, *, stem=(32, 64),
                        hidden=((256, 256), (512, 512)), fc: int = 224, drop: float = 0.0,
                        input_size: int = 48) -> FerNet:
    drop = check_prob("drop", drop)
    check_int("input_size", input_size, 2 ** (len(hidden) + 1))
    c1, c2 = stem
    layers = [nn.Sequential(*conv_bn_relu(in_chans, c1, 3, bias=False),
                            *conv_bn_relu(c1, c2, 5, bias=False), nn.MaxPool2d(2))]
    for widths in hidden:
        layers.append(nn.Sequential(*(InvertedResidual(c2, h) for h in widths), nn.MaxPool2d(2)))
    side = input_size // 2 ** (len(hidden) + 1)
    neck = flatten_neck(c2 * side * side, [fc], bn=True, drop=drop)
    info = make_info(name, in_chans, input_size, reference=REF)
    return FerNet(nn.Sequential(*layers), neck, fc, num_classes, info)


@MODELS.register("mobilenet_small", family="mobilenet_small", reference=REF,
                 paper_accuracy="71.63% FER2013 PublicTest / 68.52% PrivateTest")
def mobilenet_small(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                    drop: float = 0.0, input_size: int = 48) -> FerNet:
    return mobilenet_small_net("mobilenet_small", num_classes, in_chans, drop=drop,
                               input_size=input_size)


@MODELS.register("mobilenet_small_test", family="mobilenet_small", reference="ferkit test model")
def mobilenet_small_test(num_classes: int = 7, in_chans: int = 1,
                         pretrained: bool = False) -> FerNet:
    return mobilenet_small_net("mobilenet_small_test", num_classes, in_chans, stem=(4, 8),
                               hidden=((16,), (16,)), fc=8, input_size=16)
