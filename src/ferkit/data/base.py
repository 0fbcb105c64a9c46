"""The dataset contract every format loader fulfils.

Loaders decode images once into uint8 arrays (cached on disk, keyed by a fingerprint of the
files) and map labels onto one canonical order, so training, evaluation and conversion never care
which on-disk layout the data came from. This module must not import torch: ``ferkit data info``
stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: canonical split names; loaders map Training→train, PublicTest/validation→val, PrivateTest→test
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass
class SplitArrays:
    """One split: ``images`` uint8 (N,H,W) gray or (N,H,W,3) RGB; ``labels`` int64 indices into
    ``Dataset.classes``; ``paths`` the source of each row (file path or 'file.csv:row');
    ``soft`` optional float32 (N, K) label distributions (FER+ annotator votes), which training
    uses as soft targets while ``labels`` (their arg-max) serve metrics."""

    images: np.ndarray
    labels: np.ndarray
    paths: list[str] = field(default_factory=list)
    soft: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)


@dataclass
class Dataset:
    """A loaded dataset: canonical class names (in index order) and named splits."""

    format: str
    root: Path
    classes: tuple[str, ...]
    splits: dict[str, SplitArrays]
    fingerprint: str
    color: str = "gray"  # "gray" | "rgb"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    source_sizes: dict[str, int] = field(default_factory=dict)  # "HxW" → count before resizing

    def split(self, name: str) -> SplitArrays:
        from ferkit.errors import DataError

        if name not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise DataError(f"dataset {str(self.root)!r} has no split {name!r}; it has: {have}")
        return self.splits[name]

    @property
    def image_size(self) -> tuple[int, int]:
        first = next(iter(self.splits.values()))
        return int(first.images.shape[1]), int(first.images.shape[2])
