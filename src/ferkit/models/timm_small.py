"""ImageNet architectures from timm adapted to small grayscale faces (trained from scratch).

ResNet-18: 3×3 stride-1 stem, no stem max pool (48 px → 6×6 final map). MobileNetV2-1.0: stride-1
stem (48 px → 3×3 final map). Both take ``in_chans`` 1 natively. ferkit's variants: timm builds
them with ``pretrained=False``; no ImageNet weights are available offline for these.
"""

from __future__ import annotations

import timm
from timm.models.efficientnet import EfficientNet
from timm.models.resnet import BasicBlock, ResNet

from ferkit.models._api import MODELS
from ferkit.models._common import check_int, make_info
from ferkit.models._timm import TimmNet, small_resnet_stem, stride1_stem

REF_RESNET = "He et al. 2016, 'Deep Residual Learning' (ResNet-18), via timm; small-face stem"
REF_MBV2 = "Sandler et al. 2018, 'MobileNetV2', via timm; stride-1 stem for small faces"


@MODELS.register("resnet18_fer", family="timm_small", reference=REF_RESNET)
def resnet18_fer(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 drop: float = 0.0, input_size: int = 48) -> TimmNet:
    check_int("input_size", input_size, 8)
    backbone = small_resnet_stem(
        timm.create_model("resnet18", pretrained=False, num_classes=0, in_chans=in_chans),
        in_chans)
    info = make_info("resnet18_fer", in_chans, input_size, reference=REF_RESNET)
    return TimmNet(backbone, num_classes, info, cam_path="layer4", drop=drop)


@MODELS.register("mobilenetv2_fer", family="timm_small", reference=REF_MBV2)
def mobilenetv2_fer(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                    drop: float = 0.0, input_size: int = 48) -> TimmNet:
    check_int("input_size", input_size, 16)
    backbone = stride1_stem(
        timm.create_model("mobilenetv2_100", pretrained=False, num_classes=0, in_chans=in_chans))
    info = make_info("mobilenetv2_fer", in_chans, input_size, reference=REF_MBV2)
    return TimmNet(backbone, num_classes, info, cam_path="bn2", drop=drop)


@MODELS.register("resnet_fer_test", family="timm_small", reference="ferkit test model")
def resnet_fer_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False) -> TimmNet:
    backbone = small_resnet_stem(
        ResNet(BasicBlock, (1, 1, 1, 1), num_classes=0, in_chans=in_chans, stem_width=4,
               channels=(4, 8, 8, 8)), in_chans)
    info = make_info("resnet_fer_test", in_chans, 16, reference="ferkit test model")
    return TimmNet(backbone, num_classes, info, cam_path="layer4")


def tiny_effnet(in_chans: int) -> EfficientNet:
    """A few-k-parameter timm EfficientNet (depthwise-separable + one inverted residual)."""
    from timm.models._efficientnet_builder import decode_arch_def

    arch = decode_arch_def([["ds_r1_k3_s1_c8"], ["ir_r1_k3_s2_e2_c8"]])
    return EfficientNet(arch, num_classes=0, num_features=16, in_chans=in_chans, stem_size=8)


@MODELS.register("mobilenetv2_fer_test", family="timm_small", reference="ferkit test model")
def mobilenetv2_fer_test(num_classes: int = 7, in_chans: int = 1,
                         pretrained: bool = False) -> TimmNet:
    info = make_info("mobilenetv2_fer_test", in_chans, 16, reference="ferkit test model")
    return TimmNet(stride1_stem(tiny_effnet(in_chans)), num_classes, info, cam_path="bn2")
