"""``mean_ensemble``: several trained ferkit models as one network (ferkit's own, no paper).

An ensemble evaluated by ``ferkit ensemble`` is a table; one that users should *run* has to pass
through the same pipeline, backends, ONNX export and INT8 quantization as any single model.
Wrapping the members in one ``nn.Module`` gives all of that for free: the merged checkpoint is an
ordinary ferkit checkpoint whose model is ``mean_ensemble`` and whose ``model_kwargs`` list the
members (network name, kwargs, temperature), so ``load_model`` rebuilds it without the member
files. The forward pass returns ``log(mean_i softmax(z_i / T_i))``: the backends' softmax of
that is exactly the unweighted mean of the members' calibrated probabilities (the ``mean`` rule
of ``ferkit ensemble``, the one that needs no fitting).

The members see one input tensor, so they must share their preprocessing (input size,
channels, mean/std, interpolation, labels); ``ferkit.ensemble.merge`` checks that before
anything is written. A resize inside the graph would feed a member pixels made differently
from those it was trained on, so mismatched members are refused rather than adapted.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

from ferkit.errors import ConfigError
from ferkit.models._api import MODELS


class MeanEnsemble(nn.Module):
    """The members' temperature-scaled log-probabilities, averaged in probability space."""

    def __init__(self, members: list[nn.Module], temperatures: list[float]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.temperatures = [float(t) for t in temperatures]
        self._log_n = math.log(len(members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logp = [torch.log_softmax(m(x).float() / t, dim=1)
                for m, t in zip(self.members, self.temperatures, strict=True)]
        return torch.logsumexp(torch.stack(logp, dim=0), dim=0) - self._log_n


def _member(spec: Any, i: int) -> tuple[str, dict[str, Any], float]:
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), str):
        raise ConfigError(f"mean_ensemble member {i} must be a mapping with a 'model' name, "
                          f"got {spec!r}")
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ConfigError(f"mean_ensemble member {i}: 'kwargs' must be a mapping, got {kwargs!r}")
    t = spec.get("temperature", 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
        raise ConfigError(f"mean_ensemble member {i}: temperature must be a number > 0, got {t!r}")
    if spec["model"] == "mean_ensemble":
        raise ConfigError("a mean_ensemble cannot contain another; merge the original members")
    return spec["model"], kwargs, float(t)


@MODELS.register("mean_ensemble", family="ensemble", composite=True,
                 reference="ferkit: the mean of trained members' probabilities as one network "
                           "(written by 'ferkit ensemble --save')")
def mean_ensemble(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                  members: list[dict[str, Any]] | None = None) -> MeanEnsemble:
    from ferkit.models._api import create_model

    if pretrained:
        raise ConfigError("mean_ensemble has no pretrained weights; its members come from "
                          "trained checkpoints ('ferkit ensemble --save')")
    if not members or not isinstance(members, list) or len(members) < 2:
        raise ConfigError("mean_ensemble needs a list of at least 2 members (model, kwargs, "
                          "temperature); write one with 'ferkit ensemble -m A -m B --save FILE'")
    specs = [_member(s, i) for i, s in enumerate(members)]
    nets = [create_model(name, num_classes=num_classes, in_chans=in_chans, pretrained=False,
                         **kwargs) for name, kwargs, _ in specs]
    model = MeanEnsemble(nets, [t for _, _, t in specs])
    first = nets[0].ferkit_info
    model.ferkit_info = dataclasses.replace(
        first, name="mean_ensemble",
        reference=f"mean of {len(nets)} members: " + ", ".join(n for n, _, _ in specs))
    return model
