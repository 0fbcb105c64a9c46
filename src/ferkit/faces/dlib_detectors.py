"""dlib's HOG and CNN (MMOD) face detectors, with 5/68-point landmarks (optional extra ``dlib``).

The model files come from the ``face-recognition-models`` package. Its ``__init__`` imports
``pkg_resources`` (gone from recent setuptools), so the files are located through
``importlib.util.find_spec`` without importing the package. Nothing is downloaded at run time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.errors import ConfigError
from ferkit.faces.base import (
    DETECTORS,
    Detection,
    Detector,
    downscale_for_detection,
    eyes_from_landmarks,
    missing_extra,
    nose_from_landmarks,
    package_dir,
)
from ferkit.types import BBox

MODEL_FILES = {
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "cnn": "mmod_human_face_detector.dat",
}


def import_dlib(what: str):
    try:
        import dlib
    except ImportError:
        raise missing_extra(what) from None
    return dlib


def dlib_model_file(key: str, what: str) -> Path:
    """Path of one of face-recognition-models' ``.dat`` files (never imports that package)."""
    root = package_dir("face_recognition_models")
    path = root / "models" / MODEL_FILES[key] if root else None
    if path is None or not path.is_file():
        raise missing_extra(f"{what} (model file {MODEL_FILES[key]})")
    return path


class DlibDetector(Detector):
    """Shared code: run a dlib detector on a downscaled RGB image, add landmarks, map back."""

    def __init__(self, *, max_side: int | None = 640, detect_scale: float = 1.0,
                 upsample: int = 0, landmarks: int | None = 5) -> None:
        if landmarks not in (None, 0, 5, 68):
            raise ConfigError(f"landmarks must be 5, 68 or None, got {landmarks!r}")
        self.dlib = import_dlib(f"detector {self.name!r}")
        self.max_side, self.detect_scale, self.upsample = max_side, detect_scale, upsample
        self.predictor = None
        if landmarks:
            path = dlib_model_file(f"landmarks{landmarks}", f"{landmarks}-point landmarks")
            self.predictor = self.dlib.shape_predictor(str(path))

    def _rects(self, rgb: np.ndarray) -> list[tuple[object, float]]:
        """(dlib.rectangle, score) pairs found in ``rgb``."""
        raise NotImplementedError

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        import cv2

        small, factor = downscale_for_detection(image_bgr, self.max_side, self.detect_scale)
        rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        out = []
        for rect, score in self._rects(rgb):
            box = BBox(float(rect.left()), float(rect.top()), float(rect.width()),
                       float(rect.height())).scaled(factor)
            lm = None
            if self.predictor is not None:
                shape = self.predictor(rgb, rect)
                pts = [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)]
                lm = np.asarray(pts, dtype=np.float32) * factor
            out.append(Detection(box, float(score), lm, eyes_from_landmarks(lm),
                                 nose_from_landmarks(lm)))
        return out


class DlibHogDetector(DlibDetector):
    """HOG + linear SVM: CPU-friendly, frontal faces, misses faces under ~80 px (upsample helps)."""

    name = "dlib-hog"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.detector = self.dlib.get_frontal_face_detector()

    def _rects(self, rgb):
        rects, scores, _ = self.detector.run(rgb, self.upsample, 0.0)
        return list(zip(rects, scores, strict=True))


class DlibCnnDetector(DlibDetector):
    """MMOD CNN: more robust to pose and lighting than HOG, much slower on a CPU."""

    name = "dlib-cnn"

    def __init__(self, **options) -> None:
        options.setdefault("max_side", 800)  # MMOD's smallest face is ~80 px: keep resolution
        super().__init__(**options)
        path = dlib_model_file("cnn", "detector 'dlib-cnn'")
        self.detector = self.dlib.cnn_face_detection_model_v1(str(path))

    def _rects(self, rgb):
        return [(d.rect, d.confidence) for d in self.detector(rgb, self.upsample)]


DETECTORS.add("dlib-hog", DlibHogDetector, speed="medium", landmarks="5 or 68",
              summary="dlib HOG + SVM (extra 'dlib')")
DETECTORS.add("dlib-cnn", DlibCnnDetector, speed="slow", landmarks="5 or 68",
              summary="dlib MMOD CNN (extra 'dlib')")
