"""``evaluate(checkpoint, data, split, tta) -> EvalReport``: metrics, plots and a versioned JSON.

Works on any dataset format ``ferkit.data.load_dataset`` reads, including cross-dataset runs
(``ferkit.eval.crossdata``): labels are matched by name (plus ``label_map``); model classes
missing from the data are listed in ``absent_classes``; data classes the model does not know raise
``DataError``, or with ``unknown_classes='drop'`` are left out and counted in ``dropped``.
``detect='haar'`` evaluates through the face pipeline (images without a found face count as
errors, per class in ``faces_not_found``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ferkit import __version__
from ferkit.bundled import resolve_model
from ferkit.checkpoint import load_model
from ferkit.errors import ConfigError
from ferkit.eval.calibration import nll, reliability_bins, softmax
from ferkit.eval.metrics import compute_metrics
from ferkit.io import atomic_write_json, check_writable_dir, to_jsonable

#: bump when a field is renamed or removed (adding fields keeps the version)
SCHEMA_VERSION = 1


@dataclass
class EvalReport:
    """One evaluation; ``to_dict()`` is the stable JSON schema (``schema_version``)."""

    checkpoint: str
    model: str
    data: str
    split: str
    tta: str
    num_samples: int
    accuracy: float
    macro_f1: float
    balanced_accuracy: float
    ece: float
    nll: float
    temperature: float
    labels: list[str]
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    absent_classes: list[str] = field(default_factory=list)
    source: str = ""  # the model as given: a bundled name (default, fast) or a path
    data_format: str = ""
    dropped: dict[str, int] = field(default_factory=dict)  # data class → images left out
    label_map: dict[str, str] = field(default_factory=dict)  # data class → model label
    detector: str | None = None  # evaluated through face detection with this detector
    shift: str = "none"  # camera shift applied to the images first (ferkit.eval.shifts)
    faces_not_found: dict[str, int] = field(default_factory=dict)  # true class → images
    held_out: bool = True  # False: the model trained on this split (a train+val fine-tune)
    data_fingerprint: str = ""
    checkpoint_fingerprint: str = ""
    files: dict[str, str] = field(default_factory=dict)
    ferkit_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


def map_labels(data_classes: tuple[str, ...], model_labels: tuple[str, ...], labels: np.ndarray,
               where: str) -> np.ndarray:
    """Data label indices → model label indices by name (unknown classes: DataError)."""
    from ferkit.eval.crossdata import match_labels

    return match_labels(data_classes, model_labels, labels, where).y


def data_color(meta) -> str:
    """The colour mode a model was trained on: its config's ``data.color``, else its channels."""
    color = (meta.config or {}).get("data", {}).get("color")
    return str(color or ("rgb" if meta.info.in_chans == 3 else "gray"))


def _load(data: Any, split: str, color: str, format: str | None):
    from ferkit.data import load_dataset

    dataset = data if hasattr(data, "splits") else load_dataset(data, format=format, color=color)
    return dataset, dataset.split(split)


def _progress_fn(total: int, enabled: bool):
    if not enabled:
        return None, None
    from rich.progress import Progress

    from ferkit.cli._common import err_console

    bar = Progress(console=err_console, transient=True)
    task = bar.add_task("evaluating", total=total)
    bar.start()
    return bar, (lambda n: bar.advance(task, n))


def file_digest(path: Path) -> str:
    """A report's ``checkpoint_fingerprint``: who pins a report on a file compares with this."""
    from ferkit.io import file_sha256

    return file_sha256(path)[:16]


def evaluate(checkpoint: str | os.PathLike[str], data: Any, split: str | None = None,
             tta: str = "none", *, output: str | os.PathLike[str] | None = None,
             tsne: bool = False, batch_size: int = 256, format: str | None = None,
             device: str = "cpu", progress: bool = True, crop_fraction: float | None = None,
             unknown_classes: str = "error", label_map: dict[str, str] | None = None,
             detect: str | None = None, shift: str = "none", shift_seed: int = 0) -> EvalReport:
    """Evaluate a ferkit checkpoint on ``data`` (a path or a loaded ``Dataset``) split ``split``.

    ``split`` None takes val, else test, else train. ``checkpoint`` may be a bundled model name.
    With ``output``, writes ``report.json``, ``confusion_matrix.{json,png}``, ``per_class.png``,
    ``reliability.png`` (and ``tsne.png`` with ``tsne=True``) there. ``shift`` changes the
    images first as another camera would (``ferkit.eval.shifts``; seeded by ``shift_seed``).
    """
    from ferkit.device import check_device
    from ferkit.ensemble.tta import DEFAULT_CROP_FRACTION, get_tta, predict_logits
    from ferkit.eval.crossdata import match_labels, pick_split
    from ferkit.eval.shifts import SHIFTS, apply_shift

    get_tta(tta)  # unknown mode → UnknownNameError before any work
    SHIFTS.get(shift)
    if detect and shift != "none":
        raise ConfigError("--shift changes dataset crops; it cannot be combined with --detect "
                          "(full photos go through the face detector unchanged)")
    check_device(device)
    if output is not None:
        check_writable_dir(output)
    source = str(checkpoint)
    # a bundled name → the file predict runs (its float checkpoint when t-SNE needs features)
    checkpoint = resolve_model(checkpoint, "torch" if tsne else "auto")
    if tsne and (Path(checkpoint).suffix == ".onnx" or detect):
        raise ConfigError(f"--tsne needs the model's features on dataset images: evaluate the "
                          f".safetensors checkpoint that {str(checkpoint)!r} was exported from, "
                          "without --detect")
    if detect and tta not in ("none", "flip"):
        raise ConfigError(f"--detect supports --tta none or flip (as predict does), not {tta!r}")
    model, meta = _load_classifier(checkpoint, device)
    info = meta.info
    dataset = data if hasattr(data, "splits") else None
    if dataset is None:
        from ferkit.data import load_dataset

        dataset = load_dataset(data, format=format, color=data_color(meta))
    split = pick_split(dataset, split)
    arrays = dataset.split(split)
    where = f"dataset {str(dataset.root)!r} split {split!r}"
    match = match_labels(tuple(dataset.classes), tuple(info.labels), arrays.labels, where,
                         unknown_classes, label_map)
    y = match.y
    images = arrays.images[match.keep] if not match.keep.all() else arrays.images
    images = apply_shift(shift, images, shift_seed)
    bar, advance = _progress_fn(len(y), progress)
    try:
        if detect:
            report, logits, y_plot = _detect_scores(checkpoint, arrays.paths, match, detect, tta,
                                                    tuple(info.labels), advance)
        else:
            cf = crop_fraction or meta.extra.get("crop_fraction") or DEFAULT_CROP_FRACTION
            logits = predict_logits(model, images, info, tta, batch_size=batch_size,
                                    device=device, crop_fraction=cf, progress=advance)
            report, y_plot = build_report(logits, y, info.labels, meta.temperature), y
    finally:
        if bar is not None:
            bar.stop()
    report = dataclasses.replace(
        report, checkpoint=str(checkpoint), model=meta.model, data=str(dataset.root),
        split=split, tta=tta, shift=shift, data_fingerprint=dataset.fingerprint, source=source,
        data_format=dataset.format, dropped=match.dropped,
        held_out=not meta.trained_on(dataset.fingerprint, split),
        label_map={k: v for k, v in match.mapping.items() if k != v},
        checkpoint_fingerprint=file_digest(Path(checkpoint)))
    if output is not None:
        report = write_report(report, logits, y_plot, Path(output))
        if tsne:
            report.files["tsne"] = str(write_tsne(model, images, y, info, Path(output), device))
            atomic_write_json(Path(output) / "report.json", report.to_dict())
    return report


def _detect_scores(checkpoint: Path, paths: list[str], match, detector: str, tta: str,
                   labels: tuple[str, ...], progress) -> tuple[EvalReport, np.ndarray, np.ndarray]:
    """(report, log-probabilities and labels of the found faces, for plots) through the face
    pipeline; the probabilities are already calibrated, so their log acts as T=1 logits."""
    from ferkit.eval.crossdata import detect_probabilities

    kept = [p for p, k in zip(paths, match.keep, strict=True) if k]
    det = detect_probabilities(checkpoint, kept, detector, flip=tta == "flip", progress=progress)
    report = build_detect_report(det.probs, det.found, match.y, labels)
    report.detector = detector
    return report, np.log(np.clip(det.probs[det.found], 1e-12, None)), match.y[det.found]


def evaluate_many(checkpoint: str | os.PathLike[str], datasets: list[Any], *,
                  output: str | os.PathLike[str] | None = None, **kwargs: Any
                  ) -> list[EvalReport]:
    """``evaluate`` on several datasets (cross-dataset evaluation); with ``output``, each
    report goes to ``output/<i>-<dataset name>/`` (one dataset: ``output`` itself)."""
    reports = []
    for i, data in enumerate(datasets):
        name = Path(str(getattr(data, "root", data))).name or f"data{i}"
        out = None if output is None else (
            Path(output) if len(datasets) == 1 else Path(output) / f"{i}-{name}")
        reports.append(evaluate(checkpoint, data, output=out, **kwargs))
    return reports


def evaluate_shifts(checkpoint: str | os.PathLike[str], data: Any, shifts: list[str], *,
                    output: str | os.PathLike[str] | None = None, format: str | None = None,
                    **kwargs: Any) -> list[EvalReport]:
    """``evaluate`` once per camera shift (a dataset path is decoded once: ``load_dataset``
    caches the arrays); with ``output``, each report goes to ``output/shift-<name>/`` and
    ``shifts.{json,png}`` compare them."""
    if output is not None:
        check_writable_dir(output)
    reports = [evaluate(checkpoint, data, shift=name, format=format,
                        output=None if output is None else Path(output) / f"shift-{name}",
                        **kwargs) for name in shifts]
    if output is not None:
        from ferkit.eval.plots import plot_shifts

        rows = shift_table(reports)
        atomic_write_json(Path(output) / "shifts.json", {"source": reports[0].source,
                                                         "data": reports[0].data,
                                                         "split": reports[0].split,
                                                         "tta": reports[0].tta, "rows": rows})
        plot_shifts(rows, Path(output) / "shifts.png",
                    title=f"{reports[0].source} under camera shifts ({reports[0].split})")
    return reports


def shift_table(reports: list[EvalReport]) -> list[dict[str, Any]]:
    """One row per shift: accuracy, macro-F1 and the change from the unshifted images (when
    ``none`` is among them)."""
    base = next((r for r in reports if r.shift == "none"), None)
    return [{"shift": r.shift, "accuracy": r.accuracy, "macro_f1": r.macro_f1,
             "delta": None if base is None else r.accuracy - base.accuracy,
             "n": r.num_samples} for r in reports]


@dataclass(frozen=True)
class _ClassifierMeta:
    """The parts of a checkpoint's metadata evaluation needs, from .safetensors or .onnx."""

    model: str
    info: Any
    temperature: float
    config: dict[str, Any]
    extra: dict[str, Any]
    data_fingerprint: str = ""

    def trained_on(self, dataset_fingerprint: str, split: str) -> bool:
        """Whether the model's training included this very split of this very data.

        Its train split always; its val split too after a last fine-tune on train+val
        (``data.train_on``), which leaves no held-out val. A reading there is a training
        figure, which ``evaluate`` marks (``held_out: false``) so that no report, card or table
        passes it off as a measurement. Data is matched by content fingerprint, so a copy is
        recognised but a subset (e.g. ``tools/proxy_split.py``'s halves) is not."""
        if not self.data_fingerprint or self.data_fingerprint != dataset_fingerprint:
            return False
        return split == "train" or (self.extra.get("train_on") == "train+val"
                                    and split == self.extra.get("val_split", "val"))


class _OnnxModule:
    """An ONNX Runtime session called like a torch model on normalised tensors, so that the
    same TTA code evaluates float checkpoints and (quantized) ONNX files."""

    def __init__(self, backend) -> None:
        self.backend = backend

    def eval(self) -> _OnnxModule:
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        feed = {self.backend.input_name: np.ascontiguousarray(x.cpu().numpy())}
        return torch.from_numpy(self.backend.session.run(None, feed)[0])


def _load_classifier(path: str | os.PathLike[str], device: str):
    """(callable model, _ClassifierMeta): torch for checkpoints, ONNX Runtime for .onnx."""
    if Path(path).suffix == ".onnx":
        from ferkit.inference.backends import OnnxBackend

        backend = OnnxBackend(path)
        full = backend.meta.meta or {}
        return _OnnxModule(backend), _ClassifierMeta(
            backend.meta.model, backend.info, backend.temperature, full.get("config") or {},
            full.get("extra") or {}, full.get("data_fingerprint") or "")
    model, meta = load_model(path)
    model.to(device)
    return model, _ClassifierMeta(meta.model, meta.info, float(meta.temperature or 1.0),
                                  meta.config or {}, meta.extra or {},
                                  meta.data_fingerprint or "")


def build_report(logits: np.ndarray, y: np.ndarray, labels: tuple[str, ...],
                 temperature: float = 1.0) -> EvalReport:
    """Metrics from logits and true model-label indices (no files written)."""
    probs = softmax(logits, temperature)
    pred = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
    m = compute_metrics(y, pred, labels)
    return EvalReport(
        checkpoint="", model="", data="", split="", tta="", num_samples=int(len(y)),
        accuracy=m.accuracy, macro_f1=m.macro_f1, balanced_accuracy=m.balanced_accuracy,
        ece=reliability_bins(probs, y).ece if len(y) else float("nan"),
        nll=nll(logits, y, temperature) if len(y) else float("nan"),
        temperature=float(temperature), labels=list(labels),
        per_class={k: dataclasses.asdict(v) for k, v in m.per_class.items()},
        confusion_matrix=m.confusion, absent_classes=m.absent_classes,
    )


def build_detect_report(probs: np.ndarray, found: np.ndarray, y: np.ndarray,
                        labels: tuple[str, ...]) -> EvalReport:
    """Metrics where images without a detected face count as errors.

    Accuracy, macro-F1, balanced accuracy and per-class recall count a missed face as a wrong
    prediction (it is scored as an extra, never-true class); the confusion matrix, ECE and NLL
    cover the images whose face was found (probabilities are already calibrated).
    """
    k = len(labels)
    pred = np.full(len(y), k, dtype=np.int64)
    pred[found] = probs[found].argmax(axis=1)
    m = compute_metrics(y, pred, (*labels, "(no face)"))
    pf, yf = probs[found], y[found]
    cm = np.asarray(m.confusion, dtype=np.int64)[:k, :k].tolist()
    missed = {labels[i]: int(((y == i) & ~found).sum()) for i in range(k)
              if ((y == i) & ~found).any()}
    return EvalReport(
        checkpoint="", model="", data="", split="", tta="", num_samples=int(len(y)),
        accuracy=m.accuracy, macro_f1=m.macro_f1, balanced_accuracy=m.balanced_accuracy,
        ece=reliability_bins(pf, yf).ece if len(yf) else float("nan"),
        nll=float(-np.mean(np.log(np.clip(pf[np.arange(len(yf)), yf], 1e-12, None))))
        if len(yf) else float("nan"),
        temperature=1.0, labels=list(labels),
        per_class={c: dataclasses.asdict(v) for c, v in m.per_class.items() if c in labels},
        confusion_matrix=cm, absent_classes=[c for c in m.absent_classes if c in labels],
        faces_not_found=missed)


def write_report(report: EvalReport, logits: np.ndarray, y: np.ndarray, out: Path) -> EvalReport:
    from ferkit.eval.plots import plot_confusion, plot_per_class, plot_reliability

    out.mkdir(parents=True, exist_ok=True)
    probs = softmax(logits, report.temperature)
    cm_json = atomic_write_json(out / "confusion_matrix.json",
                                {"labels": report.labels, "rows": "true", "columns": "predicted",
                                 "matrix": report.confusion_matrix})
    files = {
        "report": str(out / "report.json"),
        "confusion_matrix_json": str(cm_json),
        "confusion_matrix_png": str(plot_confusion(report.confusion_matrix, report.labels,
                                                   out / "confusion_matrix.png")),
        "per_class_png": str(plot_per_class(report.per_class, out / "per_class.png")),
        "reliability_png": str(plot_reliability(reliability_bins(probs, y),
                                                out / "reliability.png", report.ece)),
    }
    report = dataclasses.replace(report, files=files)
    atomic_write_json(out / "report.json", report.to_dict())
    return report


@torch.inference_mode()
def write_tsne(model: torch.nn.Module, images: np.ndarray, y: np.ndarray, info, out: Path,
               device: str = "cpu", max_points: int = 2000, seed: int = 0) -> Path:
    """t-SNE of ``model.forward_features`` for up to ``max_points`` samples."""
    from sklearn.manifold import TSNE

    from ferkit.eval.plots import plot_tsne
    from ferkit.preprocess import to_model_input

    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(len(y))[:max_points])
    feats = [model.forward_features(to_model_input(images[keep[i:i + 256]], info).to(device))
             .flatten(1).float().cpu().numpy() for i in range(0, len(keep), 256)]
    f = np.concatenate(feats)
    perplexity = float(min(30.0, max(2.0, (len(f) - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    emb = tsne.fit_transform(f)
    return plot_tsne(emb, y[keep], list(info.labels), out / "tsne.png")
