"""Atomic file output: write to a temporary file in the same folder, then rename.

A crash or Ctrl-C never leaves a half-written report, checkpoint or CSV behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp creates 0600; give the file the umask's usual mode
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths, tuples and dataclasses into JSON-friendly values."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # numpy arrays/scalars, torch tensors
        return obj.tolist()
    return obj


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=indent) + "\n")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (checkpoints are tens of MB)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """Where derived data (decoded dataset arrays) is cached: $FERKIT_CACHE or ~/.cache/ferkit."""
    root = os.environ.get("FERKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ferkit"
    )
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK | os.X_OK)
    except OSError as exc:
        writable, why = False, exc.strerror or str(exc)
    else:
        why = "no write permission"
    if not writable:
        from ferkit.errors import ConfigError

        raise ConfigError(f"cache folder {str(path)!r} cannot be used ({why}); set FERKIT_CACHE "
                          "to a writable folder")
    return path


def check_writable_dir(path: str | os.PathLike[str], what: str = "--output") -> Path:
    """Fail early, in one line, when ``path`` cannot become an output folder.

    Checked before any work (a long evaluation should not end in a traceback): ``path`` must be
    a folder or not exist yet, and its nearest existing parent a writable folder. Nothing is
    created here, so a failing run leaves no empty folder behind.
    """
    from ferkit.errors import ConfigError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{what} {str(p)!r} is an existing file, not a folder; give a folder "
                          "path (it is created if missing)")
    _check_parent(p if p.exists() else p.parent, p, what)
    return p


def check_writable_file(path: str | os.PathLike[str], what: str = "--output") -> Path:
    """Like :func:`check_writable_dir` for an output *file* (e.g. an exported model)."""
    from ferkit.errors import ConfigError

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{what} {str(p)!r} is a folder; give a file path such as "
                          f"{str(p / 'model.onnx')!r}")
    _check_parent(p.parent, p, what)
    return p


def _check_parent(start: Path, target: Path, what: str) -> None:
    from ferkit.errors import ConfigError

    parent = start
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    where = str(parent) or "."
    if not parent.is_dir():
        raise ConfigError(f"{what} {str(target)!r} cannot be created: {where!r} is a file, not "
                          "a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {str(target)!r} cannot be created: no write permission in "
                          f"{where!r}; choose a writable place")
