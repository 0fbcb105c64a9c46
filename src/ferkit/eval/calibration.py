"""Probability calibration: temperature scaling (Guo et al. 2017) and expected calibration error.

A single scalar T divides the logits; it is fitted on validation data by minimising the negative
log-likelihood (L-BFGS on log T, so T stays positive). Accuracy is unchanged; confidences become
trustworthy enough for an abstain threshold (``min_confidence`` at inference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ferkit.probability import softmax  # noqa: F401  (re-exported: the one softmax)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` under softmax(logits / T)."""
    z = torch.as_tensor(np.asarray(logits, dtype=np.float64)) / temperature
    return float(F.cross_entropy(z, torch.as_tensor(np.asarray(labels, dtype=np.int64))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, max_iter: int = 100) -> float:
    """The temperature T > 0 minimising NLL on (logits, labels); 1.0 if there is nothing to fit."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 1.0
    z = torch.as_tensor(logits)
    y = torch.as_tensor(labels)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp())
    if not np.isfinite(t) or nll(logits, labels, t) > nll(logits, labels, 1.0):
        return 1.0
    return float(np.clip(t, 0.05, 20.0))


@dataclass
class ReliabilityBins:
    """Per confidence bin: mean confidence, accuracy and count (for the reliability diagram)."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        n = self.count.sum()
        if n == 0:
            return 0.0
        gap = np.abs(self.accuracy - self.confidence)
        return float((self.count * np.nan_to_num(gap)).sum() / n)


def reliability_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> ReliabilityBins:
    """Equal-width confidence bins over the top-1 probability."""
    probs = np.asarray(probs, dtype=np.float64)
    conf = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(axis=1) == np.asarray(labels)) if len(probs) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        acc = np.bincount(which, weights=correct.astype(np.float64), minlength=n_bins) / count
    return ReliabilityBins(edges, mean_conf, acc, count)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE: the count-weighted mean |accuracy − confidence| over confidence bins."""
    return reliability_bins(probs, labels, n_bins).ece
