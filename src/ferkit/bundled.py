"""Models that ship inside the package, addressable by name (``--model default|fast|accurate``).

Each bundled model has a float32 ``.safetensors`` checkpoint (for fine-tuning, Grad-CAM and the
torch backend) and may have a statically quantized ``.int8.onnx`` twin, which is what
``predict`` runs by default: it is 2–3× faster on a CPU at the same accuracy (MODEL_CARD.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ferkit.errors import CheckpointError, UnknownNameError
from ferkit.registry import Registry

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class BundledModel:
    """A shipped model: its checkpoint and/or its INT8 ONNX Runtime file.

    ``checkpoint`` is ``None`` for a model that ships as INT8 ONNX only (``accurate``: its float
    members would take 54 MB, over the package's 30 MB per model); its metadata then lives in
    ``metadata`` (the JSON twin of the checkpoint it was exported from).
    """

    name: str
    checkpoint: str | None  # file name under weights/
    onnx: str | None
    description: str
    metadata: str | None = None  # JSON twin; default: the checkpoint's name with .json

    @property
    def metadata_file(self) -> Path:
        name = self.metadata or Path(self.checkpoint or f"{self.name}.safetensors").with_suffix(
            ".json").name
        return WEIGHTS_DIR / name

    def path(self, backend: str = "auto") -> Path:
        """The file a backend runs: auto/onnx → the INT8 file if shipped; torch → checkpoint."""
        use_onnx = backend in ("auto", "onnx") and self.onnx is not None
        if not use_onnx and self.checkpoint is None:
            raise CheckpointError(
                f"bundled model {self.name!r} ships as an INT8 ONNX file only, so it runs with "
                "--backend auto or onnx, not torch (nor Grad-CAM, export or fine-tuning); its "
                f"float checkpoint is rebuilt from the repository with the command in "
                f"MODEL_CARD_{self.name.upper()}.md")
        path = WEIGHTS_DIR / (self.onnx if use_onnx else self.checkpoint)
        if not path.is_file():
            raise CheckpointError(f"bundled model {self.name!r} is missing from this install "
                                  f"({path.name}); reinstall ferkit or pass --model CHECKPOINT")
        return path


BUNDLED: Registry[BundledModel] = Registry("bundled model")
for _m in (
    BundledModel("default", "default.safetensors", "default.int8.onnx",
                 "EfficientNet-Lite0 at 112 px (from ImageNet via a FER2013 teacher), "
                 "distilled from an ensemble of eleven FER2013 teachers (eight "
                 "EfficientNet-Lites, three VGGs) with camera changes (blur, noise, JPEG, low "
                 "resolution); its last 2 epochs on FER2013 train + PublicTest"),
    BundledModel("fast", "fast.safetensors", "fast.int8.onnx",
                 "EfficientNet-Lite0 at 64 px, distilled from an ensemble of eleven FER2013 "
                 "teachers with camera changes (blur, noise, JPEG, low resolution)"),
    BundledModel("accurate", None, "accurate.int8.onnx",
                 "the mean of three FER2013 teachers (EfficientNet-Lite0/1/2 at 112 px) in one "
                 "INT8 file: the most accurate on clean faces, 4-8x slower than default and "
                 "less robust to blur, noise and low resolution",
                 metadata="accurate.json"),
):
    BUNDLED.add(_m.name, _m)


def bundled_summary(name: str) -> dict:
    """What ``ferkit models`` shows for a bundled model: from its JSON twin (no torch import)."""
    import json

    m = BUNDLED.get(name)
    try:
        meta = json.loads(m.metadata_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    info = meta.get("info") or {}
    return {"name": m.name, "model": meta.get("model", ""), "description": m.description,
            "input_size": info.get("input_size"), "in_chans": info.get("in_chans"),
            "labels": info.get("labels", []), "checkpoint": m.checkpoint, "onnx": m.onnx}


def is_bundled_name(model: object) -> bool:
    """True for ``None`` or a registered name that is not also an existing file path."""
    return model is None or (str(model) in BUNDLED and not Path(str(model)).exists())


def resolve_model(model: str | os.PathLike[str] | None, backend: str = "auto") -> Path:
    """``None``/a bundled name → the shipped file for ``backend``; anything else → its path."""
    if is_bundled_name(model):
        return BUNDLED.get("default" if model is None else str(model)).path(backend)
    path = Path(model)
    if not path.exists() and not path.suffix and os.sep not in str(model):
        try:  # a bare word that is no file: most likely a mistyped bundled name
            BUNDLED.get(str(model))
        except UnknownNameError as exc:
            raise UnknownNameError(f"{exc}; or pass a checkpoint / .onnx file path") from None
    return path


def backend_for(path: str | os.PathLike[str], backend: str = "auto") -> str:
    """``auto`` → ``onnx`` for ``.onnx`` files, ``torch`` for checkpoints; else ``backend``."""
    if backend != "auto":
        return backend
    return "onnx" if Path(path).suffix == ".onnx" else "torch"
