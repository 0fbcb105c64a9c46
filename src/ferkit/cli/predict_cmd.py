"""``ferkit predict`` (photos, folders, videos) and ``ferkit live`` (webcam): thin shells over
``ferkit.inference.Pipeline`` and ``PredictRun``. Video files and cameras share one code path.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ferkit.cli._common import emit_json, info, out_console, warn

_MODEL = typer.Option(None, "--model", "-m", help="A bundled model name (default, fast), a "
                      ".safetensors checkpoint or an exported .onnx. Default: the bundled "
                      "default model (its INT8 ONNX file).")
_DETECTOR = typer.Option(None, "--detector", "-d", help="Face detector (default: mtcnn): mtcnn, "
                         "haar, haar-default, blazeface, blazeface-full, dlib-hog, dlib-cnn, "
                         "yunet.")
_NODETECT = typer.Option(False, "--no-detect", help="The inputs are already face crops: classify "
                         "each whole image as one face (no detection, no margin).")
_YUNET = typer.Option(None, "--yunet-model", help="YuNet ONNX file (for --detector yunet).")
_DOPT = typer.Option([], "--detector-option", "-D", help="Detector option KEY=VALUE "
                     "(e.g. max_side=640, min_neighbors=4, eyes=true); repeatable.")
_BACKEND = typer.Option("auto", "--backend", help="Classifier backend: auto (ONNX Runtime for "
                        ".onnx files, torch for checkpoints), torch or onnx.")
_OUTPUT = typer.Option(None, "--output", "-o", help="Write results.json, results.csv, "
                       "annotated images/videos and timeline PNGs into this folder.")
_JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")
_MINCONF = typer.Option(0.0, "--min-confidence", help="Below this top probability the "
                        "label is 'uncertain'.")
_TTA = typer.Option(False, "--flip-tta", help="Average with the mirrored face.")
_STRIDE = typer.Option(1, "--stride", help="Video: process every N-th frame.")
_EVERY = typer.Option(3, "--detect-every", help="Video: run the detector every K-th processed "
                      "frame; the tracker carries boxes in between (1 = every frame).")
_EMA = typer.Option(0.5, "--smoothing", help="Video: EMA weight of the newest probabilities "
                    "per track (1 = no smoothing).")
_MAXF = typer.Option(None, "--max-frames", help="Video: stop after N processed frames.")
_THREADS = typer.Option(0, "--threads", help="Classifier CPU threads. 0 = auto: 1 when a video or "
                        "camera is read (per-frame batches are tiny; extra threads only contend "
                        "with OpenCV), the torch default otherwise.")
_NOFACE = typer.Option("skip", "--no-face-mode", help="Images without a detected face: skip "
                       "(empty result), whole-image (classify the whole image) or error.")


def _pipeline(model, detector, yunet_model, detector_option, backend, min_confidence,
              flip_tta, no_face_mode, threads=None, detect=True):
    from ferkit.config import parse_overrides
    from ferkit.faces import DEFAULT_DETECTOR
    from ferkit.inference.pipeline import Pipeline

    options = parse_overrides(list(detector_option))
    if yunet_model is not None:
        options["model_path"] = str(yunet_model)
    if not detect:
        given = [f for f, v in (("--detector", detector), ("--detector-option", options)) if v]
        if given:
            raise typer.BadParameter(f"{' and '.join(given)} cannot be combined with --no-detect",
                                     param_hint="--no-detect")
        detector = None
    else:
        detector = detector or DEFAULT_DETECTOR
    return Pipeline(model, detector=detector, backend=backend, min_confidence=min_confidence,
                    flip_tta=flip_tta, no_face_mode=no_face_mode, detector_options=options,
                    backend_options={"threads": threads} if threads else None)


def _threads(threads: int, video: bool) -> int | None:
    """Classifier threads: --threads, else 1 for video/camera, else None (backend default)."""
    from ferkit.errors import ConfigError

    if threads < 0:
        raise ConfigError(f"--threads must be >= 0, got {threads}")
    return threads or (1 if video else None)


def _finish(run, report, json_out: bool) -> None:
    """Print results (table or JSON); exit 1 only if every input failed."""
    from ferkit.errors import MediaError

    if report.inputs and len(report.failures) == report.inputs:
        if report.inputs == 1:
            raise MediaError(report.failures[0][1])
        raise MediaError(f"all {report.inputs} inputs failed (see the warnings above)")
    if json_out:
        emit_json(run.document(report))
    else:
        _print_table(report)
    if report.outputs:
        info(f"wrote {Path(report.outputs['json']).parent}/ (results.json, results.csv, "
             f"annotations)")


def _short(source: str) -> str:
    """Display name: relative to the working folder when inside it, else the last two parts."""
    p = Path(source)
    try:
        return str(p.resolve().relative_to(Path.cwd()))
    except ValueError:
        return source if len(p.parts) <= 3 else str(Path("…", *p.parts[-2:]))


def _print_table(report) -> None:
    from rich.table import Table

    table = Table(show_lines=False)
    table.add_column("source", overflow="fold")
    for col in ("face/track", "box x,y,w,h / time", "label", "confidence", "flags"):
        table.add_column(col)
    for r in report.images:
        if r.error is not None:
            continue
        if not r.faces:
            table.add_row(_short(r.source), "-", "-", "no face", "-", "")
        for i, f in enumerate(r.faces, 1):
            b = f.bbox
            table.add_row(_short(r.source), str(i), f"{b.x:.0f},{b.y:.0f},{b.w:.0f},{b.h:.0f}",
                          f.label, f"{f.confidence:.2f}", ",".join(f.flags))
    for v in report.videos:
        if v.error is not None:
            continue
        if not v.tracks:
            table.add_row(_short(v.source), "-", "-", "no face", "-",
                          f"{v.frames_processed} frames")
        for t in v.tracks:
            table.add_row(_short(v.source), f"track {t.track_id}", f"{t.first_timestamp:.1f}-"
                          f"{t.last_timestamp:.1f}s", t.label, f"{t.mean_probs[t.label]:.2f}",
                          f"{t.num_frames} frames")
    out_console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``predict`` and ``live`` to ``app``."""

    @app.command("predict")
    def predict(
        paths: list[Path] = typer.Argument(None, help="Images, folders (recursive) or videos."),
        sample: bool = typer.Option(False, "--sample", help="Also run on the bundled sample "
                                    "photo (a quick check that everything works)."),
        model: str | None = _MODEL, detector: str = _DETECTOR, yunet_model: Path | None = _YUNET,
        detector_option: list[str] = _DOPT, backend: str = _BACKEND,
        output: Path | None = _OUTPUT, json_out: bool = _JSON,
        min_confidence: float = _MINCONF, flip_tta: bool = _TTA, stride: int = _STRIDE,
        detect_every: int = _EVERY, smoothing: float = _EMA, max_frames: int | None = _MAXF,
        no_face_mode: str = _NOFACE, threads: int = _THREADS, no_detect: bool = _NODETECT,
    ) -> None:
        """Detect faces and predict emotions in photos, folders and video files."""
        from ferkit.inference.outputs import PredictRun, RunOptions
        from ferkit.inference.pipeline import SAMPLE_IMAGE
        from ferkit.inference.video import expand_inputs, is_video

        paths = [*(paths or []), *([SAMPLE_IMAGE] if sample else [])]
        if not paths:
            raise typer.BadParameter("give at least one PATH (or --sample)", param_hint="PATHS")
        inputs = expand_inputs(paths)
        n_threads = _threads(threads, any(is_video(p) for p in inputs))
        pipe = _pipeline(model, detector, yunet_model, detector_option, backend,
                         min_confidence, flip_tta, no_face_mode, n_threads, not no_detect)
        options = RunOptions(stride=stride, detect_every=detect_every, ema_alpha=smoothing,
                             max_frames=max_frames)
        on_failure = (lambda src, msg: warn(f"skipped {src}: {msg}")) if len(inputs) > 1 else None
        run = PredictRun(pipe, output, options, on_failure=on_failure)
        _finish(run, run.run(inputs), json_out)

    @app.command("live")
    def live(
        camera: int = typer.Option(0, "--camera", "-c", help="Camera index."),
        model: str | None = _MODEL, detector: str = _DETECTOR, yunet_model: Path | None = _YUNET,
        detector_option: list[str] = _DOPT, backend: str = _BACKEND,
        output: Path | None = _OUTPUT, json_out: bool = _JSON,
        min_confidence: float = _MINCONF, stride: int = _STRIDE, detect_every: int = _EVERY,
        smoothing: float = _EMA, max_frames: int | None = _MAXF, threads: int = _THREADS,
        window: bool | None = typer.Option(None, "--window/--no-window", help="Show a window "
                                           "(default: only when a display is available)."),
        source_video: Path | None = typer.Option(None, "--source-video", hidden=True,
                                                 help="Read this video instead of a camera."),
    ) -> None:
        """Webcam emotions in real time (Ctrl-C or q stops; same code path as video files)."""
        from ferkit.inference.outputs import PredictRun, RunOptions

        show = bool(os.environ.get("DISPLAY")) if window is None else window
        pipe = _pipeline(model, detector, yunet_model, detector_option, backend,
                         min_confidence, False, "skip", _threads(threads, True))
        options = RunOptions(stride=stride, detect_every=detect_every, ema_alpha=smoothing,
                             max_frames=max_frames, window=show)
        run = PredictRun(pipe, output, options, on_frame=_LiveStatus())
        source = str(source_video) if source_video is not None else camera
        _finish(run, run.run([source]), json_out)


class _LiveStatus:
    """One status line per second of stream time on stderr (labels of the tracked faces)."""

    def __init__(self) -> None:
        self.next_t = 0.0

    def __call__(self, frame, result) -> None:
        if frame is None or frame.timestamp < self.next_t:
            return
        self.next_t = frame.timestamp + 1.0
        faces = ", ".join(f"#{f.track_id} {f.label} {f.confidence:.2f}" for f in result.faces)
        info(f"{frame.timestamp:6.1f}s frame {frame.index}: {faces or 'no face'}")
