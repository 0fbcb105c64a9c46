"""The labelled face-detection set of ``bench_detect.py``, regenerated deterministically.

Nothing is stored but ``detect_media_boxes.json`` (hand-checked boxes of the three media photos);
everything else is rebuilt from FER2013 and the media folder with a fixed seed:

- ``fer48``: FER2013 validation faces as they are (48×48 gray, the face fills the frame): what a
  user with pre-cropped faces feeds in; see below for its true box.
- ``collage``: 640×480 scenes with 1-4 FER faces (40-200 px, rotated up to ±30°, darkened,
  brightened, low contrast or noisy, gray or skin-tinted) blended with a soft elliptical mask onto
  procedural clutter or face-free parts of the media photos (flags, suits, streamers, hands).
- ``media``: the three photos, their mirror images and ±20° rotations (boxes transformed).

Ground truth for a FER face (``fer48`` or pasted) is its square shrunk to 87.5 % around the
centre: the box whose crop with the aligner's default 10 % margin is the FER2013 crop itself
(Haar's median box on FER crops is 42 of 48 px). ``ignore`` boxes (a face cut by the frame)
count neither as hits nor as false positives.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MEDIA_BOXES = HERE / "detect_media_boxes.json"
EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
#: face-free regions (x0, y0, x1, y1) of the media photos used as real backgrounds
BACKGROUNDS = {
    "obama_and_biden.jpg": [(0, 0, 700, 360), (0, 700, 650, 1428), (1350, 0, 2000, 700),
                            (1450, 0, 2000, 330)],
    "obama.jpg": [(0, 0, 300, 1137), (700, 450, 910, 1137), (0, 700, 910, 1137)],
    "astronaut.png": [(0, 230, 512, 512), (300, 0, 512, 300)],
}
GT_SHRINK = 42 / 48


@dataclass
class Sample:
    """One image with its true face boxes (x, y, w, h) and boxes to ignore."""

    name: str
    subset: str
    image: np.ndarray
    boxes: list[tuple[float, float, float, float]]
    ignore: list[tuple[float, float, float, float]] = field(default_factory=list)


def fer_paths(root: Path, n: int, rng: np.random.Generator) -> list[Path]:
    """``n`` validation faces spread over the 7 emotions, picked with ``rng``."""
    per = [sorted((root / "val" / e).glob("*.*")) for e in EMOTIONS]
    out = []
    for i in range(n):
        files = per[i % len(per)]
        out.append(files[int(rng.integers(len(files)))])
    return out


def read_gray(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise SystemExit(f"cannot read {path}")
    return img


def fer48(root: Path, n: int, seed: int) -> list[Sample]:
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for p in fer_paths(root, n, rng):
        img = cv2.cvtColor(read_gray(p), cv2.COLOR_GRAY2BGR)
        h, w = img.shape[:2]
        s = w * GT_SHRINK
        box = ((w - s) / 2, (h - s) / 2, s, s)
        out.append(Sample(f"fer48/{p.parent.name}/{p.name}", "fer48", img, [box]))
    return out


def clutter(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A procedural background: colour gradient, random rectangles/ellipses/lines, blur, noise."""
    import cv2

    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w)[None, :, None]
    img = np.broadcast_to(c0 * (1 - t) + c1 * t, (h, w, 3)).astype(np.uint8).copy()
    for _ in range(int(rng.integers(10, 30))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        kind = rng.integers(3)
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 200)),
                                        y + int(rng.integers(10, 200))), colour, -1)
        elif kind == 1:
            cv2.ellipse(img, (x, y), (int(rng.integers(5, 90)), int(rng.integers(5, 90))),
                        float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), colour,
                     int(rng.integers(1, 8)))
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 3.0)))
    noise = rng.normal(0, rng.uniform(2, 12), img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def real_background(media: Path, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    name = sorted(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))]
    regions = BACKGROUNDS[name]
    x0, y0, x1, y1 = regions[int(rng.integers(len(regions)))]
    img = cv2.imread(str(media / name), cv2.IMREAD_COLOR)[y0:y1, x0:x1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def lighting(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of: unchanged, dark (gamma), bright, low contrast, noisy."""
    f = face.astype(np.float32)
    kind = int(rng.integers(5))
    if kind == 1:
        f = 255 * (f / 255) ** rng.uniform(1.6, 2.4)
    elif kind == 2:
        f = 255 * (f / 255) ** rng.uniform(0.45, 0.65)
    elif kind == 3:
        f = 128 + (f - 128) * rng.uniform(0.35, 0.55)
    elif kind == 4:
        f = f + rng.normal(0, 14, f.shape)
    return np.clip(f, 0, 255)


def paste(canvas: np.ndarray, face_gray: np.ndarray, x: int, y: int, side: int, angle: float,
          tint: bool, rng: np.random.Generator) -> None:
    """Blend a face (resized to ``side``, rotated by ``angle``) into ``canvas`` at (x, y)."""
    import cv2

    face = cv2.resize(face_gray, (side, side), interpolation=cv2.INTER_CUBIC)
    face = lighting(face, rng)
    rgb = np.repeat(face[:, :, None], 3, 2)
    if tint:
        rgb = rgb * np.array([0.78, 0.9, 1.08])[None, None, :] * rng.uniform(0.85, 1.1)
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, side // 2), (int(side * 0.47), int(side * 0.5)), 0, 0, 360,
                1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), side * 0.05)
    # rotate face and mask about the centre on a larger square so no corner is lost
    big = int(math.ceil(side * 1.5))
    off = (big - side) // 2
    m = cv2.getRotationMatrix2D((big / 2, big / 2), angle, 1.0)
    holder = np.zeros((big, big, 3), np.float32)
    holder[off:off + side, off:off + side] = rgb
    mholder = np.zeros((big, big), np.float32)
    mholder[off:off + side, off:off + side] = mask
    rgb = cv2.warpAffine(holder, m, (big, big), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(mholder, m, (big, big), flags=cv2.INTER_LINEAR)[:, :, None]
    bx, by = x - off, y - off
    h, w = canvas.shape[:2]
    sx0, sy0, sx1, sy1 = max(bx, 0), max(by, 0), min(bx + big, w), min(by + big, h)
    region = canvas[sy0:sy1, sx0:sx1].astype(np.float32)
    r = rgb[sy0 - by:sy1 - by, sx0 - bx:sx1 - bx]
    a = mask[sy0 - by:sy1 - by, sx0 - bx:sx1 - bx]
    canvas[sy0:sy1, sx0:sx1] = np.clip(region * (1 - a) + r * a, 0, 255).astype(np.uint8)


def place(rng: np.random.Generator, sizes: list[int], h: int, w: int
          ) -> list[tuple[int, int, int]]:
    """Non-overlapping (x, y, side) squares fully inside the canvas (gaps of 10 % of a side)."""
    placed: list[tuple[int, int, int]] = []
    for side in sizes:
        for _ in range(200):
            x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
            if all(x + side * 1.1 < px or px + ps * 1.1 < x or y + side * 1.1 < py
                   or py + ps * 1.1 < y for px, py, ps in placed):
                placed.append((x, y, side))
                break
    return placed


def collages(root: Path, media: Path, n: int, seed: int) -> list[Sample]:
    rng = np.random.default_rng(seed)
    h, w = 480, 640
    out = []
    for i in range(n):
        canvas = (real_background(media, rng, h, w) if i % 2 else clutter(rng, h, w))
        count = int(rng.integers(1, 5))
        sizes = sorted((int(rng.choice([40, 64, 96, 144, 200])) for _ in range(count)),
                       reverse=True)
        boxes = []
        for (x, y, side), p in zip(place(rng, sizes, h, w), fer_paths(root, count, rng),
                                   strict=False):
            angle = float(rng.choice([0, 0, -15, 15, -30, 30]))
            paste(canvas, read_gray(p), x, y, side, angle, bool(rng.integers(2)), rng)
            s = side * GT_SHRINK
            boxes.append((x + (side - s) / 2, y + (side - s) / 2, s, s))
        out.append(Sample(f"collage/{i:03d}", "collage", canvas, boxes))
    return out


def rotate_sample(s: Sample, angle: float) -> Sample:
    """The photo rotated by ``angle`` degrees (canvas grown to keep every pixel); each box keeps
    its size and follows its centre (a tilted face's upright box)."""
    import cv2

    h, w = s.image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    img = cv2.warpAffine(s.image, m, (nw, nh), borderMode=cv2.BORDER_REPLICATE)

    def move(b):
        cx, cy = b[0] + b[2] / 2, b[1] + b[3] / 2
        nx, ny = m @ np.array([cx, cy, 1.0])
        return (float(nx - b[2] / 2), float(ny - b[3] / 2), b[2], b[3])

    return Sample(f"{s.name}@rot{angle:+.0f}", s.subset, img, [move(b) for b in s.boxes],
                  [move(b) for b in s.ignore])


def flip_sample(s: Sample) -> Sample:
    w = s.image.shape[1]
    fl = [(w - b[0] - b[2], b[1], b[2], b[3]) for b in s.boxes]
    ig = [(w - b[0] - b[2], b[1], b[2], b[3]) for b in s.ignore]
    return Sample(f"{s.name}@flip", s.subset, np.ascontiguousarray(s.image[:, ::-1]), fl, ig)


def media_samples(media: Path) -> list[Sample]:
    import cv2

    spec = json.loads(MEDIA_BOXES.read_text())
    out = []
    for name, entry in spec["images"].items():
        img = cv2.imread(str(media / name), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {media / name}")
        base = Sample(f"media/{name}", "media", img,
                      [tuple(b) for b in entry["faces"]], [tuple(b) for b in entry["ignore"]])
        out += [base, flip_sample(base), rotate_sample(base, 20), rotate_sample(base, -20)]
    return out


def build(fer_root: Path, media: Path, n_fer: int = 100, n_collage: int = 60, seed: int = 0
          ) -> list[Sample]:
    """The whole set, identical on every run with the same arguments."""
    return (fer48(fer_root, n_fer, seed) + collages(fer_root, media, n_collage, seed + 1)
            + media_samples(media))
