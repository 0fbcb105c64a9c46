"""Writers for prediction results: CSV rows, results.json, annotated images/videos, timelines.

Every file appears atomically (written to a temporary name, renamed when complete). The CSV and
the annotated video are written incrementally, frame by frame, so a long video never sits in
memory; the timeline keeps at most ``max_points`` points per track by merging neighbours.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.io import atomic_path, atomic_write_bytes, atomic_write_json
from ferkit.types import RESULT_SCHEMA_VERSION, FaceResult, ImageResult, VideoResult

_COLORS = {  # BGR, one per canonical emotion; unknown labels fall back to grey
    "angry": (40, 40, 230), "disgust": (40, 150, 40), "fear": (160, 60, 160),
    "happy": (0, 200, 255), "sad": (200, 120, 40), "surprise": (255, 200, 0),
    "neutral": (200, 200, 200), "contempt": (80, 80, 160),
}


def csv_columns(labels: Iterable[str]) -> list[str]:
    """Fixed column order: ids and box, one probability column per label, label, flags."""
    return ["source", "timestamp", "frame_index", "track_id", "x", "y", "w", "h", *labels,
            "label", "confidence", "flags"]


def face_row(source: str, face: FaceResult, labels: Iterable[str]) -> list[Any]:
    b = face.bbox.to_dict()
    return [source, "" if face.timestamp is None else f"{face.timestamp:.3f}",
            "" if face.frame_index is None else face.frame_index,
            "" if face.track_id is None else face.track_id,
            b["x"], b["y"], b["w"], b["h"], *(f"{face.probs.get(k, 0.0):.4f}" for k in labels),
            face.label, f"{face.confidence:.4f}", ";".join(face.flags)]


class CsvWriter:
    """One row per face per image/frame, streamed to a temp file renamed on ``close``."""

    def __init__(self, path: str | os.PathLike[str], labels: Iterable[str]) -> None:
        self.path, self.labels = Path(path), tuple(labels)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._fh = open(self.tmp, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._fh)
        self._writer.writerow(csv_columns(self.labels))
        self.rows = 0

    def write(self, result: ImageResult) -> None:
        for face in result.faces:
            self._writer.writerow(face_row(result.source, face, self.labels))
            self.rows += 1

    def close(self, ok: bool = True) -> None:
        """Finish the file (``ok=False`` discards it)."""
        if self._fh.closed:
            return
        self._fh.close()
        if ok:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self.close(ok=exc_type is None)


def annotate(image: np.ndarray, faces: Iterable[FaceResult]) -> np.ndarray:
    """A copy of ``image`` with each face's box and "label 0.87 #track" drawn on it."""
    import cv2

    out = image.copy()
    thick = max(1, round(max(out.shape[:2]) / 400))
    scale = max(0.4, max(out.shape[:2]) / 1200)
    for f in faces:
        x0, y0, x1, y1 = (round(v) for v in f.bbox.xyxy())
        color = _COLORS.get(f.label, (160, 160, 160))
        cv2.rectangle(out, (x0, y0), (x1, y1), color, thick)
        text = f"{f.label} {f.confidence:.2f}" + ("" if f.track_id is None else f" #{f.track_id}")
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = y0 - 4 if y0 - th - base - 4 > 0 else y1 + th + 4
        cv2.rectangle(out, (x0, ty - th - 2), (x0 + tw + 2, ty + base), color, -1)
        cv2.putText(out, text, (x0 + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick,
                    cv2.LINE_AA)
    return out


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Encode by extension and write atomically."""
    import cv2

    ok, buf = cv2.imencode(Path(path).suffix or ".jpg", image)
    if not ok:
        raise OSError(f"cannot encode image for {str(path)!r}")
    return atomic_write_bytes(path, buf.tobytes())


class VideoSink:
    """``cv2.VideoWriter`` (mp4v) into a temp file, renamed onto ``path`` on ``close``."""

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int]) -> None:
        import cv2

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        self.size = size
        if not self.writer.isOpened():
            raise OSError(f"cannot write video {str(self.path)!r} (mp4v codec unavailable?)")

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def close(self, ok: bool = True) -> None:
        self.writer.release()
        if ok and self.tmp.exists():
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()


class Timeline:
    """Per-track (time, probabilities) series with bounded length for the emotions-over-time PNG.

    Each track keeps points that average ``bin`` consecutive observations. When a track exceeds
    ``max_points``, neighbours are merged pairwise and ``bin`` doubles, so all points keep equal
    weight and memory stays O(tracks x max_points) however long the video.
    """

    def __init__(self, labels: Iterable[str], max_points: int = 2000) -> None:
        self.labels, self.max_points = tuple(labels), max(2, max_points)
        self.series: dict[int, list[np.ndarray]] = {}  # rows: [t, weight, p_1..p_K]
        self._bin: dict[int, int] = {}
        self._pending: dict[int, np.ndarray] = {}

    def add(self, result: ImageResult) -> None:
        for f in result.faces:
            if f.track_id is None or f.timestamp is None:
                continue
            tid = f.track_id
            row = np.array([f.timestamp, 1.0, *(f.probs[k] for k in self.labels)])
            pend = self._pending.get(tid)
            self._pending[tid] = row if pend is None else _merge(pend, row)
            if self._pending[tid][1] >= self._bin.setdefault(tid, 1):
                pts = self.series.setdefault(tid, [])
                pts.append(self._pending.pop(tid))
                if len(pts) > self.max_points:
                    if len(pts) % 2:  # an odd point out goes back to fill the next, wider bin
                        self._pending[tid] = pts.pop()
                    self.series[tid] = _halve(pts)
                    self._bin[tid] *= 2

    def points(self, track_id: int) -> np.ndarray:
        """(n, 2 + K) rows [time, weight, probabilities...] including a partial last bin."""
        rows = list(self.series.get(track_id, []))
        if track_id in self._pending:
            rows.append(self._pending[track_id])
        return np.array(rows)

    def plot(self, path: str | os.PathLike[str], title: str = "", max_tracks: int = 6) -> Path:
        """Write the PNG: one panel per track (longest first), one line per emotion."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ids = set(self.series) | set(self._pending)
        tracks = sorted(((t, self.points(t)) for t in ids), key=lambda kv: -kv[1][:, 1].sum())
        tracks = sorted(tracks[:max_tracks], key=lambda kv: kv[0]) or [(None, np.zeros(0))]
        fig, axes = plt.subplots(len(tracks), 1, figsize=(10, 2.2 * len(tracks) + 0.6),
                                 sharex=True, squeeze=False)
        for ax, (tid, pts) in zip(axes[:, 0], tracks, strict=True):
            _plot_track(ax, tid, pts, self.labels)
        axes[-1, 0].set_xlabel("time (s)")
        axes[-1, 0].set_xlim(left=0)
        if tracks[0][0] is not None:
            axes[0, 0].legend(loc="upper right", ncol=min(4, len(self.labels)), fontsize=7)
        fig.suptitle(title or "emotions over time", fontsize=10)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        return Path(path)


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Weighted mean of two timeline rows; the weight column adds up."""
    w = a[1] + b[1]
    merged = (a * a[1] + b * b[1]) / w
    merged[1] = w
    return merged


def _halve(pts: list[np.ndarray]) -> list[np.ndarray]:
    out = [_merge(a, b) for a, b in zip(pts[0::2], pts[1::2], strict=False)]
    if len(pts) % 2:
        out.append(pts[-1])
    return out


def _plot_track(ax, tid: int | None, arr: np.ndarray, labels: tuple[str, ...]) -> None:
    if tid is None or arr.size == 0:
        ax.text(0.5, 0.5, "no tracked faces", ha="center", va="center", transform=ax.transAxes)
        return
    for k, label in enumerate(labels):
        b, g, r = _COLORS.get(label, (160, 160, 160))
        ax.plot(arr[:, 0], arr[:, 2 + k], ".-", ms=2, lw=1, label=label,
                color=(r / 255, g / 255, b / 255))
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"track {tid}\nprobability", fontsize=8)
    ax.grid(alpha=0.3)


def results_document(pipeline_info: dict[str, Any], images: list[ImageResult],
                     videos: list[Any], outputs: dict[str, str] | None = None) -> dict[str, Any]:
    """The one JSON document of a predict run (stdout with --json, results.json on disk)."""
    return {"schema_version": RESULT_SCHEMA_VERSION, "pipeline": pipeline_info,
            "images": [r.to_dict() for r in images], "videos": [v.to_dict() for v in videos],
            "outputs": outputs or {}}


def write_results_json(path: str | os.PathLike[str], document: dict[str, Any]) -> Path:
    return atomic_write_json(path, document)


# --- a whole predict run: inputs → pipeline → output folder -----------------------------------

@dataclass(frozen=True)
class RunOptions:
    """Video options shared by ``ferkit predict`` and ``ferkit live`` (see Pipeline.iter_video)."""

    stride: int = 1
    detect_every: int = 1
    ema_alpha: float = 0.5
    max_frames: int | None = None
    annotate: bool = True
    window: bool = False


@dataclass
class RunReport:
    images: list[ImageResult] = field(default_factory=list)
    videos: list[VideoResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: int = 0
    #: the signal (SIGINT/SIGTERM) that stopped the run early, else None
    stopped_by: int | None = None
    stop_note: str = ""


class PredictRun:
    """Feed images and videos through one Pipeline, writing results into ``output_dir``.

    Files written (when ``output_dir`` is given): ``results.csv`` (one row per face per
    image/frame), ``results.json`` (the same document ``--json`` prints), ``annotated/`` images,
    ``<video>_annotated.mp4`` and ``<video>_timeline.png`` (names made unique when two inputs
    share a file name; ``outputs.annotated`` maps each image to its annotated copy). An input
    that cannot be read is recorded as a failure (``on_failure`` is called at once) and the run
    goes on. SIGINT/SIGTERM stop the run after the current frame: the video so far keeps its
    outputs and gets ``error`` "interrupted ...", later inputs are skipped, the files are
    written, and ``report.stopped_by`` tells the caller which signal it was.
    """

    def __init__(self, pipeline, output_dir: str | os.PathLike[str] | None = None,
                 options: RunOptions | None = None,
                 on_failure: Callable[[str, str], None] | None = None,
                 on_frame: Callable[[Any, ImageResult], None] | None = None) -> None:
        self.pipeline, self.options = pipeline, options or RunOptions()
        self.out = Path(output_dir) if output_dir is not None else None
        self.on_failure, self.on_frame = on_failure, on_frame
        self.csv: CsvWriter | None = None
        self._names: set[str] = set()
        self._stems: set[str] = set()
        self.stop = None

    def run(self, inputs: list[str | os.PathLike[str] | int]) -> RunReport:
        from ferkit.inference.video import is_video
        from ferkit.interrupt import StopRequest

        report = RunReport(inputs=len(inputs))
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            self.csv = CsvWriter(self.out / "results.csv", self.pipeline.labels)
        try:
            with StopRequest() as self.stop:
                images = [p for p in inputs if not isinstance(p, int) and not is_video(p)]
                self._images(images, report)
                for src in inputs:
                    if self.stop.requested:
                        break
                    if isinstance(src, int) or is_video(src):
                        self._video(src, report)
            if self.stop.requested:
                done = len(report.images) + len(report.videos)
                report.stopped_by = self.stop.signum
                report.stop_note = (f"stopped by {self.stop.name} after {done} of "
                                    f"{len(inputs)} inputs")
        finally:
            if self.csv is not None:
                self.csv.close()
        if self.out is not None:
            report.outputs["csv"] = str(self.out / "results.csv")
            report.outputs["json"] = str(self.out / "results.json")
            write_results_json(self.out / "results.json", self.document(report))
        return report

    def document(self, report: RunReport) -> dict[str, Any]:
        return results_document(self.pipeline.describe(), report.images, report.videos,
                                report.outputs)

    def _fail(self, report: RunReport, source: str, message: str) -> None:
        report.failures.append((source, message))
        if self.on_failure is not None:
            self.on_failure(source, message)

    def _images(self, paths: list, report: RunReport) -> None:
        for result, image in self.pipeline.predict_paths(paths, with_images=True):
            report.images.append(result)
            if result.error is not None:
                self._fail(report, result.source, result.error)
            else:
                self._image_outputs(result, image, report)
            if self.stop is not None and self.stop.requested:
                break

    def _image_outputs(self, result: ImageResult, image: np.ndarray, report: RunReport) -> None:
        if self.csv is not None:
            self.csv.write(result)
        if self.out is not None and self.options.annotate:
            name = self._unique(Path(result.source).stem + Path(result.source).suffix)
            path = write_image(self.out / "annotated" / name, annotate(image, result.faces))
            report.outputs.setdefault("annotated", {})[result.source] = str(path)
        if self.on_frame is not None:
            self.on_frame(None, result)

    def unique_stem(self, stem: str) -> str:
        """``stem``, or ``stem_2``, ``stem_3``... when another input already used it."""
        candidate, n = stem, 1
        while candidate in self._stems:
            n += 1
            candidate = f"{stem}_{n}"
        self._stems.add(candidate)
        return candidate

    def _unique(self, name: str) -> str:
        stem, suffix = Path(name).stem, Path(name).suffix.lower()
        suffix = suffix if suffix in (".jpg", ".jpeg", ".png", ".bmp") else ".png"
        candidate, n = stem + suffix, 1
        while candidate in self._names:
            n += 1
            candidate = f"{stem}_{n}{suffix}"
        self._names.add(candidate)
        return candidate

    def _video(self, source, report: RunReport) -> None:
        from ferkit.errors import MediaError
        from ferkit.inference.video import VideoReader

        try:
            reader = VideoReader(source)
        except MediaError as exc:
            report.videos.append(VideoResult(str(source), error=str(exc)))
            self._fail(report, str(source), str(exc))
            return
        writer = _VideoOutputs(self, reader)
        try:
            o = self.options
            result = self.pipeline.predict_video(
                reader, on_frame=writer.frame, stride=o.stride, detect_every=o.detect_every,
                ema_alpha=o.ema_alpha, max_frames=o.max_frames)
        except MediaError as exc:
            writer.close(ok=False)
            report.videos.append(VideoResult(reader.source, error=str(exc)))
            self._fail(report, reader.source, str(exc))
            return
        error = None
        if self.stop is not None and self.stop.requested:
            total = f" of {reader.frame_count}" if reader.frame_count else ""
            error = (f"interrupted by {self.stop.name} after {result.frames_read}{total} frames; "
                     "the results cover those frames")
        report.videos.append(dataclasses.replace(result, outputs=writer.close(ok=True),
                                                 error=error))


class _VideoOutputs:
    """Per-frame sinks of one video: CSV rows, annotated video, timeline, live window."""

    def __init__(self, run: PredictRun, reader) -> None:
        self.run, self.reader = run, reader
        self.timeline = Timeline(run.pipeline.labels)
        stem = Path(reader.source).stem if not reader.is_camera else reader.source.replace(
            ":", "")
        self.stem = run.unique_stem(stem)  # a/clip.mp4 and b/clip.mp4 → clip, clip_2
        self.sink: VideoSink | None = None
        self.display = _Display() if run.options.window else None

    def frame(self, frame, result: ImageResult) -> None:
        from ferkit.inference.video import StopVideo

        run = self.run
        if run.csv is not None:
            run.csv.write(result)
        self.timeline.add(result)
        drawn = None
        if run.out is not None and run.options.annotate:
            drawn = annotate(frame.image, result.faces)
            if self.sink is None:
                h, w = frame.image.shape[:2]
                fps = self.reader.fps / max(run.options.stride, 1)
                self.sink = VideoSink(run.out / f"{self.stem}_annotated.mp4", fps, (w, h))
            self.sink.write(drawn)
        if self.display is not None:
            self.display.show(drawn if drawn is not None else annotate(frame.image, result.faces))
        if run.on_frame is not None:
            run.on_frame(frame, result)
        if run.stop is not None and run.stop.requested:
            raise StopVideo  # after this frame is fully written

    def close(self, ok: bool) -> dict[str, str]:
        outputs: dict[str, str] = {}
        if self.sink is not None:
            self.sink.close(ok)
            if ok:
                outputs["annotated_video"] = str(self.sink.path)
        if self.display is not None:
            self.display.close()
        if ok and self.run.out is not None:
            png = self.run.out / f"{self.stem}_timeline.png"
            self.timeline.plot(png, title=f"emotions over time: {self.reader.source}")
            outputs["timeline"] = str(png)
        return outputs


class _Display:
    """A cv2 window when OpenCV has GUI support; otherwise disabled after one warning.
    Pressing q or Esc in the window stops the stream (StopVideo)."""

    def __init__(self) -> None:
        self.enabled = True

    def show(self, image: np.ndarray) -> None:
        import cv2

        from ferkit.inference.video import StopVideo

        if not self.enabled:
            return
        try:
            cv2.imshow("ferkit", image)
            key = cv2.waitKey(1) & 0xFF
        except cv2.error:
            self.enabled = False
            from ferkit.cli._common import warn

            warn("this OpenCV build cannot open windows (headless); continuing without one")
            return
        if key in (ord("q"), 27):
            raise StopVideo()

    def close(self) -> None:
        import cv2

        if self.enabled:
            with contextlib.suppress(cv2.error):
                cv2.destroyAllWindows()
