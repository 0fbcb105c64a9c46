"""A tiny plain CNN used by tests of other subsystems (training, inference, export).

ferkit's variant, no paper: 2 conv blocks + linear head; a few thousand parameters.
"""

from __future__ import annotations

from torch import nn

from ferkit.models._api import MODELS
from ferkit.types import ModelInfo


class TinyCNN(nn.Module):
    def __init__(self, num_classes: int = 7, in_chans: int = 1, width: int = 8,
                 input_size: int = 48) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width * 2, 3, padding=1), nn.BatchNorm2d(width * 2),
            nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.num_features = width * 2
        self.classifier = nn.Linear(self.num_features, num_classes)
        self.ferkit_info = ModelInfo(name="tinycnn_test", input_size=input_size, in_chans=in_chans,
                                     mean=(0.5,) * in_chans, std=(0.5,) * in_chans,
                                     reference="ferkit test model")

    @property
    def cam_layer(self) -> nn.Module:
        """The last ReLU before global pooling (its output is the last conv feature map)."""
        return self.features[6]

    def forward_features(self, x):
        return self.features(x)

    def forward(self, x):
        return self.classifier(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Linear(self.num_features, num_classes)


@MODELS.register("tinycnn_test", family="tiny", reference="ferkit test model")
def tinycnn_test(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 input_size: int = 48, width: int = 8) -> TinyCNN:
    return TinyCNN(num_classes=num_classes, in_chans=in_chans, width=width, input_size=input_size)
