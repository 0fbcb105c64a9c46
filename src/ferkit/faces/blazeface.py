"""MediaPipe's BlazeFace (Bazarevsky et al. 2019): a tiny SSD face detector with 6 keypoints.

Two models ship inside ferkit (``faces/models/``, Apache-2.0, copied from the mediapipe 0.10.21
wheel; see PROVENANCE.json): ``blazeface`` (short range, 128×128 input, faces filling at least
~1/8 of the frame: webcams and selfies) and ``blazeface-full`` (full range, 192×192, faces down to
~1/20 of the frame). They run on ``ai-edge-litert`` (extra ``blazeface``), not on mediapipe, whose
wheels pin old numpy/protobuf. The anchor decoding and weighted NMS follow mediapipe's
``face_detection_{short,full}_range`` graphs.

The whole image is letterboxed (zero-padded to a square) into the fixed input, so a face's size in
the input is its fraction of the image: small faces in big photos are missed by design (the
benchmark shows where); use ``mtcnn`` for those. Keypoints: the two eyes, nose tip, mouth centre
and the two ear tragions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferkit.errors import ConfigError
from ferkit.faces.base import (
    DETECTORS,
    Detection,
    Detector,
    downscale_for_detection,
    missing_extra,
    sorted_eyes,
)
from ferkit.types import BBox

MODEL_DIR = Path(__file__).resolve().parent / "models"
#: BlazeFace's square boxes sit lower than Haar's (nose-centred): on 300 FER2013 crops the median
#: box is 40.3 px wide, centred 3.5 px below Haar's 42 px box (``bench_detect.py --framing``).
#: Moving and scaling by these fractions of the width gives the framing the aligner expects.
BOX_SCALE, BOX_SHIFT = 42.0 / 40.3, -3.5 / 40.3


@dataclass(frozen=True)
class BlazeSpec:
    """One model's graph settings (mediapipe's FaceDetectionOptions)."""

    file: str
    size: int
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]
    score_threshold: float


SPECS = {
    "short": BlazeSpec("blazeface_short_range.tflite", 128, (8, 16), (2, 6), 0.5),
    "full": BlazeSpec("blazeface_full_range_sparse.tflite", 192, (4,), (1,), 0.6),
}


def anchors(spec: BlazeSpec) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1] (fixed-size anchors: only centres matter)."""
    out = []
    for stride, per_cell in zip(spec.strides, spec.anchors_per_cell, strict=True):
        n = spec.size // stride
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray,
                 threshold: float = 0.3) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """mediapipe's WEIGHTED NMS: each kept face is the score-weighted mean of every candidate
    overlapping it by IoU > ``threshold`` (smoother boxes than plain NMS)."""
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0) * (y1 - y0)
    out = []
    while order.size:
        i = order[0]
        w = np.maximum(0.0, np.minimum(x1[i], x1[order]) - np.maximum(x0[i], x0[order]))
        h = np.maximum(0.0, np.minimum(y1[i], y1[order]) - np.maximum(y0[i], y0[order]))
        inter = w * h
        iou = inter / np.maximum(area[i] + area[order] - inter, 1e-9)
        group, order = order[iou > threshold], order[iou <= threshold]
        wts = scores[group][:, None]
        box = (boxes[group] * wts).sum(0) / wts.sum()
        pts = (points[group] * wts[:, :, None]).sum(0) / wts.sum()
        out.append((box, float(scores[i]), pts))
    return out


class BlazeFaceDetector(Detector):
    """``model``: "short" or "full"; ``score_threshold``: None = mediapipe's (0.5 / 0.6).
    ``max_side``/``detect_scale`` shrink the image before it is letterboxed (as for the other
    detectors; the network input is fixed, so they only save resizing time on huge frames).
    ``square=False`` reports BlazeFace's own boxes instead of Haar-framed ones (BOX_SCALE)."""

    name = "blazeface"

    def __init__(self, model: str = "short", *, score_threshold: float | None = None,
                 nms_threshold: float = 0.3, threads: int = 1, max_side: int | None = 640,
                 detect_scale: float = 1.0, square: bool = True) -> None:
        if model not in SPECS:
            raise ConfigError(f"BlazeFace model must be one of {sorted(SPECS)}, got {model!r}")
        self.spec = SPECS[model]
        self.score_threshold = (self.spec.score_threshold if score_threshold is None
                                else float(score_threshold))
        if not 0.0 < self.score_threshold < 1.0:
            raise ConfigError(f"score_threshold must be in (0, 1), got {score_threshold}")
        if not 0.0 < nms_threshold < 1.0:
            raise ConfigError(f"nms_threshold must be in (0, 1), got {nms_threshold}")
        if threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        if not 0.0 < detect_scale <= 1.0:
            raise ConfigError(f"detect_scale must be in (0, 1], got {detect_scale}")
        self.nms_threshold, self.max_side, self.detect_scale = nms_threshold, max_side, detect_scale
        self.square = bool(square)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise missing_extra(f"detector {self.name!r}", "blazeface") from None
        self.interpreter = Interpreter(model_path=str(MODEL_DIR / self.spec.file),
                                       num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outs = sorted(self.interpreter.get_output_details(), key=lambda d: -d["shape"][-1])
        self.out_reg, self.out_score = outs[0]["index"], outs[1]["index"]
        self.anchors = anchors(self.spec)

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        import cv2

        image, factor = downscale_for_detection(image_bgr, self.max_side, self.detect_scale)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        side = max(h, w)
        pad_x, pad_y = (side - w) / 2, (side - h) / 2  # letterbox: image centred in a square
        canvas = np.zeros((side, side, 3), np.uint8)
        canvas[int(pad_y):int(pad_y) + h, int(pad_x):int(pad_x) + w] = image
        size = self.spec.size
        inp = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
        inp = cv2.cvtColor(inp, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        self.interpreter.set_tensor(self.input, inp[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.out_reg)[0] / size
        logits = np.clip(self.interpreter.get_tensor(self.out_score)[0, :, 0], -80.0, 80.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= self.score_threshold
        if not keep.any():
            return []
        raw, scores, anc = raw[keep], scores[keep], self.anchors[keep]
        centre = raw[:, 0:2] + anc
        boxes = np.concatenate([centre - raw[:, 2:4] / 2, centre + raw[:, 2:4] / 2], 1)
        points = raw[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
        out = []
        for box, score, pts in weighted_nms(boxes, scores, points, self.nms_threshold):
            x0, y0, x1, y1 = (box * side - np.array([pad_x, pad_y, pad_x, pad_y])) * factor
            scale, shift = (BOX_SCALE, BOX_SHIFT) if self.square else (1.0, 0.0)
            bw = (x1 - x0) * scale
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + shift * (x1 - x0)
            lm = ((pts * side - np.array([pad_x, pad_y])) * factor).astype(np.float32)
            out.append(Detection(BBox(float(cx - bw / 2), float(cy - bw / 2), float(bw),
                                      float(bw)), score, lm, sorted_eyes(lm[0], lm[1]),
                                 (float(lm[2, 0]), float(lm[2, 1]))))
        return out

    def __repr__(self) -> str:
        return f"BlazeFaceDetector(model={self.spec.file!r})"


@DETECTORS.register("blazeface", speed="very fast", landmarks="6",
                    summary="MediaPipe BlazeFace short range: near faces (extra 'blazeface')")
def blazeface(**options) -> BlazeFaceDetector:
    options.setdefault("model", "short")
    return BlazeFaceDetector(**options)


@DETECTORS.register("blazeface-full", speed="very fast", landmarks="6",
                    summary="MediaPipe BlazeFace full range (extra 'blazeface')")
def blazeface_full(**options) -> BlazeFaceDetector:
    options.setdefault("model", "full")
    det = BlazeFaceDetector(**options)
    det.name = "blazeface-full"
    return det
