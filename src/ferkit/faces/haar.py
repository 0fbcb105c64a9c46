"""OpenCV Haar cascades: the seeds' real-time detector, shipped with opencv-python (no download).

Detection runs on a downscaled grayscale copy (``max_side`` pixels on the longer side by default)
and boxes are mapped back: on 640x360 video this is what makes Haar fast enough for real time.
Histogram equalisation is optional (``equalize=True``): it makes the cascade about 3x slower (more
windows survive the early stages) without improving recall on the reference photos. An optional
eye cascade inside the face box gives two eye centres for alignment; it is off by default because
it often misses, or confuses eyebrows and glasses with eyes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ferkit.errors import ConfigError
from ferkit.faces.base import (
    DETECTORS,
    Detection,
    Detector,
    downscale_for_detection,
    eyes_from_landmarks,
    to_gray,
)
from ferkit.types import BBox

#: short names for the cascades that ship in ``cv2.data.haarcascades``
CASCADES = {
    "default": "haarcascade_frontalface_default.xml",
    "alt": "haarcascade_frontalface_alt.xml",
    "alt2": "haarcascade_frontalface_alt2.xml",
    "eye": "haarcascade_eye.xml",
}


def load_cascade(name_or_path: str):
    """A ``cv2.CascadeClassifier`` from a short name (``alt2``) or an XML file path."""
    import cv2

    path = CASCADES.get(name_or_path)
    full = os.path.join(cv2.data.haarcascades, path) if path else str(name_or_path)
    if not Path(full).is_file():
        raise ConfigError(
            f"Haar cascade {name_or_path!r} not found; use one of {sorted(CASCADES)} or an XML path"
        )
    clf = cv2.CascadeClassifier(full)
    if clf.empty():
        raise ConfigError(f"Haar cascade {full!r} could not be loaded (not a cascade XML file?)")
    return clf


class HaarDetector(Detector):
    """``cv2.CascadeClassifier.detectMultiScale`` on a small equalised grayscale image.

    ``min_size`` is in pixels of the downscaled image; ``max_side=None`` disables downscaling.
    """

    name = "haar"

    def __init__(self, cascade: str = "alt2", *, max_side: int | None = 640,
                 detect_scale: float = 1.0, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_size: int = 20, equalize: bool = False, eyes: bool = False) -> None:
        if scale_factor <= 1.0:
            raise ConfigError(f"scale_factor must be > 1, got {scale_factor}")
        if min_neighbors < 0 or min_size < 1:
            raise ConfigError("min_neighbors must be >= 0 and min_size >= 1")
        self.cascade_name = cascade
        self.cascade = load_cascade(cascade)
        self.eye_cascade = load_cascade("eye") if eyes else None
        self.max_side, self.detect_scale = max_side, detect_scale
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.equalize = min_size, equalize

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        import cv2

        small, factor = downscale_for_detection(to_gray(image_bgr), self.max_side,
                                                self.detect_scale)
        if self.equalize:
            small = cv2.equalizeHist(small)
        boxes = self.cascade.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size))
        out = []
        for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
            eyes = self._eyes(small, int(x), int(y), int(w), int(h))
            lm = None if eyes is None else np.asarray(eyes, dtype=np.float32) * factor
            out.append(Detection(BBox(float(x), float(y), float(w), float(h)).scaled(factor),
                                 1.0, lm, eyes_from_landmarks(lm)))
        return out

    def _eyes(self, gray: np.ndarray, x: int, y: int, w: int, h: int):
        """Two eye centres inside the upper part of a face box, or None if not exactly found."""
        if self.eye_cascade is None:
            return None
        roi = gray[y:y + int(h * 0.6), x:x + w]
        found = self.eye_cascade.detectMultiScale(roi, 1.1, 5, minSize=(max(4, w // 8),) * 2)
        found = sorted(np.asarray(found).reshape(-1, 4).tolist(), key=lambda b: -b[2] * b[3])[:2]
        if len(found) != 2:
            return None
        centres = [(x + ex + ew / 2.0, y + ey + eh / 2.0) for ex, ey, ew, eh in found]
        if abs(centres[0][0] - centres[1][0]) < w * 0.2:  # same eye twice, or eye + eyebrow
            return None
        return centres


@DETECTORS.register("haar", speed="fast", landmarks="optional eyes", video_max_side=320,
                    summary="OpenCV Haar cascade (frontalface_alt2), real time on CPU")
def haar(**options) -> HaarDetector:
    options.setdefault("cascade", "alt2")
    return HaarDetector(**options)


@DETECTORS.register("haar-default", speed="fast", landmarks="optional eyes", video_max_side=320,
                    summary="OpenCV Haar cascade (frontalface_default): more recall, more false "
                            "positives")
def haar_default(**options) -> HaarDetector:
    options.setdefault("cascade", "default")
    det = HaarDetector(**options)
    det.name = "haar-default"
    return det
