"""The one seeding function used everywhere (training, search, augmentation, tests)."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, *, deterministic: bool = False) -> np.random.Generator:
    """Seed Python, NumPy and (if imported/available) torch; return a fresh NumPy Generator.

    Code that needs randomness should take the returned generator explicitly rather than use
    global state, so that search and augmentation stay reproducible when composed.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency, but keep data code light
        return np.random.default_rng(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)
