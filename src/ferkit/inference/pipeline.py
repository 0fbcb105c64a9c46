"""The one inference ``Pipeline``: detect → align → classify → smooth → result objects.

It serves the Python API, the CLI (``ferkit predict``/``ferkit live``), video and webcam, and a
REST server alike, so behaviour (thresholds, no-face policy, flip TTA, smoothing) is decided in one
place. Example::

    pipe = Pipeline("model.safetensors")                # detector="mtcnn" (the default)
    result = pipe.predict_image("photo.jpg")           # ImageResult
    for r in pipe.predict_paths(["a.jpg", "b.png"]):   # crops batched across images
        ...
    summary = pipe.predict_video("clip.mp4", stride=2)  # VideoResult (per-frame: iter_video)

Video speed: the detector runs on every ``detect_every``-th processed frame; in between, the IoU
tracker carries each face's box forward (damped constant velocity) and only the classifier runs.
MTCNN and Haar also work on a smaller copy of video frames (``video_max_side`` in their registry
entries: 320 px on the longer side) than of photos (640 px), unless ``max_side`` is given
explicitly. ``detector=None`` skips detection: every image (or frame) is one face crop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.bundled import BUNDLED, WEIGHTS_DIR, resolve_model
from ferkit.errors import ConfigError, MediaError, NoFaceError
from ferkit.faces import (
    DEFAULT_DETECTOR,
    DETECTORS,
    AlignConfig,
    Detection,
    create_detector,
    crop_faces,
)
from ferkit.faces.align import whole_image_box
from ferkit.faces.base import WholeImage
from ferkit.inference.backends import Backend, load_backend
from ferkit.inference.tiling import detect_faces
from ferkit.inference.tracking import EmaSmoother, IouTracker
from ferkit.inference.video import Frame, StopVideo, VideoReader, as_bgr, read_image
from ferkit.types import BBox, FaceResult, ImageResult, TrackSummary, VideoResult

DEFAULT_MODEL = WEIGHTS_DIR / BUNDLED.get("default").checkpoint  # the default model's float twin
#: a public-domain portrait shipped with the package (see ferkit/assets/README.md)
SAMPLE_IMAGE = Path(__file__).resolve().parent.parent / "assets" / "sample_face.jpg"
NO_FACE_MODES = ("skip", "whole-image", "error")
UNCERTAIN = "uncertain"
#: flush a batch of image crops when this many images are waiting (bounds memory)
MAX_PENDING_IMAGES = 16


def resolve_backend(model: str | os.PathLike[str] | Backend | None, backend: str = "auto",
                    **backend_options: Any) -> Backend:
    """A Backend from a checkpoint/.onnx path, a ready Backend, or None/a bundled model name.

    ``backend="auto"`` runs ``.onnx`` files (the bundled models' INT8 files included) with ONNX
    Runtime and ``.safetensors`` checkpoints with torch.
    """
    if isinstance(model, Backend):
        return model
    return load_backend(resolve_model(model, backend), backend=backend, **backend_options)


class Pipeline:
    """Faces in, calibrated emotion probabilities out.

    ``min_confidence``: faces whose top probability is below it get label "uncertain" (their
    probabilities are kept). ``no_face_mode``: "skip" (empty result), "whole-image" (classify the
    whole image, flag "whole_image") or "error" (raise NoFaceError). ``detector=None``: no
    detection; each image is classified whole as one face crop, without margin or rotation (flag
    "whole_image"), e.g. for FER2013-style pre-cropped faces.
    """

    def __init__(self, model: str | os.PathLike[str] | Backend | None = None,
                 detector: str | Any | None = DEFAULT_DETECTOR, backend: str = "auto", *,
                 min_confidence: float = 0.0, flip_tta: bool = False,
                 no_face_mode: str = "skip", align: AlignConfig | None = None,
                 detector_options: dict[str, Any] | None = None, batch_size: int = 64,
                 backend_options: dict[str, Any] | None = None,
                 max_pixels: int | None = None) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if no_face_mode not in NO_FACE_MODES:
            raise ConfigError(f"no_face_mode must be one of {', '.join(NO_FACE_MODES)}, "
                              f"got {no_face_mode!r}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if max_pixels is not None and max_pixels < 1:
            raise ConfigError(f"max_pixels must be >= 1, got {max_pixels}")
        self.max_pixels = max_pixels  # None: ferkit.imagelimits' default (64 MP)
        self.backend = resolve_backend(model, backend, **(backend_options or {}))
        self.detect = detector is not None
        if self.detect:
            self.detector = create_detector(detector, **(detector_options or {}))
            self.video_detector = _video_detector(detector, detector_options or {}, self.detector)
        elif detector_options:
            raise ConfigError("detector options were given but detection is off (detector=None)")
        else:
            self.detector = self.video_detector = WholeImage()
        # photos far above the detector's working size are also searched in tiles, unless the
        # user chose the working size (-D max_side=N) themselves
        self.tiles = self.detect and "max_side" not in (detector_options or {})
        self.min_confidence, self.flip_tta = float(min_confidence), bool(flip_tta)
        self.no_face_mode, self.batch_size = no_face_mode, batch_size
        self.align = align or AlignConfig()
        if not self.detect:  # the image IS the face crop: no margin around it, no levelling
            self.align = replace(self.align, margin=0.0, rotate=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.backend.labels)

    def describe(self) -> dict[str, Any]:
        """What produced the results (goes into results.json)."""
        return {"model": str(getattr(self.backend, "path", type(self.backend).__name__)),
                "backend": type(self.backend).__name__, "detector": self.detector.name,
                "labels": list(self.labels), "min_confidence": self.min_confidence,
                "flip_tta": self.flip_tta, "no_face_mode": self.no_face_mode,
                "large_photo_tiles": self.tiles,
                "align": {"margin": self.align.margin, "min_face": self.align.min_face,
                          "rotate": self.align.rotate}}

    # -- building blocks ---------------------------------------------------------------------
    def find_faces(self, image: np.ndarray, source: str = "") -> tuple[list[Detection], bool]:
        """(detections, whole_image): applies ``no_face_mode`` when the detector finds none."""
        if not self.detect:
            return self.detector.detect(image), True
        dets = detect_faces(self.detector, image, tiles=self.tiles)
        if dets or self.no_face_mode == "skip":
            return dets, False
        if self.no_face_mode == "error":
            raise NoFaceError(f"no face found in {source or 'the image'}")
        h, w = image.shape[:2]
        smallest = max(8, self.align.min_face)
        if min(h, w) < smallest:  # a 1x1 pixel "face" would be upscaled and labelled
            raise NoFaceError(f"no face found in {source or 'the image'}, and at {w}×{h} px it "
                              f"is too small to classify as a whole (--no-face-mode "
                              f"whole-image needs at least {smallest} px per side)")
        return [Detection(whole_image_box(w, h), 0.0)], True

    def classify(self, image: np.ndarray, faces: list[Detection | BBox]
                 ) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """(probabilities (N, K), flags per face) for faces of one image, one backend call."""
        crops, flags = crop_faces(image, faces, self.backend.info, self.align)
        return self._batched_proba(crops if len(crops) else None), flags

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        return self.backend.predict_proba(crops, flip_tta=self.flip_tta)

    def make_face(self, probs: np.ndarray, bbox: BBox, flags: tuple[str, ...] = (),
                  score: float | None = None, **extra: Any) -> FaceResult:
        """A FaceResult from one probability vector, applying ``min_confidence``."""
        i = int(np.argmax(probs))
        conf = float(probs[i])
        label = self.labels[i] if conf >= self.min_confidence else UNCERTAIN
        probs_d = {k: float(v) for k, v in zip(self.labels, probs, strict=True)}
        return FaceResult(bbox, probs_d, label, conf, flags=tuple(flags),
                          detection_score=score, **extra)

    # -- images ------------------------------------------------------------------------------
    def predict_image(self, image: Any, source: str | None = None) -> ImageResult:
        """Classify every face of one image: a file path, a ``PIL.Image`` (RGB, as Pillow
        decodes) or a uint8 numpy array in OpenCV's BGR order (or gray/BGRA)."""
        if isinstance(image, (str, os.PathLike)):
            source = source or str(image)
            image = read_image(image, self.max_pixels)
        elif _is_pil(image):
            image = _pil_to_bgr(image)
        image = as_bgr(image)
        result = next(self._classify_batch([(source or "<array>", image)]))[0]
        if self.no_face_mode == "error" and result.error is not None:
            raise NoFaceError(result.error)
        return result

    def predict_paths(self, paths: Iterable[str | os.PathLike[str]], *,
                      with_images: bool = False) -> Iterator[Any]:
        """ImageResults for many files, in order; crops of several images share one backend
        call. An unreadable file yields a result with ``error`` set instead of stopping the run.
        ``with_images=True`` yields ``(result, bgr_image_or_None)`` pairs (for annotation)."""
        pending: list[tuple[str, np.ndarray | str]] = []
        for path in paths:
            try:
                pending.append((str(path), read_image(path, self.max_pixels)))
            except MediaError as exc:
                pending.append((str(path), str(exc)))
            if len(pending) >= MAX_PENDING_IMAGES:
                yield from self._emit(pending, with_images)
                pending = []
        if pending:
            yield from self._emit(pending, with_images)

    def _emit(self, pending, with_images: bool) -> Iterator[Any]:
        for result, image in self._classify_batch(pending):
            yield (result, image) if with_images else result

    def _classify_batch(self, items: list[tuple[str, np.ndarray | str]]):
        """Detect + crop each image, classify all crops in chunks of ``batch_size``."""
        prepared = []
        for source, image in items:
            if isinstance(image, str):  # a read error message
                prepared.append((source, None, [], [], None, image))
                continue
            try:
                dets, whole = self.find_faces(image, source)
            except NoFaceError as exc:
                prepared.append((source, image, [], [], None, str(exc)))
                continue
            crops, flags = crop_faces(image, dets, self.backend.info, self.align)
            if whole:
                flags = [("whole_image",)]
            prepared.append((source, image, dets, flags, crops, None))
        all_crops = [p[4] for p in prepared if p[4] is not None and len(p[4])]
        probs = self._batched_proba(np.concatenate(all_crops) if all_crops else None)
        offset = 0
        for source, image, dets, flags, _, error in prepared:
            faces = []
            for det, fl in zip(dets, flags, strict=True):
                score = None if "whole_image" in fl else det.score
                faces.append(self.make_face(probs[offset], det.bbox, fl, score))
                offset += 1
            h, w = image.shape[:2] if image is not None else (0, 0)
            yield ImageResult(source, tuple(faces), w, h, error), image

    def _batched_proba(self, crops: np.ndarray | None) -> np.ndarray:
        if crops is None:
            return np.zeros((0, len(self.labels)), np.float32)
        parts = [self.probabilities(crops[i:i + self.batch_size])
                 for i in range(0, len(crops), self.batch_size)]
        return np.concatenate(parts)

    # -- video -------------------------------------------------------------------------------
    def iter_video(self, source: int | str | os.PathLike[str], *, stride: int = 1,
                   detect_every: int = 1, ema_alpha: float = 0.5, max_frames: int | None = None,
                   iou_threshold: float = 0.3, max_age: int | None = None,
                   reader: VideoReader | None = None) -> Iterator[tuple[Frame, ImageResult]]:
        """Stream ``(frame, ImageResult)`` for every processed frame of a video or camera.

        ``stride``: keep every n-th frame. ``detect_every``: run the detector on every k-th kept
        frame, carrying tracked boxes in between. ``ema_alpha``: per-track smoothing weight of the
        newest probabilities (1.0 = no smoothing). Faces carry ``track_id``s stable over time.
        """
        if detect_every < 1:
            raise ConfigError(f"detect_every must be >= 1, got {detect_every}")
        own = reader is None
        reader = reader or VideoReader(source)
        age = max_age if max_age is not None else max(2 * detect_every * stride, 10)
        tracker = IouTracker(iou_threshold, max_age=age)
        smoother = EmaSmoother(ema_alpha)
        last: dict[int, Detection] = {}
        try:
            for n, frame in enumerate(reader.frames(stride, max_frames)):
                if n % detect_every == 0:
                    dets = self.video_detector.detect(frame.image)  # no face: empty frame
                    ids = tracker.update(frame.index, [d.bbox for d in dets])
                    last = dict(zip(ids, dets, strict=True))
                    faces, carried = list(zip(ids, dets, strict=True)), False
                else:
                    faces = [(tid, _moved(last[tid], box)) for tid, box in
                             tracker.carry(frame.index) if tid in last]
                    carried = True
                yield frame, self._video_result(reader.source, frame, faces, carried, smoother)
                smoother.forget({t.track_id for t in tracker.tracks})
        finally:
            if own:
                reader.close()

    def _video_result(self, source: str, frame: Frame, faces: list[tuple[int, Detection]],
                      carried: bool, smoother: EmaSmoother) -> ImageResult:
        probs, flags = self.classify(frame.image, [d for _, d in faces])
        out = []
        for (tid, det), p, fl in zip(faces, probs, flags, strict=True):
            fl = (*fl, "carried") if carried else fl
            out.append(self.make_face(smoother.update(tid, p), det.bbox, fl, det.score,
                                      track_id=tid, frame_index=frame.index,
                                      timestamp=frame.timestamp))
        h, w = frame.image.shape[:2]
        return ImageResult(source, tuple(out), w, h, None, frame.index, frame.timestamp)

    def predict_video(self, source: int | str | os.PathLike[str] | VideoReader, *,
                      on_frame: Callable[[Frame, ImageResult], None] | None = None,
                      **options: Any) -> VideoResult:
        """Run ``iter_video`` to the end (or Ctrl-C) and summarise tracks in a VideoResult.

        ``on_frame`` receives every processed frame (write CSV rows, annotate, display...).
        Options are those of ``iter_video``; ``source`` may be an open VideoReader.
        """
        reader = source if isinstance(source, VideoReader) else VideoReader(source)
        summary = _TrackStats(self.labels)
        processed = with_faces = n_faces = 0
        try:
            for frame, result in self.iter_video(source, reader=reader, **options):
                processed += 1
                with_faces += bool(result.faces)
                n_faces += len(result.faces)
                summary.add(result)
                if on_frame is not None:
                    on_frame(frame, result)
        except (KeyboardInterrupt, StopVideo):  # a live stream ends with Ctrl-C: keep the results
            pass
        finally:
            reader.close()
        return VideoResult(reader.source, reader.width, reader.height, reader.fps,
                           reader.frames_read, processed, with_faces, n_faces,
                           options.get("stride", 1), options.get("detect_every", 1),
                           summary.tracks())


def _is_pil(image: Any) -> bool:
    return type(image).__module__.startswith("PIL.") and hasattr(image, "convert")


def _pil_to_bgr(image: Any) -> np.ndarray:
    """A PIL image (any mode) → BGR uint8: Pillow's arrays are RGB, detectors expect BGR."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _video_detector(name: str | Any, options: dict[str, Any], default: Any) -> Any:
    """The detector for video frames: a detector registered with ``video_max_side`` (Haar) gets
    a smaller working size on video, where speed matters more than tiny faces, unless the user
    set ``max_side`` explicitly. Everything else uses the image detector."""
    if not isinstance(name, str) or "max_side" in options:
        return default
    side = DETECTORS.meta(name).get("video_max_side")
    return default if side is None else create_detector(name, **options, max_side=side)


def _moved(det: Detection, box: BBox) -> Detection:
    """The last detection of a track shifted onto its carried box (eyes move with it)."""
    dx, dy = box.x - det.bbox.x, box.y - det.bbox.y
    eyes = None if det.eyes is None else tuple((x + dx, y + dy) for x, y in det.eyes)
    nose = None if det.nose is None else (det.nose[0] + dx, det.nose[1] + dy)
    return Detection(box, det.score, None, eyes, nose)


class _TrackStats:
    """Running per-track sums (bounded memory) turned into TrackSummary objects."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.stats: dict[int, dict[str, Any]] = {}

    def add(self, result: ImageResult) -> None:
        for f in result.faces:
            if f.track_id is None:
                continue
            s = self.stats.setdefault(f.track_id, {
                "first": f.frame_index, "t0": f.timestamp, "n": 0,
                "sum": np.zeros(len(self.labels))})
            s["last"], s["t1"] = f.frame_index, f.timestamp
            s["n"] += 1
            s["sum"] += np.array([f.probs[k] for k in self.labels])

    def tracks(self) -> tuple[TrackSummary, ...]:
        out = []
        for tid, s in sorted(self.stats.items()):
            mean = s["sum"] / max(s["n"], 1)
            out.append(TrackSummary(tid, s["first"], s["last"], s["t0"], s["t1"], s["n"],
                                    dict(zip(self.labels, mean.tolist(), strict=True)),
                                    self.labels[int(np.argmax(mean))]))
        return tuple(out)
