"""OpenCV's YuNet (``cv2.FaceDetectorYN``): a small, accurate CNN detector with 5 landmarks.

OpenCV ships the code but not the ONNX weights, and ferkit never downloads at run time: the user
passes the file (``face_detection_yunet_2023mar.onnx`` from the OpenCV model zoo) as ``model_path``
(CLI: ``--yunet-model FILE``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.errors import ConfigError
from ferkit.faces.base import DETECTORS, Detection, Detector, downscale_for_detection
from ferkit.types import BBox


class YuNetDetector(Detector):
    """Rows of ``FaceDetectorYN.detect``: x, y, w, h, 5 landmark (x, y) pairs
    (right eye, left eye, nose tip, right and left mouth corners), score."""

    name = "yunet"

    def __init__(self, model_path: str | None = None, *, max_side: int | None = 640,
                 detect_scale: float = 1.0, score_threshold: float = 0.7,
                 nms_threshold: float = 0.3, top_k: int = 5000) -> None:
        import cv2

        if not model_path:
            raise ConfigError(
                "detector 'yunet' needs its ONNX file: pass --yunet-model FILE "
                "(face_detection_yunet_2023mar.onnx from the OpenCV model zoo)"
            )
        if not Path(model_path).is_file():
            raise ConfigError(f"YuNet model file {str(model_path)!r} does not exist")
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:  # a probe run: another ONNX model loads fine and fails only at the first detect
            self.model = cv2.FaceDetectorYN.create(str(model_path), "", (32, 32),
                                                   score_threshold, nms_threshold, top_k)
            self.model.detect(np.zeros((32, 32, 3), np.uint8))
        except cv2.error:
            raise ConfigError(f"YuNet model {str(model_path)!r} is not a YuNet face detector "
                              "OpenCV can run; pass face_detection_yunet_2023mar.onnx from the "
                              "OpenCV model zoo") from None
        finally:
            cv2.utils.logging.setLogLevel(level)
        self.max_side, self.detect_scale = max_side, detect_scale

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        small, factor = downscale_for_detection(image_bgr, self.max_side, self.detect_scale)
        h, w = small.shape[:2]
        self.model.setInputSize((w, h))
        _, faces = self.model.detect(np.ascontiguousarray(small))
        out = []
        for row in [] if faces is None else np.asarray(faces).reshape(-1, 15):
            x, y, bw, bh = (float(v) for v in row[:4])
            lm = row[4:14].reshape(5, 2).astype(np.float32) * factor
            a, b = (float(lm[0, 0]), float(lm[0, 1])), (float(lm[1, 0]), float(lm[1, 1]))
            left, right = sorted([a, b])
            out.append(Detection(BBox(x, y, bw, bh).scaled(factor), float(row[14]), lm,
                                 (left, right), (float(lm[2, 0]), float(lm[2, 1]))))
        return out


DETECTORS.add("yunet", YuNetDetector, speed="fast", landmarks="5",
              summary="OpenCV YuNet CNN (needs --yunet-model FILE)")
