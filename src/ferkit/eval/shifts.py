"""Camera shifts for evaluation (``ferkit evaluate --shift``): the same faces, as another camera
and another detector would deliver them.

Issue #11's independent check found the bundled models losing more than a tiny baseline on faces
from other cameras, although ahead on FER2013 itself, and the datasets that showed it are held
back. A score on PublicTest alone cannot tell whether a change (robustness augmentations, a
teacher, an export) helps there; a score on the same faces under fixed, camera-like changes can
at least say which models lose least when the pixels stop looking like FER2013's. It is a proxy,
not a substitute: the people, poses and labelling stay FER2013's.

Each shift is one fixed severity, chosen to stay recognisable to a person at 48 px, and is
deterministic (random parts come from ``numpy.random.default_rng(seed)``), so two models, or two
runs, see identical pixels. All work on uint8 (N, H, W) grey or (N, H, W, 3) RGB arrays of any
size (sizes scale with the image side) and return the same shape and dtype. OpenCV does the
image work (blur, JPEG codec, resampling, affine warps) rather than hand-written filters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import cv2
import numpy as np

from ferkit.errors import ConfigError
from ferkit.registry import Registry

#: name → fn(images uint8, rng) -> images uint8; meta ``what`` says what it mimics
SHIFTS: Registry = Registry("camera shift")
#: every shift but ``none``, in the order tables list them (``--shift all``)
ALL = ("blur", "jpeg", "lowres", "noise", "dark", "bright", "contrast", "box")


def _each(images: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.empty_like(images)
    for i, im in enumerate(images):
        out[i] = fn(np.ascontiguousarray(im)).reshape(im.shape)
    return out


def _lut(images: np.ndarray, table: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(table), 0, 255).astype(np.uint8)[images]


@SHIFTS.register("none", what="the images as stored")
def _none(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return images


@SHIFTS.register("blur", what="Gaussian blur, sigma 2% of the side (1 px at 48 px): soft focus, "
                 "slight motion")
def _blur(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = 0.02 * images.shape[1]
    return _each(images, lambda im: cv2.GaussianBlur(im, (0, 0), sigma))


@SHIFTS.register("jpeg", what="JPEG at quality 20: a compressed webcam stream or web photo")
def _jpeg(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rgb = images.ndim == 4

    def codec(im: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(im, cv2.COLOR_RGB2BGR) if rgb else im
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 20])
        back = cv2.imdecode(buf, cv2.IMREAD_COLOR if rgb else cv2.IMREAD_GRAYSCALE)
        return cv2.cvtColor(back, cv2.COLOR_BGR2RGB) if rgb else back

    return _each(images, codec)


@SHIFTS.register("lowres", what="down to 40% of the side and back up: a small face far from "
                 "the camera")
def _lowres(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = images.shape[1:3]
    small = (max(1, round(w * 0.4)), max(1, round(h * 0.4)))
    return _each(images, lambda im: cv2.resize(cv2.resize(im, small, interpolation=cv2.INTER_AREA),
                                               (w, h), interpolation=cv2.INTER_LINEAR))


@SHIFTS.register("noise", what="Gaussian noise, sd 12 grey levels: sensor noise in low light")
def _noise(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = images.astype(np.float32) + rng.normal(0.0, 12.0, images.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@SHIFTS.register("dark", what="gamma 1.8: an under-exposed face")
def _dark(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _lut(images, 255.0 * (np.arange(256) / 255.0) ** 1.8)


@SHIFTS.register("bright", what="gamma 0.55: an over-exposed face")
def _bright(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _lut(images, 255.0 * (np.arange(256) / 255.0) ** 0.55)


@SHIFTS.register("contrast", what="contrast halved around each image's mean: flat light, haze")
def _contrast(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = images.astype(np.float32)
    mean = x.reshape(len(x), -1).mean(axis=1).reshape((-1,) + (1,) * (x.ndim - 1))
    return np.clip(np.rint(mean + 0.5 * (x - mean)), 0, 255).astype(np.uint8)


@SHIFTS.register("box", what="another detector's box: scale 0.85-1.2, shift up to 8% of the "
                 "side, rotation up to 10 degrees, border reflected")
def _box(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = images.shape[1:3]
    n = len(images)
    scale = rng.uniform(0.85, 1.2, n)
    angle = rng.uniform(-10.0, 10.0, n)
    shift = rng.uniform(-0.08, 0.08, (n, 2)) * (w, h)
    out = np.empty_like(images)
    for i, im in enumerate(images):
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(angle[i]), float(scale[i]))
        m[:, 2] += shift[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(im), m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101).reshape(im.shape)
    return out


def parse_shifts(values: Iterable[str] | None) -> list[str]:
    """``--shift`` values (repeatable, comma lists, ``all``) → known names, ``none`` first when
    asked, duplicates dropped; an unknown name is a ``ConfigError`` naming the known ones."""
    names: list[str] = []
    for value in values or ():
        for name in (v.strip() for v in str(value).split(",")):
            if not name:
                continue
            for n in (ALL if name == "all" else (name,)):
                SHIFTS.get(n)  # unknown → UnknownNameError with did-you-mean
                if n not in names:
                    names.append(n)
    if not names:
        raise ConfigError("--shift needs at least one name: "
                          + ", ".join(["none", *ALL, "all"]))
    return names


def apply_shift(name: str, images: np.ndarray, seed: int = 0) -> np.ndarray:
    """``images`` (uint8 (N, H, W) or (N, H, W, 3)) as shift ``name`` changes them; identical
    for equal (name, images, seed)."""
    fn = SHIFTS.get(name)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ConfigError(f"camera shifts need uint8 (N, H, W) or (N, H, W, 3) images, not "
                          f"{images.dtype} {images.shape}")
    if len(images) == 0:
        return images
    return fn(images, np.random.default_rng(seed))
