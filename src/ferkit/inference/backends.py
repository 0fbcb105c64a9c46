"""Classifier backends: uint8 face crops → calibrated class probabilities.

The Pipeline only talks to this interface, so torch and ONNX Runtime are interchangeable and the
preprocessing always comes from the model's own ``ModelInfo`` (via ``ferkit.preprocess``).
Backends register on ``BACKENDS``; ``load_backend(checkpoint, backend=...)`` picks one by name.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ferkit.registry import Registry
from ferkit.types import ModelInfo

BACKENDS: Registry = Registry("backend")


class Backend(ABC):
    """A loaded classifier. ``predict_proba`` is the whole contract."""

    info: ModelInfo
    temperature: float = 1.0

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    @abstractmethod
    def logits(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops (N,H,W[,C]) of any size → raw logits (N, K) as float32."""

    def predict_proba(self, crops: np.ndarray, *, flip_tta: bool = False) -> np.ndarray:
        """Temperature-scaled softmax; ``flip_tta`` averages with the mirrored crops' logits."""
        crops = np.asarray(crops)
        if crops.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        z = self.logits(crops)
        if flip_tta:
            z = 0.5 * (z + self.logits(np.ascontiguousarray(crops[:, :, ::-1])))
        z = z / max(self.temperature, 1e-6)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@BACKENDS.register("torch")
class TorchBackend(Backend):
    """Eager PyTorch on the CPU (or a given device)."""

    def __init__(self, checkpoint: str | os.PathLike[str], device: str = "cpu") -> None:
        import torch

        from ferkit.checkpoint import load_model

        self.model, self.meta = load_model(checkpoint)
        self.device = torch.device(device)
        self.model.to(self.device)
        self.info = self.meta.info
        self.temperature = float(self.meta.temperature or 1.0)
        self.path = Path(checkpoint)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        import torch

        from ferkit.preprocess import to_model_input

        with torch.inference_mode():
            x = to_model_input(crops, self.info).to(self.device)
            return self.model(x).float().cpu().numpy()


def load_backend(checkpoint: str | os.PathLike[str], backend: str = "torch", **kwargs) -> Backend:
    """Instantiate backend ``backend`` (a registered name) for a ferkit checkpoint."""
    return BACKENDS.get(backend)(checkpoint, **kwargs)
