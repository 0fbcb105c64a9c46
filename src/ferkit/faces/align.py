"""Face alignment and cropping: one affine warp per face, straight from the original image.

The warp levels the eye line (when the detector gave eye positions), centres the face box, adds a
margin, pads the image border, and scales the square to a working size; ``ferkit.preprocess``
then resizes it to the model's ``input_size`` (area filter when shrinking). The default margin
reproduces FER2013's framing roughly: a Haar-style face box plus a little forehead and chin.
Faces too small or cut by the image border are flagged, never silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ferkit.config import check_range
from ferkit.faces.base import Detection
from ferkit.preprocess import resize_batch
from ferkit.types import BBox, ModelInfo

#: largest working square before the final resize (bounds the cost on huge photos)
MAX_WORK_SIZE = 512
_BORDERS = {"replicate": 1, "constant": 0, "reflect": 4}  # cv2.BORDER_* values


@dataclass(frozen=True)
class AlignConfig:
    """``margin``: fraction of the face box added on EACH side; ``min_face``: boxes whose shorter
    side is below this many pixels get the flag "small"; ``rotate``: level the eyes when known;
    ``max_angle``: eye lines tilted more than this (degrees) are treated as landmark errors."""

    margin: float = 0.1
    min_face: int = 24
    rotate: bool = True
    max_angle: float = 45.0
    border: str = "replicate"

    def __post_init__(self) -> None:
        check_range("margin", self.margin, 0.0, 2.0)
        check_range("min_face", self.min_face, 0, None)
        check_range("max_angle", self.max_angle, 0.0, 180.0)
        if self.border not in _BORDERS:
            from ferkit.errors import ConfigError

            raise ConfigError(f"border must be one of {sorted(_BORDERS)}, got {self.border!r}")


def eye_angle(eyes) -> float:
    """Angle in degrees of the left→right eye line (positive: right eye lower, y points down)."""
    (lx, ly), (rx, ry) = eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


def face_flags(box: BBox, width: int, height: int, cfg: AlignConfig) -> tuple[str, ...]:
    """"small" (shorter side < min_face) and "border" (box touches or crosses the image edge)."""
    flags = []
    if min(box.w, box.h) < cfg.min_face:
        flags.append("small")
    tol = 0.02 * max(box.w, box.h)
    x0, y0, x1, y1 = box.xyxy()
    if x0 < tol or y0 < tol or x1 > width - tol or y1 > height - tol:
        flags.append("border")
    return tuple(flags)


def alignment_matrix(box: BBox, eyes, out_size: int, cfg: AlignConfig) -> np.ndarray:
    """2x3 affine map from image pixels to the ``out_size`` square crop."""
    import cv2

    cx, cy = box.center
    side = max(box.w, box.h) * (1.0 + 2.0 * cfg.margin)
    angle = 0.0
    if cfg.rotate and eyes is not None:
        angle = eye_angle(eyes)
        if abs(angle) > cfg.max_angle:
            angle = 0.0
    m = cv2.getRotationMatrix2D((cx, cy), angle, out_size / max(side, 1e-6))
    m[0, 2] += out_size / 2.0 - cx
    m[1, 2] += out_size / 2.0 - cy
    return m


def anchor_nose(m: np.ndarray, nose, target, work: int, size: int) -> np.ndarray:
    """Shift the crop so the detected ``nose`` (image px) lands on ``target`` (model input px).

    Nose-relative patch models (deep evolution) place their patches around the canonical nose
    of an aligned training crop; on a photo the detector's nose landmark says where it really is.
    """
    x, y = float(nose[0]), float(nose[1])
    px, py = m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]
    m = m.copy()
    m[0, 2] += float(target[0]) * work / size - px
    m[1, 2] += float(target[1]) * work / size - py
    return m


def align_face(image_bgr: np.ndarray, face: Detection | BBox, size: int, in_chans: int = 1,
               cfg: AlignConfig | None = None, interpolation: str = "bilinear",
               nose_target: tuple[float, float] | None = None) -> np.ndarray:
    """One aligned uint8 crop (size, size) gray or (size, size, 3) RGB for a detection or box.

    ``nose_target``: where the face's nose landmark must land in the crop (model input pixels);
    used only when the detection has a nose.
    """
    import cv2

    cfg = cfg or AlignConfig()
    box, eyes = (face, None) if isinstance(face, BBox) else (face.bbox, face.eyes)
    side = max(box.w, box.h) * (1.0 + 2.0 * cfg.margin)
    work = int(min(max(size, round(side)), max(size, MAX_WORK_SIZE)))
    m = alignment_matrix(box, eyes, work, cfg)
    nose = None if isinstance(face, BBox) else face.nose
    if nose_target is not None and nose is not None:
        m = anchor_nose(m, nose, nose_target, work, size)
    crop = cv2.warpAffine(image_bgr, m, (work, work), flags=cv2.INTER_LINEAR,
                          borderMode=_BORDERS[cfg.border])
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY if in_chans == 1 else cv2.COLOR_BGR2RGB)
    elif in_chans == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    return resize_batch(crop[None], size, interpolation)[0]


def crop_faces(image_bgr: np.ndarray, faces: list[Detection | BBox], info: ModelInfo,
               cfg: AlignConfig | None = None) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Aligned crops for every face, stacked as the backend expects, plus each face's flags.

    A nose-relative patch model (``info.extra['patches']``) gets each crop shifted so the
    detector's nose landmark sits on the model's canonical nose (flag ``nose_landmarks``); a
    detection without a nose keeps the plain crop, flagged ``nose_canonical``.
    """
    cfg = cfg or AlignConfig()
    h, w = image_bgr.shape[:2]
    shape = (0, info.input_size, info.input_size) + ((3,) if info.in_chans == 3 else ())
    if not faces:
        return np.zeros(shape, np.uint8), []
    extra = info.extra or {}
    target = extra.get("nose") if extra.get("patches") else None
    crops = [align_face(image_bgr, f, info.input_size, info.in_chans, cfg, info.interpolation,
                        target) for f in faces]
    flags = [face_flags(f if isinstance(f, BBox) else f.bbox, w, h, cfg) for f in faces]
    if target is not None:
        flags = [fl + (("nose_landmarks",) if not isinstance(f, BBox) and f.nose is not None
                       else ("nose_canonical",)) for fl, f in zip(flags, faces, strict=True)]
    return np.stack(crops), flags


def whole_image_box(width: int, height: int) -> BBox:
    """The box used by ``no_face_mode='whole-image'``: the full frame (padded to a square)."""
    return BBox(0.0, 0.0, float(width), float(height))
