"""``load_dataset``: detect the format, scan, then decode (or read the cache) into a ``Dataset``."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from ferkit.data import cache as _cache
from ferkit.data.base import Dataset
from ferkit.data.decode import COLORS, normalize_size
from ferkit.data.formats import DATASETS, DatasetFormat
from ferkit.data.labels import valid_class_names
from ferkit.errors import ConfigError, DataError


def list_formats() -> list[tuple[str, str]]:
    """(name, description) of every registered dataset format."""
    return [(name, DATASETS.get(name).description) for name in DATASETS.names()]


def detect_format(path: str | os.PathLike[str]) -> str:
    """The name of the first format (most specific first) whose ``detect`` accepts ``path``."""
    root = _existing(path)
    formats = sorted((DATASETS.get(n) for n in DATASETS.names()), key=lambda f: -f.priority)
    for fmt in formats:
        if fmt.detect(root):
            return fmt.name
    if root.is_dir() and not any(not e.name.startswith(".") for e in os.scandir(root)):
        raise DataError(f"dataset folder {str(root)!r} is empty")
    found = _preview(root)
    raise DataError(f"cannot tell the dataset format of {str(root)!r} (found: {found}); "
                    f"expected class folders of images (e.g. {valid_class_names()}, or any "
                    f"names of your own), optionally inside train/val/test folders, or a FER2013 "
                    f"CSV; or pass --format, one of: "
                    f"{', '.join(DATASETS.names())}")


def load_dataset(path: str | os.PathLike[str], format: str | None = None, color: str = "gray",
                 size: int | Sequence[int] | None = None, cache: bool = True,
                 progress: bool = True) -> Dataset:
    """Load any supported FER dataset as uint8 arrays with canonical labels.

    ``format`` None auto-detects (see ``ferkit data formats``); ``color`` 'gray' (BT.601 luma via
    OpenCV) or 'rgb'; ``size`` resizes every image (default: the most common size). Decoded
    arrays are cached under ``ferkit.io.cache_dir()`` keyed by the files' names, sizes and mtimes,
    so a second load takes a fraction of a second; ``Dataset.fingerprint`` hashes the decoded
    content, so it survives copies and moves (see ``ferkit.data.cache``). Undecodable files are
    skipped and listed in ``Dataset.skipped`` (and warned about by the CLI), not fatal: one bad
    JPEG among 30,000 should not stop a training run.
    """
    if color not in COLORS:
        raise ConfigError(f"color must be one of {', '.join(COLORS)}, got {color!r}")
    try:
        hw = normalize_size(size)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    root = _existing(path)
    fmt: DatasetFormat = DATASETS.get(format) if format else DATASETS.get(detect_format(root))
    try:
        source = fmt.scan(root)
        fp = _cache.fingerprint(root, source.files())
        entry = _cache_entry(fp, fmt.name, root, color, hw) if cache else None
        decoded = _cache.load(entry) if entry else None
        if decoded is None:
            decoded = source.read(color, hw, progress)
            decoded.fingerprint = _cache.content_fingerprint(decoded)
            if entry:
                _save_quietly(entry, decoded)
    except OSError as exc:  # unreadable folder, file vanished while scanning, ...
        raise DataError(f"cannot read {exc.filename or str(root)!r}: "
                        f"{exc.strerror or exc}") from None
    return Dataset(format=fmt.name, root=root, classes=decoded.classes, splits=decoded.splits,
                   fingerprint=decoded.fingerprint,
                   color=color, skipped=decoded.skipped,
                   source_sizes=decoded.source_sizes)


def _cache_entry(fp: str, fmt: str, root: Path, color: str,
                 hw: tuple[int, int] | None) -> Path | None:
    try:
        return _cache.cache_file(_cache.cache_key(fp, fmt, root, color, hw), fmt)
    except OSError as exc:  # the cache folder cannot be created: load without it
        logging.getLogger("ferkit.data").warning("dataset cache disabled: %s", exc)
        return None


def _save_quietly(entry: Path, decoded: _cache.Decoded) -> None:
    """A cache that cannot be written (read-only, disk full) costs speed, not the load."""
    try:
        _cache.save(entry, decoded)
    except OSError as exc:
        logging.getLogger("ferkit.data").warning("could not write dataset cache %s: %s",
                                                 entry, exc)


def _existing(path: str | os.PathLike[str]) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"dataset path {str(path)!r} does not exist; give a dataset folder or a "
                        f"FER2013 CSV file")
    return root


def _preview(root: Path) -> str:
    if not root.is_dir():
        return f"a file of type {root.suffix or '(none)'}"
    names = sorted(e.name for e in os.scandir(root) if not e.name.startswith("."))
    return ", ".join(names[:8]) + (" ..." if len(names) > 8 else "") or "nothing"
