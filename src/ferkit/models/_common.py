"""Building blocks shared by the model families.

``FerNet`` implements the model contract once (``forward``, ``forward_features``,
``num_features``, ``reset_classifier``, ``cam_layer``) for the common shape
*body (conv stages) → neck (pool/flatten/FC) → head (dropout + Linear)*, so each family file only
describes its layers.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ferkit.errors import ConfigError
from ferkit.types import ModelInfo

#: ImageNet statistics (timm's IMAGENET_DEFAULT_MEAN/STD) for ImageNet-pretrained backbones.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def make_info(name: str, in_chans: int, input_size: int = 48, *, mean: float = 0.5,
              std: float = 0.5, reference: str = "", **kwargs) -> ModelInfo:
    """A ModelInfo with one mean/std value per input channel."""
    return ModelInfo(name=name, input_size=input_size, in_chans=in_chans, mean=(mean,) * in_chans,
                     std=(std,) * in_chans, reference=reference, **kwargs)


def imagenet_stats(in_chans: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """ImageNet mean/std; for one channel the mean of the three (the input is summed RGB)."""
    if in_chans == 3:
        return IMAGENET_MEAN, IMAGENET_STD
    return (sum(IMAGENET_MEAN) / 3,), (sum(IMAGENET_STD) / 3,)


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Validate a user-given integer kwarg (ConfigError, never assert)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"model argument {name} must be an integer {bound}, got {value!r}")
    return value


def check_prob(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ConfigError(f"model argument {name} must be a probability in [0, 1), got {value!r}")
    return float(value)


def conv_bn_relu(cin: int, cout: int, k: int = 3, *, bias: bool = True, stride: int = 1,
                 padding: int | str | None = None) -> list[nn.Module]:
    """Conv → BN → ReLU with 'same' padding by default (odd or even kernels)."""
    pad = "same" if padding is None and stride == 1 else (k // 2 if padding is None else padding)
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=bias), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


def mlp(widths: Sequence[int], *, bn: bool, drop: float) -> list[nn.Module]:
    """Linear(→BN)→ReLU(→Dropout) for each consecutive pair in ``widths``."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers.append(nn.Linear(a, b))
        if bn:
            layers.append(nn.BatchNorm1d(b))
        layers.append(nn.ReLU(inplace=True))
        if drop:
            layers.append(nn.Dropout(drop))
    return layers


class FerNet(nn.Module):
    """body → neck → head; the contract every ferkit model follows.

    ``cam_path`` names the submodule whose output map Grad-CAM hooks. It is resolved on access
    (not stored as an attribute) so the module is not registered twice in the state dict.
    """

    def __init__(self, body: nn.Module, neck: nn.Module, num_features: int, num_classes: int,
                 info: ModelInfo, *, head_drop: float = 0.0, cam_path: str = "body") -> None:
        super().__init__()
        self.body = body
        self.neck = neck
        self.num_features = num_features
        self.head_drop = head_drop
        self.head = self._make_head(num_classes)
        self.cam_path = cam_path
        self.ferkit_info = info

    def _make_head(self, num_classes: int) -> nn.Module:
        linear = nn.Linear(self.num_features, num_classes)
        return nn.Sequential(nn.Dropout(self.head_drop), linear) if self.head_drop else linear

    @property
    def cam_layer(self) -> nn.Module:
        return self.get_submodule(self.cam_path)

    @property
    def num_classes(self) -> int:
        last = self.head[-1] if isinstance(self.head, nn.Sequential) else self.head
        return last.out_features

    def forward_features(self, x):
        return self.neck(self.body(x))

    def forward(self, x):
        return self.head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        check_int("num_classes", num_classes, 1)
        self.head = self._make_head(num_classes)


def flatten_neck(in_features: int, widths: Sequence[int] = (), *, bn: bool = False,
                 drop: float = 0.0) -> nn.Sequential:
    """Flatten then an optional MLP: the classic Keras-style 'Flatten → Dense' neck."""
    return nn.Sequential(nn.Flatten(), *mlp([in_features, *widths], bn=bn, drop=drop))


def gap_neck() -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
