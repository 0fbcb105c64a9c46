"""MTCNN (Zhang et al. 2016): a three-stage CNN cascade with boxes, scores and 5 landmarks.

The weights are facenet-pytorch's (MIT), exported to ONNX and shipped inside ferkit
(``faces/models/``, see PROVENANCE.json and ``tools/vendor_face_models.py``), so this detector
works right after ``pip install ferkit`` with no network and runs on ONNX Runtime (a base
dependency) without importing torch. It is multi-scale (an image pyramid for P-Net), so unlike the
fixed-input BlazeFace it finds small faces in large photos; rotated faces (±30°) and poor light are
handled far better than by Haar, and its landmarks let the aligner level the eye line.

Stages: P-Net proposes windows on every pyramid level → NMS → R-Net (24×24 crops) rejects and
refines → O-Net (48×48 crops) rejects, refines and places the landmarks → NMS ("min" overlap, which
also removes a small box inside a big one).
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
    sorted_eyes,
)
from ferkit.types import BBox

MODEL_DIR = Path(__file__).resolve().parent / "models"
STRIDE, CELL = 2, 12  # P-Net: one 12×12 window per 2 pixels of its input
#: MTCNN's boxes are taller than wide (brow to chin); ferkit's aligner and classifiers expect the
#: Haar framing (a square, FER2013-like with the 10 % margin). On 300 FER2013 crops the median
#: MTCNN box is 38.9 px wide and Haar's 42 px, both centred: a square of 1.08 × the width
#: (``benchmarks/bench_detect.py --framing`` prints these medians).
SQUARE_SCALE = 42.0 / 38.9
#: images whose shorter side is below SMALL_IMAGE px (face crops, thumbnails) get a gray border of
#: PAD_FRACTION of that side: P-Net cannot propose a face larger than the image, and a face cut by
#: the frame lacks context (on 100 FER2013 crops: recall 0.74 → 0.85, no more false positives)
SMALL_IMAGE, PAD_FRACTION = 160, 0.1


def ort_session(path: Path, threads: int):
    """A small single-purpose ONNX Runtime session (errors only on stderr)."""
    import onnxruntime as ort

    if not path.is_file():
        raise ConfigError(f"model file {path} is missing from the ferkit installation; "
                          f"reinstall ferkit")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union"
        ) -> np.ndarray:
    """Indices kept by greedy NMS on (N, 4) x0,y0,x1,y1 boxes; ``mode="min"`` divides the
    intersection by the smaller area (drops boxes nested in a better one)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    if mode == "union":  # OpenCV's C++ loop: same picks, ~5x faster on P-Net's hundreds of boxes
        import cv2

        rects = np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], 1)
        keep = cv2.dnn.NMSBoxes(rects.tolist(), scores.astype(float).tolist(), 0.0, threshold)
        return np.asarray(keep, np.int64).reshape(-1)
    x0, y0, x1, y1 = boxes.T
    area = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = w * h
        denom = (np.minimum(area[i], area[rest]) if mode == "min"
                 else area[i] + area[rest] - inter)
        order = rest[inter <= threshold * np.maximum(denom, 1e-9)]
    return np.asarray(keep, np.int64)


def square(boxes: np.ndarray) -> np.ndarray:
    """Grow each x0,y0,x1,y1 box to a square around its centre (the next stage's crop)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + (w - side) / 2
    out[:, 1] = boxes[:, 1] + (h - side) / 2
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def refine(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply the networks' box regression (offsets as fractions of the box size)."""
    wh = np.tile(boxes[:, 2:4] - boxes[:, 0:2], 2)
    return boxes[:, :4] + reg * wh


def crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, 3, size, size) float crops of square boxes, zero-padded where they leave the image."""
    import cv2

    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, (x0, y0, x1, y1) in enumerate(np.round(boxes[:, :4]).astype(np.int64)):
        bw, bh = max(x1 - x0, 1), max(y1 - y0, 1)
        patch = np.zeros((bh, bw, 3), np.float32)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
        interp = cv2.INTER_AREA if bw > size else cv2.INTER_LINEAR
        out[k] = cv2.resize(patch, (size, size), interpolation=interp)
    return out.transpose(0, 3, 1, 2)


class MtcnnDetector(Detector):
    """``min_face``: smallest face side in pixels of the (downscaled) detection image;
    ``score_threshold``: O-Net's (final) score cut-off; ``pnet_threshold``/``rnet_threshold``:
    the earlier stages'; ``pyramid_factor``: scale step of the pyramid; ``square``: report
    Haar-framed square boxes (see SQUARE_SCALE) instead of MTCNN's own.

    The default ``score_threshold`` 0.98 (facenet-pytorch: 0.7) is the lowest swept cut-off where
    MTCNN's precision on ``benchmarks/bench_detect.py``'s set is at least Haar's (0.974 against
    0.969; recall 0.70 against 0.46); 0.7 finds more faces (recall 0.83, precision 0.945)."""

    name = "mtcnn"

    def __init__(self, *, max_side: int | None = 640, detect_scale: float = 1.0,
                 min_face: int = 20, score_threshold: float = 0.98, pnet_threshold: float = 0.6,
                 rnet_threshold: float = 0.7, pyramid_factor: float = 0.709, threads: int = 1,
                 square: bool = True) -> None:
        if min_face < 12:
            raise ConfigError(f"min_face must be >= 12 pixels (P-Net's window), got {min_face}")
        for key, value in (("score_threshold", score_threshold),
                           ("pnet_threshold", pnet_threshold), ("rnet_threshold", rnet_threshold)):
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{key} must be in [0, 1), got {value}")
        if not 0.3 <= pyramid_factor <= 0.95:
            raise ConfigError(f"pyramid_factor must be in [0.3, 0.95], got {pyramid_factor}")
        if threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        if max_side is not None and max_side < 48:
            raise ConfigError(f"max_side must be >= 48 or None, got {max_side}")
        if not 0.0 < detect_scale <= 1.0:
            raise ConfigError(f"detect_scale must be in (0, 1], got {detect_scale}")
        self.max_side, self.detect_scale = max_side, detect_scale
        self.min_face, self.pyramid_factor = min_face, pyramid_factor
        self.thresholds = (float(pnet_threshold), float(rnet_threshold), float(score_threshold))
        self.square = bool(square)
        self.nets = {n: ort_session(MODEL_DIR / f"mtcnn_{n}.onnx", threads)
                     for n in ("pnet", "rnet", "onet")}

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        import cv2

        small, factor = downscale_for_detection(image_bgr, self.max_side, self.detect_scale)
        code = cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB
        rgb = (cv2.cvtColor(small, code).astype(np.float32) - 127.5) / 128.0
        pad = 0
        if min(rgb.shape[:2]) < SMALL_IMAGE:  # a crop: the face fills the frame, give it context
            pad = max(1, round(PAD_FRACTION * min(rgb.shape[:2])))
            rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0.0)
        boxes = self._propose(rgb)
        if len(boxes):
            boxes = self._stage(rgb, boxes, "rnet", 24, self.thresholds[1])
        if not len(boxes):
            return []
        boxes, points = self._output(rgb, boxes)
        out = []
        for (x0, y0, x1, y1, score), lm in zip(boxes, points, strict=True):
            box = self._box(float(x0 - pad), float(y0 - pad), float(x1 - pad), float(y1 - pad))
            box = box.scaled(factor)
            lm = (lm.astype(np.float32) - pad) * factor
            out.append(Detection(box, float(score), lm, sorted_eyes(lm[0], lm[1]),
                                 (float(lm[2, 0]), float(lm[2, 1]))))
        return out

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> BBox:
        """The square, Haar-framed box (MTCNN's own width already follows the upright face,
        also for tilted faces: dividing by the tilt's (cos + sin) lost 5 points of recall)."""
        if not self.square:
            return BBox(x0, y0, x1 - x0, y1 - y0)
        side = (x1 - x0) * SQUARE_SCALE
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return BBox(cx - side / 2, cy - side / 2, side, side)

    def scales(self, height: int, width: int) -> list[float]:
        """Pyramid scales: the smallest face (``min_face``) maps onto P-Net's 12-pixel window."""
        scale, side, out = CELL / self.min_face, min(height, width), []
        while side * scale >= CELL:
            out.append(scale)
            scale *= self.pyramid_factor
        return out

    def _propose(self, rgb: np.ndarray) -> np.ndarray:
        """P-Net on every pyramid level → (N, 9) x0,y0,x1,y1,score,4 regression offsets."""
        import cv2

        h, w = rgb.shape[:2]
        found = []
        for scale in self.scales(h, w):
            size = (int(w * scale + 1), int(h * scale + 1))
            level = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            reg, prob = self.nets["pnet"].run(None, {"image": level.transpose(2, 0, 1)[None]})
            ys, xs = np.nonzero(prob[0] >= self.thresholds[0])
            if not len(ys):
                continue
            cells = np.stack([xs, ys], 1).astype(np.float32)
            q0 = np.floor((STRIDE * cells + 1) / scale)
            q1 = np.floor((STRIDE * cells + CELL) / scale)
            level_boxes = np.concatenate(
                [q0, q1, prob[0][ys, xs][:, None], reg[0][:, ys, xs].T], 1)
            found.append(level_boxes[nms(level_boxes[:, :4], level_boxes[:, 4], 0.5)])
        if not found:
            return np.zeros((0, 5), np.float32)
        boxes = np.concatenate(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        return square(np.concatenate([refine(boxes, boxes[:, 5:9]), boxes[:, 4:5]], 1))

    def _stage(self, rgb: np.ndarray, boxes: np.ndarray, net: str, size: int,
               threshold: float) -> np.ndarray:
        """R-Net: keep boxes scoring above ``threshold``, NMS, regress, square."""
        reg, prob = self.nets[net].run(None, {"image": crops(rgb, boxes, size)})
        keep = prob > threshold
        boxes = np.concatenate([boxes[keep, :4], prob[keep, None]], 1)
        reg = reg[keep]
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes, reg = boxes[pick], reg[pick]
        return square(np.concatenate([refine(boxes, reg), boxes[:, 4:5]], 1))

    def _output(self, rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """O-Net: final scores, boxes and the 5 landmarks (eyes, nose, mouth corners)."""
        reg, lms, prob = self.nets["onet"].run(None, {"image": crops(rgb, boxes, 48)})
        keep = prob > self.thresholds[2]
        boxes, reg, lms, prob = boxes[keep], reg[keep], lms[keep], prob[keep]
        wh = boxes[:, 2:4] - boxes[:, 0:2]
        points = np.stack([lms[:, :5] * wh[:, :1] + boxes[:, :1],
                           lms[:, 5:] * wh[:, 1:2] + boxes[:, 1:2]], 2)
        boxes = np.concatenate([refine(boxes, reg), prob[:, None]], 1)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[pick], points[pick]

    def __repr__(self) -> str:
        return (f"MtcnnDetector(max_side={self.max_side}, min_face={self.min_face}, "
                f"thresholds={self.thresholds})")


DETECTORS.add("mtcnn", MtcnnDetector, speed="fast", landmarks="5", video_max_side=320,
              summary="MTCNN cascade (weights shipped with ferkit, ONNX Runtime)")
