"""ferkit.train: Lightning training from a typed ``TrainConfig``.

>>> from ferkit.train import load_train_config, train      # doctest: +SKIP
>>> cfg = load_train_config("fast_cpu", ["data.path=data/fer2013"])  # doctest: +SKIP
>>> result = train(cfg)                                    # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferkit.train.config import TrainConfig, load_train_config

if TYPE_CHECKING:  # pragma: no cover
    from ferkit.train.runner import TrainResult

__all__ = ["TrainConfig", "TrainResult", "load_train_config", "train"]


def train(cfg: TrainConfig, **kwargs: Any) -> TrainResult:
    """Run training (see ``ferkit.train.runner.train``); Lightning is imported only here."""
    from ferkit.train.runner import train as _train

    return _train(cfg, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "TrainResult":
        from ferkit.train.runner import TrainResult

        return TrainResult
    raise AttributeError(name)
