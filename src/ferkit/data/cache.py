"""Dataset fingerprints and the decoded-array cache.

Two hashes with two jobs:

- ``fingerprint`` (the *cache key*) hashes the sorted (path relative to the root, size, mtime)
  of the source files: one ``stat`` per file, so a cached load never reads the images.
- ``content_fingerprint`` (what a ``Dataset`` and every checkpoint carry) hashes the *decoded*
  data: class names, split names, labels and pixels. It is computed once, when the files are
  decoded, and stored in the cache entry. Unlike the stat hash it survives copying the dataset
  (new mtimes), moving it, or re-materialising it on another machine, and changes only when the
  data a model sees changes (a pixel, a label, an added or removed image, colour mode or size).

The cache key adds the format, colour mode, target size, resolved root and a cache version; an
entry is one uncompressed ``.npz`` (uint8 images, int64 labels, paths, skipped files), written
atomically, so a crash never leaves a truncated entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ferkit.data.base import SplitArrays
from ferkit.data.source import Decoded

CACHE_VERSION = 3  # 2: entries store the content fingerprint; 3: classes = labels present, soft


def fingerprint(root: Path, files: list[str]) -> str:
    """sha256 over sorted (relative path, size, mtime_ns) of ``files`` (first 16 hex digits)."""
    base = str(root if root.is_dir() else root.parent).rstrip(os.sep) + os.sep
    rows = []
    for path in files:
        st = os.stat(path)
        rel = path[len(base):] if path.startswith(base) else os.path.relpath(path, base)
        rows.append(f"{rel}\t{st.st_size}\t{st.st_mtime_ns}")
    rows.sort()
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def content_fingerprint(decoded: Decoded) -> str:
    """sha256 over classes, split names, labels and pixels (first 16 hex digits)."""
    h = hashlib.sha256(json.dumps([list(decoded.classes), sorted(decoded.splits)]).encode())
    for name in sorted(decoded.splits):
        split = decoded.splits[name]
        h.update(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes())
        if split.soft is not None:
            h.update(np.ascontiguousarray(split.soft, dtype=np.float32).tobytes())
        h.update(str(split.images.shape).encode())
        h.update(np.ascontiguousarray(split.images).tobytes())
    return h.hexdigest()[:16]


def cache_key(fp: str, fmt: str, root: Path, color: str, size: tuple[int, int] | None) -> str:
    doc = {"v": CACHE_VERSION, "fp": fp, "format": fmt, "root": str(root.resolve()),
           "color": color, "size": list(size) if size else None}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def cache_file(key: str, fmt: str) -> Path:
    from ferkit.io import cache_dir

    return cache_dir() / "datasets" / f"{fmt}-{key}.npz"


def save(path: Path, decoded: Decoded) -> None:
    """Write one cache entry atomically (uncompressed: loading must be fast)."""
    from ferkit.io import atomic_path

    arrays: dict[str, np.ndarray] = {}
    for name, split in decoded.splits.items():
        arrays[f"{name}.images"] = split.images
        arrays[f"{name}.labels"] = split.labels
        arrays[f"{name}.paths"] = np.array(split.paths, dtype=str)
        if split.soft is not None:
            arrays[f"{name}.soft"] = split.soft
    meta = {"classes": list(decoded.classes), "splits": list(decoded.splits),
            "skipped": [list(s) for s in decoded.skipped], "source_sizes": decoded.source_sizes,
            "content_fingerprint": decoded.fingerprint}
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load(path: Path) -> Decoded | None:
    """Read a cache entry; None when missing or unreadable (then the data is decoded again)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            content_fp = meta["content_fingerprint"]
            splits = {
                name: SplitArrays(images=npz[f"{name}.images"], labels=npz[f"{name}.labels"],
                                  paths=npz[f"{name}.paths"].tolist(),
                                  soft=npz[f"{name}.soft"] if f"{name}.soft" in npz else None)
                for name in meta["splits"]
            }
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return Decoded(tuple(meta["classes"]), splits, [tuple(s) for s in meta["skipped"]],
                   dict(meta["source_sizes"]), content_fp)
