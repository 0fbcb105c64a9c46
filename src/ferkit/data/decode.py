"""Decode image files once, in a thread pool, into uint8 arrays of one size and colour mode.

OpenCV's ``imdecode`` releases the GIL, so threads scale on the decode work. Gray is BT.601
luma as computed by OpenCV (``cv2.COLOR_BGR2GRAY``: 0.299 R + 0.587 G + 0.114 B); files are
decoded with ``IMREAD_UNCHANGED`` (EXIF orientation is ignored) so a gray JPEG's stored values
are kept exactly and colour files are converted by one explicit rule. 16-bit images are scaled
to 8 bits. Files that cannot be read are reported by reason, never silently dropped.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ferkit.errors import MediaError
from ferkit.imagelimits import check_pixels

#: extensions OpenCV decodes that loaders treat as images
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm",
    ".pbm", ".pnm",
})
COLORS = ("gray", "rgb")

#: one decoded file: (image or None, reason when None)
Decoded = tuple["np.ndarray | None", str]


def is_image_name(name: str) -> bool:
    dot = name.rfind(".")  # (not os.path.splitext: this runs for every file on every load)
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def convert_color(img: np.ndarray, color: str) -> np.ndarray:
    """OpenCV-decoded array (gray, BGR or BGRA; 8 or 16 bit) → uint8 gray (H,W) or RGB (H,W,3)."""
    import cv2

    if img.dtype == np.uint16:
        img = (img.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ValueError(f"unsupported pixel type {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return img if color == "gray" else cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    codes = {
        (3, "gray"): cv2.COLOR_BGR2GRAY, (3, "rgb"): cv2.COLOR_BGR2RGB,
        (4, "gray"): cv2.COLOR_BGRA2GRAY, (4, "rgb"): cv2.COLOR_BGRA2RGB,
    }
    return cv2.cvtColor(img, codes[(img.shape[2], color)])


def decode_file(path: str | os.PathLike[str], color: str) -> Decoded:
    """Read and decode one file; (None, reason) for unreadable, empty or non-image files."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    if data.size == 0:
        return None, "empty file (0 bytes)"
    try:
        check_pixels(data, repr(str(path)))
    except MediaError as exc:
        return None, str(exc)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        return None, "not a decodable image (corrupt or not an image)"
    try:
        return convert_color(img, color), ""
    except (ValueError, KeyError, cv2.error) as exc:
        return None, f"unsupported image ({exc})"


def decode_many(paths: Sequence[str | os.PathLike[str]], color: str,
                on_progress: Callable[[int], None] | None = None,
                workers: int | None = None, chunk: int = 256) -> list[Decoded]:
    """Decode ``paths`` in order with a thread pool; ``on_progress(n)`` after each chunk."""
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    chunks = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]

    def work(group: Sequence[str | os.PathLike[str]]) -> list[Decoded]:
        return [decode_file(p, color) for p in group]

    out: list[Decoded] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(work, chunks):
            out.extend(result)
            if on_progress is not None:
                on_progress(len(result))
    return out


def size_key(image: np.ndarray) -> str:
    return f"{image.shape[0]}x{image.shape[1]}"


def most_common_size(images: Sequence[np.ndarray]) -> tuple[int, int]:
    """The (H, W) most images have (ties → the larger), the default common size."""
    counts = Counter((im.shape[0], im.shape[1]) for im in images)
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]


def resize_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (H, W): INTER_AREA when shrinking (no aliasing), INTER_LINEAR when growing."""
    if image.shape[:2] == size:
        return image
    import cv2

    shrink = image.shape[0] * image.shape[1] > size[0] * size[1]
    flag = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (size[1], size[0]), interpolation=flag)


def normalize_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    """None, 48 or (48, 48) → None or (H, W); raises ValueError for nonsense."""
    if size is None:
        return None
    hw = (int(size), int(size)) if isinstance(size, int | np.integer) else tuple(map(int, size))
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return hw  # type: ignore[return-value]


def file_list(root: Path) -> list[os.DirEntry[str]]:
    """Non-hidden entries of a folder, sorted by name."""
    with os.scandir(root) as it:
        return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
