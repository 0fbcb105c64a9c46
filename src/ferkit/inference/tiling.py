"""Large photos: detect on overlapping tiles as well as on the whole (downscaled) image.

Detectors work on a copy shrunk to ``max_side`` pixels (640 for photos) because that is what
makes them fast. On an 8000×6000 group photo that shrinks a 180 px face to 14 px, below every
detector's smallest window, and all faces are lost. Tiling keeps the detector untouched (any
registered detector works, with its own options): the image is also cut into overlapping tiles
of ``TILE_FACTOR × max_side`` pixels (2560 px for Haar on photos), each detected at the
detector's usual working size, and the boxes are merged. The whole-image pass still finds the
faces too large for a tile; the tiles overlap by more than the smallest face that pass can see,
so every face lies whole inside at least one tile or is found by the whole-image pass.
"""

from __future__ import annotations

import math

import numpy as np

from ferkit.faces import Detection
from ferkit.types import BBox

#: a tile is this many detector working sides long: tiles find faces down to 4 × 20 = 80 px
TILE_FACTOR = 4
#: the smallest face (px at the detector's working size) detectors reliably find; Haar's
#: default window is 20 px
MIN_WORKING_FACE = 20


def working_side(detector) -> int | None:
    """The longer side a detector shrinks images to (its ``max_side``); None: full size."""
    side = getattr(detector, "max_side", None)
    return int(side) if isinstance(side, (int, float)) and side > 0 else None


def needs_tiles(shape: tuple[int, ...], detector) -> bool:
    side = working_side(detector)
    return side is not None and max(shape[:2]) > TILE_FACTOR * side


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(y0, x0, y1, x1) of tiles of at most ``tile`` px covering the image, ``overlap`` apart."""
    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        count = math.ceil((n - overlap) / (tile - overlap))
        step = (n - tile) / (count - 1)
        return [round(i * step) for i in range(count)]

    return [(y, x, min(y + tile, height), min(x + tile, width))
            for y in starts(height) for x in starts(width)]


def detect_faces(detector, image: np.ndarray, tiles: bool = True) -> list[Detection]:
    """``detector.detect(image)``, plus tiles when the image is much larger than the detector's
    working size (see the module docstring); boxes in ``image`` pixels, duplicates merged.
    ``tiles=False``: the detector alone."""
    dets = list(detector.detect(image))
    if not tiles or not needs_tiles(image.shape, detector):
        return dets
    side = working_side(detector)
    h, w = image.shape[:2]
    tile = TILE_FACTOR * side
    smallest_whole = MIN_WORKING_FACE * max(h, w) / side  # seen by the whole-image pass
    overlap = min(tile // 2, math.ceil(1.25 * smallest_whole))
    for y0, x0, y1, x1 in tile_grid(h, w, tile, overlap):
        part = np.ascontiguousarray(image[y0:y1, x0:x1])
        dets.extend(_shift(d, x0, y0) for d in detector.detect(part))
    return merge_detections(dets)


def _shift(det: Detection, dx: float, dy: float) -> Detection:
    b = det.bbox
    lm = None if det.landmarks is None else np.asarray(det.landmarks) + np.array([dx, dy],
                                                                                 np.float32)
    eyes = None if det.eyes is None else tuple((x + dx, y + dy) for x, y in det.eyes)
    nose = None if det.nose is None else (det.nose[0] + dx, det.nose[1] + dy)
    return Detection(BBox(b.x + dx, b.y + dy, b.w, b.h), det.score, lm, eyes, nose)


def merge_detections(dets: list[Detection], max_overlap: float = 0.5) -> list[Detection]:
    """Keep the best of boxes covering the same face: by score, then by area; two boxes are the
    same face when their intersection covers ``max_overlap`` of the smaller one (a face cut
    by a tile edge lies inside the whole face found in the neighbouring tile)."""
    order = sorted(dets, key=lambda d: (-d.score, -d.bbox.w * d.bbox.h))
    kept: list[Detection] = []
    for d in order:
        if all(_overlap_of_smaller(d.bbox, k.bbox) < max_overlap for k in kept):
            kept.append(d)
    return sorted(kept, key=lambda d: (d.bbox.y, d.bbox.x))


def _overlap_of_smaller(a: BBox, b: BBox) -> float:
    ax0, ay0, ax1, ay1 = a.xyxy()
    bx0, by0, bx1, by1 = b.xyxy()
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min(a.w * a.h, b.w * b.h)
    return iw * ih / smaller if smaller > 0 else 0.0
