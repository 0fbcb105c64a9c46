"""Agrawal & Mittal (2020): fully convolutional FER nets with large constant kernels.

No FC layers and no dropout. A "constituent layer" is two convolutions followed by BN and ReLU;
kernel size 8 and a constant 32 filters were best. The 8-conv model has ≈461.5k parameters
(the ≈464k of the Bokányi rebuild), the 7-conv one ≈396k.

ferkit's variant (the paper is silent): 'same' padding; a 2×2 max pool after every constituent
pair; an odd final conv forms a one-conv constituent; the classifier is the paper's 1×1 conv to
the classes followed by global average pooling, computed in the equivalent order GAP → Linear
(averaging commutes with a 1×1 conv, the parameter count is identical), so that
``forward_features`` yields the pooled 32-d features the model contract asks for.
"""

from __future__ import annotations

from torch import nn

from ferkit.models._api import MODELS
from ferkit.models._common import FerNet, check_int, gap_neck, make_info

REF = ("Agrawal & Mittal 2020, 'Using CNN for facial expression recognition: a study of the "
       "effects of kernel size and number of filters on accuracy', Vis Comput 36(2)")


def same_pad(k: int) -> nn.Module:
    """'same' padding for any kernel, extra pixel right/bottom (as TF/Keras and torch do)."""
    return nn.ZeroPad2d(((k - 1) // 2, k // 2, (k - 1) // 2, k // 2))


def agrawal_net(name: str, num_classes: int, in_chans: int, *, depth: int = 8, filters: int = 32,
                kernel: int = 8, input_size: int = 48) -> FerNet:
    """``depth`` convs of ``filters`` k×k filters in pairs (conv, conv, BN, ReLU, maxpool)."""
    check_int("depth", depth, 1, 12)
    check_int("filters", filters, 1)
    check_int("kernel", kernel, 1, 15)
    check_int("input_size", input_size, max(8, 2 ** (depth // 2)))
    stages, cin = [], in_chans
    for start in range(0, depth, 2):
        n = min(2, depth - start)
        convs = []
        for _ in range(n):
            convs += [same_pad(kernel), nn.Conv2d(cin, filters, kernel)]
            cin = filters
        pool = [nn.MaxPool2d(2)] if n == 2 else []
        stages.append(nn.Sequential(*convs, nn.BatchNorm2d(filters), nn.ReLU(inplace=True), *pool))
    info = make_info(name, in_chans, input_size, reference=REF)
    return FerNet(nn.Sequential(*stages), gap_neck(), filters, num_classes, info)


@MODELS.register("agrawal_fcn8", family="agrawal", reference=REF,
                 paper_accuracy="≈65% FER2013 (Bokányi rebuild ≈63%)")
def agrawal_fcn8(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 input_size: int = 48) -> FerNet:
    return agrawal_net("agrawal_fcn8", num_classes, in_chans, depth=8, input_size=input_size)


@MODELS.register("agrawal_fcn7", family="agrawal", reference=REF, paper_accuracy="≈65% FER2013")
def agrawal_fcn7(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 input_size: int = 48) -> FerNet:
    return agrawal_net("agrawal_fcn7", num_classes, in_chans, depth=7, input_size=input_size)


@MODELS.register("agrawal_fcn_test", family="agrawal", reference="ferkit test model")
def agrawal_fcn_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False) -> FerNet:
    return agrawal_net("agrawal_fcn_test", num_classes, in_chans, depth=3, filters=6, kernel=4,
                       input_size=16)
