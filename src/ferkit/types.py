"""Small frozen types shared between stages.

``EMOTIONS`` is ferkit's canonical label order (FER2013's): every dataset format maps onto it and
every model's output index means the same emotion. Result types for the inference pipeline
(BBox, FaceResult, ImageResult, VideoResult) live here too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EMOTIONS_8: tuple[str, ...] = (*EMOTIONS, "contempt")


@dataclass(frozen=True)
class ModelInfo:
    """How a model wants its input, and where it came from (timm's ``pretrained_cfg`` idea).

    Inference and evaluation resolve preprocessing from this, never from hard-coded constants.
    ``mean``/``std`` are in [0, 1] pixel units, one value per input channel.
    """

    name: str
    input_size: int = 48
    in_chans: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)
    labels: tuple[str, ...] = EMOTIONS
    reference: str = ""
    weights_source: str = ""
    weights_licence: str = ""
    interpolation: str = "bilinear"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.in_chans not in (1, 3):
            raise ValueError(f"in_chans must be 1 or 3, got {self.in_chans}")
        if len(self.mean) != self.in_chans or len(self.std) != self.in_chans:
            raise ValueError("mean/std need one value per input channel")
        if self.input_size < 8:
            raise ValueError(f"input_size must be >= 8, got {self.input_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        d = dict(d)
        for key in ("mean", "std", "labels"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)
