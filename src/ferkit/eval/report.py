"""``evaluate(checkpoint, data, split, tta) -> EvalReport``: metrics, plots and a versioned JSON.

Works on any dataset format ``ferkit.data.load_dataset`` reads, including cross-dataset runs:
labels are matched by canonical name; model classes missing from the data are listed in
``absent_classes``; data classes the model does not know raise ``DataError``.
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
from ferkit.errors import ConfigError, DataError
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
    data_fingerprint: str = ""
    checkpoint_fingerprint: str = ""
    files: dict[str, str] = field(default_factory=dict)
    ferkit_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


def map_labels(data_classes: tuple[str, ...], model_labels: tuple[str, ...], labels: np.ndarray,
               where: str) -> np.ndarray:
    """Data label indices → model label indices by canonical name (unknown classes: DataError)."""
    present = np.unique(labels)
    unknown = [data_classes[i] for i in present if data_classes[i] not in model_labels]
    if unknown:
        raise DataError(f"{where} has class(es) {', '.join(map(repr, unknown))} that the model "
                        f"does not know (model labels: {', '.join(model_labels)}); evaluate "
                        "on data with the model's classes only")
    lut = np.array([model_labels.index(c) if c in model_labels else -1 for c in data_classes])
    return lut[labels]


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


def _file_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def evaluate(checkpoint: str | os.PathLike[str], data: Any, split: str = "val",
             tta: str = "none", *, output: str | os.PathLike[str] | None = None,
             tsne: bool = False, batch_size: int = 256, format: str | None = None,
             device: str = "cpu", progress: bool = True,
             crop_fraction: float | None = None) -> EvalReport:
    """Evaluate a ferkit checkpoint on ``data`` (a path or a loaded ``Dataset``) split ``split``.

    With ``output``, writes ``report.json``, ``confusion_matrix.{json,png}``, ``per_class.png``,
    ``reliability.png`` (and ``tsne.png`` with ``tsne=True``) there.
    """
    from ferkit.device import check_device
    from ferkit.ensemble.tta import DEFAULT_CROP_FRACTION, get_tta, predict_logits

    get_tta(tta)  # unknown mode → UnknownNameError before any work
    check_device(device)
    if output is not None:
        check_writable_dir(output)
    # a bundled name → the file predict runs (its float checkpoint when t-SNE needs features)
    checkpoint = resolve_model(checkpoint, "torch" if tsne else "auto")
    if tsne and Path(checkpoint).suffix == ".onnx":
        raise ConfigError(f"--tsne needs the model's features, which an ONNX file does not "
                          f"expose: evaluate the .safetensors checkpoint that "
                          f"{str(checkpoint)!r} was exported from")
    model, meta = _load_classifier(checkpoint, device)
    info = meta.info
    dataset, arrays = _load(data, split, data_color(meta), format)
    where = f"dataset {str(dataset.root)!r} split {split!r}"
    y = map_labels(tuple(dataset.classes), tuple(info.labels), arrays.labels, where)
    cf = crop_fraction or meta.extra.get("crop_fraction") or DEFAULT_CROP_FRACTION
    bar, advance = _progress_fn(len(y), progress)
    try:
        logits = predict_logits(model, arrays.images, info, tta, batch_size=batch_size,
                                device=device, crop_fraction=cf, progress=advance)
    finally:
        if bar is not None:
            bar.stop()
    report = build_report(logits, y, info.labels, meta.temperature)
    report = dataclasses.replace(
        report, checkpoint=str(checkpoint), model=meta.model, data=str(dataset.root),
        split=split, tta=tta, data_fingerprint=dataset.fingerprint,
        checkpoint_fingerprint=_file_digest(Path(checkpoint)))
    if output is not None:
        report = write_report(report, logits, y, Path(output))
        if tsne:
            report.files["tsne"] = str(write_tsne(model, arrays.images, y, info, Path(output),
                                                  device))
            atomic_write_json(Path(output) / "report.json", report.to_dict())
    return report


@dataclass(frozen=True)
class _ClassifierMeta:
    """The parts of a checkpoint's metadata evaluation needs, from .safetensors or .onnx."""

    model: str
    info: Any
    temperature: float
    config: dict[str, Any]
    extra: dict[str, Any]


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
            full.get("extra") or {})
    model, meta = load_model(path)
    model.to(device)
    return model, _ClassifierMeta(meta.model, meta.info, float(meta.temperature or 1.0),
                                  meta.config or {}, meta.extra or {})


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
