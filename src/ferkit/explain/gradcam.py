"""Where a model looks: Grad-CAM on ``model.cam_layer``, or input-gradient saliency.

Grad-CAM (Selvaraju et al., 2017) weights the ``cam_layer`` feature maps by the spatial mean of
the target logit's gradient; saliency (Simonyan et al., 2014) is ``|d logit / d input|``. Methods
live in ``EXPLAINERS``: ``fn(model, x (1,C,S,S), target_index) -> (heatmap (h,w), logits (K,))``.
Models without ``cam_layer`` fall back to saliency, and the ``Explanation`` records the method
that actually ran, so the fallback is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferkit.errors import ConfigError
from ferkit.probability import softmax
from ferkit.registry import Registry

EXPLAINERS: Registry = Registry("explanation method")
PREDICTED = "predicted"


@dataclass
class Explanation:
    """One face's heatmap (same H×W as ``crop``, values in [0, 1]) and its prediction."""

    crop: np.ndarray
    heatmap: np.ndarray
    probs: np.ndarray
    labels: tuple[str, ...]
    target: str
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.labels[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probs))

    def prob_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in zip(self.labels, self.probs, strict=True)}


class _Capture:
    """Keep ``module``'s forward output (the tensor Grad-CAM differentiates against)."""

    def __init__(self, module) -> None:
        self.activation = None
        self._handle = module.register_forward_hook(self._forward)

    def _forward(self, _module, _inputs, output):
        if isinstance(output, (tuple, list)):
            self.activation = output[0]
            return output
        self.activation = output
        return output.clone()  # later in-place ops (ReLU(inplace=True)) must not touch ours

    def remove(self) -> None:
        self._handle.remove()


def _token_grid(t):
    """(N, T, D) transformer tokens → (N, D, g, g), dropping leading class/distil tokens."""
    n_tokens = t.shape[1]
    for extra in range(0, 3):
        g = int(round((n_tokens - extra) ** 0.5))
        if g * g == n_tokens - extra and g > 0:
            return t[:, extra:].transpose(1, 2).reshape(t.shape[0], t.shape[2], g, g)
    raise ConfigError(f"cam_layer output has {n_tokens} tokens, not a square grid; "
                      "use --method saliency")


def gradcam(model, x, target_index: int):
    """Grad-CAM on ``model.cam_layer``; returns (heatmap (h, w) ≥ 0, logits (K,))."""
    import torch

    capture = _Capture(model.cam_layer)
    try:
        with torch.enable_grad():
            logits = model(x)
            if capture.activation is None or not capture.activation.requires_grad:
                raise ConfigError("cam_layer is not on the path to the logits; "
                                  "use --method saliency")
            (grad,) = torch.autograd.grad(logits[0, target_index], capture.activation)
    finally:
        capture.remove()
    act = capture.activation.detach()
    if act.ndim == 3:
        act, grad = _token_grid(act), _token_grid(grad)
    if act.ndim != 4:
        raise ConfigError(f"cam_layer output must be (N,C,H,W) or tokens, got {tuple(act.shape)}")
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * act).sum(dim=1))[0]
    return cam.float().numpy(), logits[0].detach().float().numpy()


def saliency(model, x, target_index: int):
    """Absolute input gradient (max over channels), lightly blurred to be readable."""
    import cv2
    import torch

    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        (grad,) = torch.autograd.grad(logits[0, target_index], x)
    sal = grad.abs().amax(dim=1)[0].float().numpy()
    k = max(3, (sal.shape[0] // 16) | 1)
    return cv2.GaussianBlur(sal, (k, k), 0), logits[0].detach().float().numpy()


EXPLAINERS.add("gradcam", gradcam, needs="cam_layer")
EXPLAINERS.add("saliency", saliency)


def _to_unit(heatmap: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize to ``shape`` (H, W) and min-max scale to [0, 1] (flat maps become zeros)."""
    import cv2

    h = cv2.resize(np.nan_to_num(heatmap.astype(np.float32)), (shape[1], shape[0]),
                   interpolation=cv2.INTER_LINEAR)
    lo, hi = float(h.min()), float(h.max())
    if hi - lo < 1e-12:
        return np.zeros(shape, dtype=np.float32)
    return np.clip((h - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def target_index(target: str, labels: tuple[str, ...], logits: np.ndarray) -> int:
    """'predicted' → the arg-max; a label name → its index; anything else → ConfigError."""
    if target == PREDICTED:
        return int(np.argmax(logits))
    if target in labels:
        return labels.index(target)
    raise ConfigError(f"--target {target!r} is not a label of this model; use 'predicted' or "
                      f"one of: {', '.join(labels)}")


def explain_crop(model, crop: np.ndarray, *, method: str = "gradcam", target: str = PREDICTED,
                 temperature: float = 1.0) -> Explanation:
    """Explain one uint8 face crop (H, W) or (H, W, 3 RGB) with ``model`` (in eval mode)."""
    import torch

    from ferkit.preprocess import to_model_input

    info = model.ferkit_info
    fn, notes, used = EXPLAINERS.get(method), [], method
    if EXPLAINERS.meta(method).get("needs") == "cam_layer" and \
            getattr(model, "cam_layer", None) is None:
        fn, used = EXPLAINERS.get("saliency"), "saliency"
        notes.append(f"model {info.name!r} has no cam_layer: used saliency instead of {method}")
    x = to_model_input(np.ascontiguousarray(crop)[None], info)
    with torch.inference_mode():
        logits = model(x)[0].float().numpy()
    labels = tuple(info.labels)
    index = target_index(target, labels, logits)
    heat, _ = fn(model, x, index)
    return Explanation(crop=crop, heatmap=_to_unit(heat, crop.shape[:2]),
                       probs=softmax(logits, temperature).astype(np.float32),
                       labels=labels, target=labels[index], method=used, notes=notes)
