"""``ferkit predict`` (photos, folders, videos) and ``ferkit live`` (webcam): thin shells over
``ferkit.inference.Pipeline`` and ``PredictRun``. Video files and cameras share one code path.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ferkit.cli._common import check_output_dir, emit_json, info, one_of, out_console, warn


def _no_face_modes():
    from ferkit.inference.pipeline import NO_FACE_MODES

    return NO_FACE_MODES


def _fraction(value: float) -> float:
    """--smoothing: the weight of the newest frame, in (0, 1]."""
    if not 0.0 < value <= 1.0:
        raise typer.BadParameter(f"{value:g} is not in (0, 1]: it is the weight of the newest "
                                 "frame (1 = no smoothing, 0.5 = the default)")
    return value

_MODEL = typer.Option(None, "--model", "-m", help="A bundled model name (default, fast, "
                      "accurate), a .safetensors checkpoint or an exported .onnx. Default: the "
                      "bundled default model (its INT8 ONNX file).")
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
_MINCONF = typer.Option(0.0, "--min-confidence", min=0.0, max=1.0,
                        help="Below this top probability the label is 'uncertain'.")
_TTA = typer.Option(False, "--flip-tta", help="Average with the mirrored face.")
_STRIDE = typer.Option(1, "--stride", min=1, help="Video: process every N-th frame.")
_EVERY = typer.Option(3, "--detect-every", min=1,
                      help="Video: run the detector every K-th processed frame; the tracker "
                      "carries boxes in between (1 = every frame).")
_EMA = typer.Option(0.5, "--smoothing", callback=_fraction,
                    help="Video: EMA weight of the newest probabilities per track, in (0, 1] "
                    "(1 = no smoothing).")
_MAXF = typer.Option(None, "--max-frames", min=1, help="Video: stop after N processed frames.")
_THREADS = typer.Option(0, "--threads", min=0,
                        help="Classifier CPU threads. 0 = auto: 1 when a video or camera is "
                        "read (per-frame batches are tiny; extra threads only contend with "
                        "OpenCV), the torch default otherwise.")
_NOFACE = typer.Option("skip", "--no-face-mode", callback=one_of(_no_face_modes),
                       help="Images without a detected face: skip (empty result), whole-image "
                       "(classify the whole image) or error.")
_MAXPIX = typer.Option(None, "--max-pixels", min=1, help="Refuse images with more pixels than "
                       "this (read from the header, before decoding; guards against "
                       "decompression bombs). Default: $FERKIT_MAX_PIXELS or 64000000.")


def _pipeline(model, detector, yunet_model, detector_option, backend, min_confidence,
              flip_tta, no_face_mode, threads=None, max_pixels=None, detect=True):
    from ferkit.faces import DEFAULT_DETECTOR
    from ferkit.inference.pipeline import Pipeline

    if not detect:
        given = [f for f, v in (("--detector", detector), ("--detector-option",
                                                            list(detector_option or [])),
                                ("--yunet-model", yunet_model)) if v]
        if given:
            raise typer.BadParameter(f"{' and '.join(given)} cannot be combined with --no-detect",
                                     param_hint="--no-detect")
        name, options = None, {}
    else:
        name = detector or DEFAULT_DETECTOR
        options = _detector_options(name, detector_option)
        if yunet_model is not None:
            if name != "yunet":
                raise typer.BadParameter(f"it is for --detector yunet, but the detector is "
                                         f"{name!r}; add --detector yunet or drop it",
                                         param_hint="--yunet-model")
            options["model_path"] = str(yunet_model)
    return Pipeline(model, detector=name, backend=backend, min_confidence=min_confidence,
                    flip_tta=flip_tta, no_face_mode=no_face_mode, detector_options=options,
                    backend_options={"threads": threads} if threads else None,
                    max_pixels=max_pixels)


def _detector_options(detector: str, items: list[str]) -> dict:
    """-D KEY=VALUE checked against the detector's parameters: a bad one is a usage error."""
    from ferkit.config import parse_overrides
    from ferkit.errors import ConfigError
    from ferkit.faces import DETECTORS
    from ferkit.faces.options import check_detector_options

    try:
        return check_detector_options(detector, DETECTORS.get(detector),
                                      parse_overrides(list(items)))
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="-D/--detector-option") from None


def _refuse_oversized(inputs, max_pixels: int | None) -> None:
    """When every input is an over-limit image, fail before loading any model (a bomb costs
    milliseconds); otherwise those files are reported one by one during the run."""
    from ferkit.errors import MediaError
    from ferkit.imagelimits import check_file
    from ferkit.inference.video import is_video

    if any(is_video(p) for p in inputs):
        return
    problems = []
    for path in inputs:
        problem = check_file(path, max_pixels)
        if problem is None:
            return
        problems.append(problem)
    raise MediaError(problems[0] if len(problems) == 1 else
                     f"all {len(problems)} inputs are over the pixel limit; first: {problems[0]}")


def _threads(threads: int, video: bool) -> int | None:
    """Classifier threads: --threads, else 1 for video/camera, else None (backend default)."""
    return threads or (1 if video else None)


def _finish(run, report, json_out: bool) -> None:
    """Print results (table or JSON); exit 1 only if every input failed, 130/143 when a
    signal stopped the run (after printing and writing what was done)."""
    from ferkit.errors import MediaError

    if report.inputs and len(report.failures) == report.inputs:
        if report.inputs == 1:
            raise MediaError(report.failures[0][1])
        raise MediaError(f"all {report.inputs} inputs failed (see the warnings above)")
    if json_out:
        emit_json(run.document(report))
    else:
        _print_table(report)
    if "json" in report.outputs:
        info(f"wrote {Path(report.outputs['json']).parent}/ (results.json, results.csv, "
             f"annotations)")
    if report.stopped_by is not None:
        from ferkit.interrupt import Interrupted

        kept = ("; the results so far are complete in the files above" if "json" in
                report.outputs else "; the results so far are shown above")
        raise Interrupted(report.stop_note + kept, report.stopped_by)


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
        no_face_mode: str = _NOFACE, threads: int = _THREADS, max_pixels: int | None = _MAXPIX,
        no_detect: bool = _NODETECT,
    ) -> None:
        """Detect faces and predict emotions in photos, folders and video files."""
        from ferkit.inference.outputs import PredictRun, RunOptions
        from ferkit.inference.pipeline import SAMPLE_IMAGE
        from ferkit.inference.video import expand_inputs, is_video

        paths = [*(paths or []), *([SAMPLE_IMAGE] if sample else [])]
        if not paths:
            raise typer.BadParameter("give at least one PATH (or --sample)", param_hint="PATHS")
        check_output_dir(output)
        inputs = expand_inputs(paths)
        _refuse_oversized(inputs, max_pixels)
        n_threads = _threads(threads, any(is_video(p) for p in inputs))
        pipe = _pipeline(model, detector, yunet_model, detector_option, backend,
                         min_confidence, flip_tta, no_face_mode, n_threads, max_pixels,
                         not no_detect)
        options = RunOptions(stride=stride, detect_every=detect_every, ema_alpha=smoothing,
                             max_frames=max_frames)
        on_failure = (lambda src, msg: warn(f"skipped {src}: {msg}")) if len(inputs) > 1 else None
        run = PredictRun(pipe, output, options, on_failure=on_failure)
        _finish(run, run.run(inputs), json_out)

    @app.command("live")
    def live(
        camera: int = typer.Option(0, "--camera", "-c", min=0, help="Camera index (0 = the "
                                   "first camera)."),
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

        check_output_dir(output)
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
