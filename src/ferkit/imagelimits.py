"""Decode limits: an image's pixel count is read from its header before anything is decoded.

A 30000×30000 PNG is a few hundred kilobytes on disk and 2.7 GB once decoded; OpenCV's own
guard only trips at 2^30 pixels. Every decode path (``predict``, datasets, the server) therefore
asks :func:`check_pixels` first. Pillow (already installed with matplotlib) reads the header
lazily, so the check costs microseconds and no pixel memory. Formats Pillow cannot identify are
left to OpenCV, whose built-in limit still applies.

The default admits an 8000×6000 group photo with room to spare; ``FERKIT_MAX_PIXELS`` or an
explicit ``max_pixels`` argument (``--max-pixels`` on the CLI) changes it.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from ferkit.errors import MediaError

#: 64 megapixels: 8000×8000; an 8000×6000 photo (48 MP) passes, a 30000² bomb does not.
DEFAULT_MAX_PIXELS = 64_000_000
ENV_VAR = "FERKIT_MAX_PIXELS"


def max_pixels_default() -> int:
    """The effective default limit: ``$FERKIT_MAX_PIXELS`` when set and valid, else 64 MP."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(raw))
    except ValueError:
        raise MediaError(f"{ENV_VAR}={raw!r} is not a number of pixels; set it to e.g. "
                         f"{DEFAULT_MAX_PIXELS} or unset it") from None
    if value <= 0:
        raise MediaError(f"{ENV_VAR}={raw!r} must be a positive number of pixels")
    return value


def header_size(data: bytes | bytearray | memoryview | np.ndarray) -> tuple[int, int] | None:
    """(width, height) from the image header without decoding pixels; None if unrecognised."""
    from PIL import Image

    buf = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    saved = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own bomb guard: ferkit decides below
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(io.BytesIO(buf)) as img:
                width, height = img.size
    except Exception:  # not a format Pillow knows, or a truncated header: OpenCV decides
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    return int(width), int(height)


def check_pixels(data: bytes | bytearray | memoryview | np.ndarray, source: str,
                 max_pixels: int | None = None) -> None:
    """Raise MediaError naming ``source`` when the header declares more than ``max_pixels``."""
    limit = max_pixels_default() if max_pixels is None else int(max_pixels)
    size = header_size(data)
    if size is None:
        return
    width, height = size
    if width * height > limit:
        raise MediaError(_over_limit(source, width, height, limit))


def _over_limit(source: str, width: int, height: int, limit: int) -> str:
    def amount(n: int) -> str:
        return f"{n / 1e6:.0f} MP" if n >= 10**6 else f"{n:,} pixels"

    return (f"image {source} is {width}×{height} ({amount(width * height)}), over the "
            f"{amount(limit)} limit (a decompression bomb or a huge scan); shrink it, or raise "
            f"the limit with --max-pixels / {ENV_VAR} if you trust the file")


def decode_bgr(data: np.ndarray, source: str, max_pixels: int | None = None) -> np.ndarray:
    """Bytes of an image file → BGR uint8 (H, W, 3), header-checked first; MediaError on failure."""
    import cv2

    check_pixels(data, source, max_pixels)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaError(f"cannot decode image {source} (corrupt or not an image file)")
    return image


def check_file(path: str | os.PathLike[str], max_pixels: int | None = None) -> str | None:
    """The over-limit message for an image file, else None; reads only its header.

    Lets a command refuse a decompression bomb before it loads a model (the bomb is caught
    again, authoritatively, when the file is decoded)."""
    from PIL import Image

    limit = max_pixels_default() if max_pixels is None else int(max_pixels)
    saved = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(path) as img:
                width, height = img.size
    except Exception:  # unreadable here: the decoder gives the real error later
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    return None if width * height <= limit else _over_limit(repr(str(path)), width, height, limit)
