"""Wrapping timm backbones into ferkit's model contract.

timm builds the backbone (always with ``pretrained=False``: ferkit never downloads) with
``num_classes=0`` so it returns pooled features; ferkit adds its own head, an optional frozen
backbone, and the small-face stem adaptations (stride-1 stem, no stem max pool) for 48 px inputs.
"""

from __future__ import annotations

from torch import nn

from ferkit.models._common import check_int, check_prob
from ferkit.types import ModelInfo


def make_head(num_features: int, num_classes: int, hidden: int = 0, drop: float = 0.0) -> nn.Module:
    """Linear, or the two-layer head dropout → Linear → ReLU → dropout → Linear."""
    if not hidden:
        return nn.Sequential(nn.Dropout(drop), nn.Linear(num_features, num_classes)) if drop \
            else nn.Linear(num_features, num_classes)
    return nn.Sequential(nn.Dropout(drop), nn.Linear(num_features, hidden), nn.ReLU(inplace=True),
                         nn.Dropout(drop), nn.Linear(hidden, num_classes))


class TimmNet(nn.Module):
    """A timm backbone (pooled features) + ferkit head.

    With ``freeze_backbone=True`` the backbone's parameters are not trainable and its BatchNorm
    statistics stay fixed (the backbone is kept in eval mode), i.e. a pure feature extractor.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, info: ModelInfo, *, cam_path: str,
                 head_hidden: int = 0, drop: float = 0.0, freeze_backbone: bool = False) -> None:
        super().__init__()
        if not isinstance(freeze_backbone, bool):
            raise_config("freeze_backbone", "a boolean", freeze_backbone)
        self.backbone = backbone
        self.num_features = int(backbone.num_features)
        self.head_hidden = check_int("head_hidden", head_hidden, 0)
        self.drop = check_prob("drop", drop)
        self.head = make_head(self.num_features, num_classes, self.head_hidden, self.drop)
        self.cam_path = cam_path
        self.freeze_backbone = freeze_backbone
        self.ferkit_info = info
        if freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    @property
    def cam_layer(self) -> nn.Module:
        return self.backbone.get_submodule(self.cam_path)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def forward_features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        check_int("num_classes", num_classes, 1)
        self.head = make_head(self.num_features, num_classes, self.head_hidden, self.drop)


def raise_config(name: str, expected: str, got: object) -> None:
    from ferkit.errors import ConfigError

    raise ConfigError(f"model argument {name} must be {expected}, got {got!r}")


def small_resnet_stem(model: nn.Module, in_chans: int) -> nn.Module:
    """ResNet for 48 px faces: 3×3 stride-1 stem conv and no stem max pool (overall stride 8)."""
    width = model.conv1.out_channels
    model.conv1 = nn.Conv2d(in_chans, width, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


def stride1_stem(model: nn.Module) -> nn.Module:
    """EfficientNet/MobileNet family: stem conv stride 1 (overall stride 16) for small faces."""
    model.conv_stem.stride = (1, 1)
    return model
