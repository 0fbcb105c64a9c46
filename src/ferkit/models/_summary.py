"""Parameter and MAC counts for the model listing and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from ferkit.models._api import MODELS, create_model


@dataclass(frozen=True)
class ModelSummary:
    name: str
    family: str
    params: int
    trainable_params: int
    macs: int | None
    input_size: int
    in_chans: int
    reference: str
    paper_accuracy: str
    has_weights: bool


def count_params(model, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model, input_size: int | None = None, in_chans: int | None = None) -> int:
    """Multiply-accumulates of one forward pass on one image (FLOPs / 2, torch's counter)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    info = model.ferkit_info
    size = input_size or info.input_size
    device = next(model.parameters()).device  # works for models built on the 'meta' device
    x = torch.zeros(1, in_chans or info.in_chans, size, size, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // 2


def summarize(name: str, *, macs: bool = True, num_classes: int = 7,
              in_chans: int = 1) -> ModelSummary:
    """Count the parameters and MACs of ``name`` as built with its defaults.

    The model is built on torch's ``meta`` device (shapes only: no memory, no initialisation, no
    arithmetic), which makes listing ~30 models, one with 30M parameters, take seconds.
    """
    import torch

    with torch.device("meta"):
        model = create_model(name, num_classes=num_classes, in_chans=in_chans)
    meta = MODELS.meta(name)
    info = model.ferkit_info
    return ModelSummary(
        name=name, family=meta.get("family", ""), params=count_params(model, False),
        trainable_params=count_params(model), macs=count_macs(model) if macs else None,
        input_size=info.input_size, in_chans=info.in_chans,
        reference=meta.get("reference", info.reference),
        paper_accuracy=meta.get("paper_accuracy", ""), has_weights=bool(meta.get("has_weights")))
