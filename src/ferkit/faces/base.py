"""The face-detector contract: ``Detector.detect(image_bgr) -> list[Detection]``.

Every detector registers itself on ``DETECTORS`` (``@DETECTORS.register("name")``) and is built
with ``create_detector(name, **options)``, so the CLI, the Pipeline and the benchmarks never
dispatch on detector names themselves. Boxes are always in the ORIGINAL image's pixels, even when
a detector works on a downscaled copy for speed.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.errors import ConfigError, FerkitError
from ferkit.registry import Registry
from ferkit.types import BBox

DETECTORS: Registry = Registry("face detector")
#: the detector ``ferkit predict`` and ``Pipeline`` use unless told otherwise; chosen by
#: ``benchmarks/bench_detect.py`` (see the README's "Face detection" section)
DEFAULT_DETECTOR = "mtcnn"

Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """One detected face.

    ``landmarks`` (K, 2) in original-image pixels when the detector gives them (MTCNN's 5: eyes,
    nose, mouth corners; BlazeFace's 6: eyes, nose, mouth, ear tragions; dlib 5/68 points, YuNet's
    5, or Haar's 2 eye centres); ``eyes`` is (left-in-image, right-in-image) eye centres, set by
    each detector from its own layout, which alignment uses to level the eye line; ``nose`` is the
    nose tip when the layout has one, which nose-relative patch models are anchored on.
    """

    bbox: BBox
    score: float = 1.0
    landmarks: np.ndarray | None = None
    eyes: tuple[Point, Point] | None = None
    nose: Point | None = None


class Detector(ABC):
    """Find faces in a BGR uint8 image (OpenCV's native order)."""

    name: str = "detector"

    @abstractmethod
    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        """Return the faces in ``image_bgr`` (H, W, 3) uint8, boxes in its pixel coordinates."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class WholeImage(Detector):
    """Not a detector: every image is one face (inputs that are already face crops)."""

    name = "none"

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        h, w = image_bgr.shape[:2]
        return [Detection(BBox(0.0, 0.0, float(w), float(h)), 1.0)]


def create_detector(name: str | Detector, **options: Any) -> Detector:
    """Build a registered detector by name (``"haar"``, ``"dlib-hog"``, ...) with its options.

    >>> create_detector("haar").name
    'haar'
    """
    if isinstance(name, Detector):
        return name
    from ferkit.faces.options import check_detector_options

    factory = DETECTORS.get(name)
    options = check_detector_options(name, factory, options)
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(f"face detector {name!r}: bad option: {exc}") from None


def downscale_for_detection(image: np.ndarray, max_side: int | None = None,
                            detect_scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Shrink ``image`` so detection is fast; return (small image, factor small→original).

    ``detect_scale`` multiplies the size; ``max_side`` caps the longer side (None: no cap).
    Detectors multiply their boxes by the returned factor to map them back.
    """
    import cv2

    if not 0 < detect_scale <= 1:
        raise ConfigError(f"detect_scale must be in (0, 1], got {detect_scale}")
    h, w = image.shape[:2]
    scale = detect_scale
    if max_side:
        scale = min(scale, max_side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, w / size[0]


def to_gray(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def sorted_eyes(a, b) -> tuple[Point, Point]:
    """Two eye centres as (left-in-image, right-in-image) float pairs."""
    pa, pb = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
    return (pa, pb) if pa <= pb else (pb, pa)


def nose_from_landmarks(points: np.ndarray | None) -> Point | None:
    """The nose tip from dlib's 5-point (index 4) or 68-point (index 30) landmarks."""
    if points is None or len(points) not in (5, 68):
        return None
    x, y = np.asarray(points, dtype=np.float64)[4 if len(points) == 5 else 30]
    return float(x), float(y)


def eyes_from_landmarks(points: np.ndarray | None) -> tuple[Point, Point] | None:
    """Eye centres (sorted left→right in the image) from 2, 5 (dlib) or 68-point landmarks.

    YuNet's 5 points start with the two eyes, like the 2-point case, and are handled by the YuNet
    detector itself (its layout differs from dlib's 5-point model).
    """
    if points is None:
        return None
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 68:
        a, b = pts[36:42].mean(0), pts[42:48].mean(0)
    elif len(pts) == 5:  # dlib: 0-1 one eye's corners, 2-3 the other's, 4 nose
        a, b = pts[0:2].mean(0), pts[2:4].mean(0)
    elif len(pts) == 2:
        a, b = pts[0], pts[1]
    else:
        return None
    left, right = sorted([(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))])
    return left, right


def missing_extra(what: str, extra: str = "dlib") -> FerkitError:
    """The one-line error for an optional dependency that is not installed."""
    return FerkitError(f"{what} needs the optional '{extra}' extra: pip install 'ferkit[{extra}]'")


def package_dir(module: str) -> Path | None:
    """Folder of an installed package found WITHOUT importing it (its __init__ may not import)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
