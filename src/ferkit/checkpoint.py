"""The checkpoint format: one ``.safetensors`` file whose header carries ferkit's metadata.

Weights never travel as pickles. The JSON metadata (model name and kwargs, ModelInfo with label
order and preprocessing, training config, metrics, data fingerprint, seed, version, git commit,
calibration temperature) lives in the safetensors ``__metadata__`` under the key ``ferkit``, so a
single file is self-describing; ``save_checkpoint`` also writes a readable ``.json`` twin.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferkit import __version__
from ferkit.errors import CheckpointError
from ferkit.io import atomic_path, atomic_write_json, to_jsonable
from ferkit.types import ModelInfo

if TYPE_CHECKING:  # pragma: no cover
    import torch

FORMAT_VERSION = 1
# ``tools/fp16_checkpoint.py`` notes that a file is a float16 copy of some run. They describe that
# file only: whatever is derived from it in float32 (a soup, a bundled model) must drop them.
STORAGE_NOTES = ("stored_dtype", "fp16_of")


def without_storage_notes(extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` minus the float16-copy notes (``STORAGE_NOTES``) of the file it was read from."""
    return {k: v for k, v in extra.items() if k not in STORAGE_NOTES}


@dataclass
class CheckpointMeta:
    """Everything needed to rebuild, preprocess for, and trust a set of weights."""

    model: str
    info: ModelInfo
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    num_classes: int = 7
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    data_fingerprint: str = ""
    seed: int | None = None
    temperature: float = 1.0
    ferkit_version: str = __version__
    git_commit: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    def to_dict(self) -> dict[str, Any]:
        d = to_jsonable(dataclasses.asdict(self))
        d["info"] = to_jsonable(self.info.to_dict())
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckpointMeta:
        d = dict(d)
        try:
            d["info"] = ModelInfo.from_dict(d["info"])
            known = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in d.items() if k in known})
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint metadata is malformed: {exc}") from None


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str:
    """The current git commit (with ``+dirty``), or '' outside a repository."""
    try:
        where = cwd or Path(__file__).resolve().parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def save_checkpoint(path: str | os.PathLike[str], state_dict: dict[str, torch.Tensor],
                    meta: CheckpointMeta, *, write_json: bool = True) -> Path:
    """Atomically write weights + metadata to ``path`` (``.safetensors``)."""
    from safetensors.torch import save_file

    target = Path(path)
    if target.suffix != ".safetensors":
        raise CheckpointError(f"checkpoint path must end in .safetensors, got {str(target)!r}")
    if not meta.git_commit:
        meta.git_commit = git_commit()
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    header = {"ferkit": json.dumps(meta.to_dict())}
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    if write_json:
        atomic_write_json(target.with_suffix(".json"), meta.to_dict())
    return target


def read_meta(path: str | os.PathLike[str]) -> CheckpointMeta:
    """Read only the metadata (cheap: the header, not the tensors)."""
    from safetensors import safe_open

    p = _check_path(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            raw = (f.metadata() or {}).get("ferkit")
    except Exception:  # safetensors raises its own error types ("header too large"...)
        raise CheckpointError(f"{str(p)!r} is not a ferkit checkpoint ({_looks_like(p)}); pass "
                              "a .safetensors file written by 'ferkit train'") from None
    if raw is None:
        raise CheckpointError(
            f"{str(p)!r} has no ferkit metadata; it is a bare weights file, not a ferkit checkpoint"
        )
    try:
        return CheckpointMeta.from_dict(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{str(p)!r} has corrupt ferkit metadata: {exc}") from None


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Return ``(state_dict, meta)`` from a ferkit checkpoint, never unpickling anything."""
    from safetensors.torch import load_file

    meta = read_meta(path)
    try:
        state = load_file(str(_check_path(path)))
    except Exception as exc:
        raise CheckpointError(f"{str(path)!r}: cannot read tensors: {exc}") from None
    return state, meta


def load_model(path: str | os.PathLike[str], *, eval_mode: bool = True):
    """Rebuild the registered model a checkpoint names and load its weights.

    Returns ``(model, meta)``; the model's ``ferkit_info`` is the checkpoint's ModelInfo.
    """
    from ferkit.models import create_model

    state, meta = load_checkpoint(path)
    model = create_model(meta.model, num_classes=meta.num_classes,
                         in_chans=meta.info.in_chans, pretrained=False, **meta.model_kwargs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(
            f"{str(path)!r} does not match model {meta.model!r}: {first}"
        ) from None
    model.ferkit_info = meta.info
    if eval_mode:
        model.eval()
    return model, meta


def _check_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist")
    if p.suffix.lower() == ".onnx":
        raise CheckpointError(f"{str(p)!r} is an ONNX model, but a .safetensors checkpoint is "
                              "needed here (ONNX files run only with predict/evaluate); pass the "
                              "checkpoint it was exported from")
    if p.suffix in (".pt", ".pth", ".ckpt", ".pkl", ".pickle"):
        raise CheckpointError(
            f"{str(p)!r} is a pickle-based file; ferkit loads weights only from .safetensors"
        )
    return p


_MAGIC = ((b"\xff\xd8\xff", "it is a JPEG image"), (b"\x89PNG", "it is a PNG image"),
          (b"GIF8", "it is a GIF image"), (b"PK\x03\x04", "it is a zip archive"),
          (b"\x80", "it looks like a pickle"))


def _looks_like(path: Path) -> str:
    """What a file that is not safetensors seems to be, for the error message."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    return "not a safetensors file" if head else "the file is empty"
