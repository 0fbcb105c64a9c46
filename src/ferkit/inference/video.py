"""Media input: image files, folders, video files and cameras, streamed frame by frame.

``VideoReader`` accepts a path or an integer camera index, so the webcam (``ferkit live``) and
video files (``ferkit predict clip.mp4``) go through the same code. Frames are decoded one at a
time and never accumulated: memory stays flat however long the video is.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferkit.errors import MediaError

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm",
                        ".ppm", ".pbm", ".jp2"})
VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg",
                        ".wmv", ".flv", ".3gp", ".ts"})
DEFAULT_FPS = 30.0


class StopVideo(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a per-frame callback to end a stream early (the results so far are kept)."""


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTS


def read_image(path: str | os.PathLike[str], max_pixels: int | None = None) -> np.ndarray:
    """Decode an image file to BGR uint8 (H, W, 3); MediaError with the file name if it fails.

    The header is checked against ``max_pixels`` (``ferkit.imagelimits``) before decoding.
    """
    from ferkit.imagelimits import decode_bgr

    p = Path(path)
    if not p.is_file():
        raise MediaError(not_a_file(path, "image"))
    try:
        data = np.fromfile(str(p), dtype=np.uint8)  # handles non-ASCII paths, unlike imread
    except OSError as exc:
        raise MediaError(f"cannot read image {str(p)!r}: {exc.strerror or exc}") from None
    return decode_bgr(data, repr(str(p)), max_pixels)


def not_a_file(raw: str | os.PathLike[str], what: str = "input") -> str:
    """Why ``raw`` cannot be read as a media file, said precisely (a URL, a folder, a device...)."""
    text = os.fspath(raw)
    if re.match(r"^[a-z][a-z0-9+.-]*:/", str(text), re.IGNORECASE):
        url = re.sub(r"^([a-z][a-z0-9+.-]*):/(?!/)", r"\1://", str(text), flags=re.I)
        return (f"{what} {url!r} is a URL; ferkit reads local files only: download it first "
                "and pass the file")  # (Path() turns "https://" into "https:/")
    p = Path(text)
    if p.is_dir():
        return f"{what} {text!r} is a folder; pass an image file (or the folder to predict)"
    if p.exists():
        return (f"{what} {text!r} is not a regular file (a device, pipe or socket); pass an "
                "image or video file")
    return f"{what} {text!r} does not exist"


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Any uint8 image array (gray, BGR, BGRA) as 3-channel BGR, which every detector expects."""
    import cv2

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise MediaError(f"expected a uint8 image array, got dtype {arr.dtype}")
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 1):
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.ndim == 3 and arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    if arr.ndim == 3 and arr.shape[2] == 3:
        return arr
    raise MediaError(f"expected an image array (H, W[, 1|3|4]), got shape {arr.shape}")


def expand_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given plus every image/video found recursively in folders, in sorted order.

    A path that does not exist raises MediaError at once: a typo should not cost a long run.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file()
                           and f.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS)
            if not found:
                raise MediaError(f"folder {str(p)!r} contains no images or videos "
                                 f"(looked for {', '.join(sorted(IMAGE_EXTS | VIDEO_EXTS))})")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise MediaError(not_a_file(raw))
    if not out:
        raise MediaError("no input given: pass image files, folders or videos")
    return out


def _open_quietly(source: int | str):
    """``cv2.VideoCapture`` without OpenCV/FFmpeg warnings on stderr: a bad file or a missing
    camera is reported once, by our MediaError. ``OPENCV_FFMPEG_LOGLEVEL`` set by the user wins."""
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(source)
    finally:
        cv2.utils.logging.setLogLevel(level)


@dataclass(frozen=True)
class Frame:
    """A decoded frame: its index in the stream, its time in seconds, and the BGR pixels."""

    index: int
    timestamp: float
    image: np.ndarray


class VideoReader:
    """Iterate over the frames of a video file or a camera (``source`` an int index).

    ``stride`` keeps every n-th frame (the others are grabbed, not converted);
    ``max_frames`` caps the number of frames *kept*. Timestamps come from the frame index and the
    container's fps for files, from the wall clock for cameras.
    """

    def __init__(self, source: int | str | os.PathLike[str]) -> None:
        import cv2

        self.is_camera = isinstance(source, int)
        self.source = f"camera:{source}" if self.is_camera else str(source)
        if self.is_camera and source < 0:  # OpenCV segfaults on some negative indices
            raise MediaError(f"camera index {source} is negative; use 0 for the first camera")
        if not self.is_camera and not Path(source).is_file():
            raise MediaError(not_a_file(source, "video"))
        self.cap = _open_quietly(source if self.is_camera else str(source))
        if not self.cap.isOpened():
            self.cap.release()
            if self.is_camera:
                raise MediaError(f"cannot open camera {source} (no such device, no permission, "
                                 f"or it is in use); try another --camera index")
            raise MediaError(f"cannot open video {self.source!r} (unreadable, corrupt, "
                             f"or an unsupported codec)")
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
        self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = None if self.is_camera or count <= 0 else count
        self.frames_read = 0

    def frames(self, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
        if stride < 1:
            raise MediaError(f"stride must be >= 1, got {stride}")
        start, kept, index = time.monotonic(), 0, -1
        while max_frames is None or kept < max_frames:
            index += 1
            if index % stride and self.cap.grab():
                self.frames_read += 1
                continue
            ok, image = (False, None) if index % stride else self.cap.read()
            if not ok or image is None:
                break
            self.frames_read += 1
            t = time.monotonic() - start if self.is_camera else index / self.fps
            kept += 1
            yield Frame(index, t, image)
        if self.frames_read == 0:
            raise MediaError(f"no frame could be decoded from {self.source!r} "
                             f"(corrupt or unsupported video)")

    def close(self) -> None:
        self.cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
