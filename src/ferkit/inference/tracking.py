"""IoU tracking and per-track temporal smoothing for video.

``IouTracker`` gives each face a stable ``track_id`` across frames by matching boxes on IoU
(optimal assignment with ``scipy.optimize.linear_sum_assignment`` when SciPy is installed, a greedy
best-IoU-first match otherwise). Between detector runs it *carries* each track's box forward with a
damped constant-velocity guess, which is what lets the pipeline run the detector only every k-th
frame. ``EmaSmoother`` smooths each track's probabilities over time:
``s_t = alpha * p_t + (1 - alpha) * s_{t-1}`` (the first observation is taken as is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferkit.config import check_range
from ferkit.types import BBox


@dataclass
class Track:
    """One tracked face: its id, last box, per-frame velocity (dx, dy) and bookkeeping."""

    track_id: int
    box: BBox
    last_frame: int
    hits: int = 1
    velocity: tuple[float, float] = (0.0, 0.0)

    def box_at(self, frame: int, damping: float = 0.8) -> BBox:
        """Box predicted for ``frame`` (>= last_frame) from the damped velocity."""
        n = max(0, frame - self.last_frame)
        if n == 0 or self.velocity == (0.0, 0.0):
            return self.box
        gain = sum(damping ** i for i in range(1, n + 1))  # damped: slows down the guess
        return BBox(self.box.x + self.velocity[0] * gain, self.box.y + self.velocity[1] * gain,
                    self.box.w, self.box.h)


def iou_matrix(a: list[BBox], b: list[BBox]) -> np.ndarray:
    """Pairwise IoU between two box lists, shape (len(a), len(b))."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    A = np.array([x.xyxy() for x in a], dtype=np.float64)[:, None, :]
    B = np.array([x.xyxy() for x in b], dtype=np.float64)[None, :, :]
    iw = np.clip(np.minimum(A[..., 2], B[..., 2]) - np.maximum(A[..., 0], B[..., 0]), 0, None)
    ih = np.clip(np.minimum(A[..., 3], B[..., 3]) - np.maximum(A[..., 1], B[..., 1]), 0, None)
    inter = iw * ih
    area_a = (A[..., 2] - A[..., 0]) * (A[..., 3] - A[..., 1])
    area_b = (B[..., 2] - B[..., 0]) * (B[..., 3] - B[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, col) maximising total IoU, each with IoU >= threshold."""
    if iou.size == 0:
        return []
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:  # pragma: no cover - scipy ships with scikit-learn
        return _greedy(iou, threshold)
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= threshold]


def _greedy(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    pairs, used_r, used_c = [], set(), set()
    for flat in np.argsort(-iou, axis=None):
        r, c = np.unravel_index(flat, iou.shape)
        if iou[r, c] < threshold:
            break
        if r not in used_r and c not in used_c:
            pairs.append((int(r), int(c)))
            used_r.add(r)
            used_c.add(c)
    return pairs


class IouTracker:
    """Frame-to-frame IoU tracker with stable ids.

    ``update(frame, boxes)`` after a detector run returns one track id per box (new ids for new
    faces); ``carry(frame)`` on frames without detection returns the live tracks' predicted boxes.
    A track unmatched for more than ``max_age`` frames is dropped; ids are never reused.
    """

    def __init__(self, iou_threshold: float = 0.3, max_age: int = 15,
                 velocity_smoothing: float = 0.5) -> None:
        check_range("iou_threshold", iou_threshold, 0.0, 1.0)
        check_range("max_age", max_age, 0, None)
        self.iou_threshold, self.max_age = iou_threshold, max_age
        self.velocity_smoothing = velocity_smoothing
        self.tracks: list[Track] = []
        self._next_id = 1
        self.last_update: int | None = None

    def update(self, frame: int, boxes: list[BBox]) -> list[int]:
        predicted = [t.box_at(frame) for t in self.tracks]
        pairs = match(iou_matrix(predicted, boxes), self.iou_threshold)
        ids: list[int | None] = [None] * len(boxes)
        for ti, bi in pairs:
            self._advance(self.tracks[ti], frame, boxes[bi])
            ids[bi] = self.tracks[ti].track_id
        for bi, box in enumerate(boxes):
            if ids[bi] is None:
                self.tracks.append(Track(self._next_id, box, frame))
                ids[bi] = self._next_id
                self._next_id += 1
        self._expire(frame)
        self.last_update = frame
        return [int(i) for i in ids]

    def carry(self, frame: int) -> list[tuple[int, BBox]]:
        """(track id, predicted box) for tracks matched at the latest detector run."""
        return [(t.track_id, t.box_at(frame)) for t in self.tracks
                if t.last_frame == self.last_update]

    def _advance(self, track: Track, frame: int, box: BBox) -> None:
        gap = max(1, frame - track.last_frame)
        vx, vy = ((box.center[0] - track.box.center[0]) / gap,
                  (box.center[1] - track.box.center[1]) / gap)
        a = self.velocity_smoothing
        track.velocity = (a * vx + (1 - a) * track.velocity[0],
                          a * vy + (1 - a) * track.velocity[1])
        track.box, track.last_frame, track.hits = box, frame, track.hits + 1

    def _expire(self, frame: int) -> None:
        self.tracks = [t for t in self.tracks if frame - t.last_frame <= self.max_age]


class EmaSmoother:
    """Per-track exponential moving average of probability vectors (renormalised to sum 1)."""

    def __init__(self, alpha: float = 0.5) -> None:
        check_range("ema_alpha (--smoothing)", alpha, 0.0, 1.0, lo_open=True)
        self.alpha = alpha
        self.state: dict[int, np.ndarray] = {}

    def update(self, track_id: int, probs: np.ndarray) -> np.ndarray:
        p = np.asarray(probs, dtype=np.float64)
        prev = self.state.get(track_id)
        s = p if prev is None else self.alpha * p + (1.0 - self.alpha) * prev
        s = s / max(s.sum(), 1e-12)
        self.state[track_id] = s
        return s.astype(np.float32)

    def forget(self, keep: set[int]) -> None:
        """Drop the state of tracks not in ``keep`` (bounded memory on long videos)."""
        for tid in [t for t in self.state if t not in keep]:
            del self.state[tid]
