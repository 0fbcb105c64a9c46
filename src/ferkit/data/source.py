"""What a format's ``scan`` returns: the source files of a dataset and how to read them.

Scanning is cheap (names and labels only); it gives the file list the fingerprint and cache key
are computed from. Reading (decoding every image) happens only on a cache miss.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ferkit.data.base import SPLITS, SplitArrays
from ferkit.data.decode import decode_many, most_common_size, resize_to, size_key
from ferkit.data.labels import classes_for
from ferkit.errors import DataError


@dataclass
class Decoded:
    """The result of reading a source: what becomes a ``Dataset`` (and its cache entry)."""

    classes: tuple[str, ...]
    splits: dict[str, SplitArrays]
    skipped: list[tuple[str, str]]
    source_sizes: dict[str, int]
    fingerprint: str = ""  # content fingerprint; filled by load_dataset / the cache


class Source(Protocol):
    root: Path
    skipped: list[tuple[str, str]]

    def files(self) -> list[str]:
        """The files whose names/sizes/mtimes define the dataset fingerprint."""
        ...

    def read(self, color: str, size: tuple[int, int] | None, progress: bool) -> Decoded:
        ...


@dataclass
class ImageItem:
    path: str  # str, not Path: tens of thousands of these are built on every load
    split: str  # canonical split
    label: str  # canonical class name


@dataclass
class ImageListing:
    """A dataset made of one image file per sample (every format except CSV)."""

    root: Path
    items: list[ImageItem]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def files(self) -> list[str]:
        return [it.path for it in self.items]

    def read(self, color: str, size: tuple[int, int] | None, progress: bool) -> Decoded:
        if not self.items:
            raise DataError(f"no image files found in {str(self.root)!r}")
        classes = classes_for({it.label for it in self.items})
        order = {s: i for i, s in enumerate(SPLITS)}
        items = sorted(self.items, key=lambda it: (order.get(it.split, 9), it.split,
                                                   classes.index(it.label), it.path))
        with progress_bar(len(items), f"decoding {self.root.name}", progress) as advance:
            decoded = decode_many([it.path for it in items], color, advance)
        skipped = list(self.skipped)
        kept = []
        for it, (img, reason) in zip(items, decoded, strict=True):
            if img is None:
                skipped.append((it.path, reason))
            else:
                kept.append((it, img))
        if not kept:
            raise DataError(f"none of the {len(items)} image files in {str(self.root)!r} could "
                            f"be decoded (first: {skipped[-1][0]}: {skipped[-1][1]})")
        return assemble(classes, kept, size, skipped)


def assemble(classes: tuple[str, ...], kept: list[tuple[ImageItem, np.ndarray]],
             size: tuple[int, int] | None, skipped: list[tuple[str, str]]) -> Decoded:
    """Resize to one size and stack per split (input order kept)."""
    sizes = Counter(size_key(img) for _, img in kept)
    target = size or most_common_size([img for _, img in kept])
    per_split: dict[str, list[tuple[ImageItem, np.ndarray]]] = {}
    for it, img in kept:
        per_split.setdefault(it.split, []).append((it, resize_to(img, target)))
    splits = {
        name: SplitArrays(
            images=np.stack([img for _, img in rows]),
            labels=np.array([classes.index(it.label) for it, _ in rows], dtype=np.int64),
            paths=[it.path for it, _ in rows],
        )
        for name, rows in per_split.items()
    }
    return Decoded(classes, splits, skipped, dict(sizes))


@contextlib.contextmanager
def progress_bar(total: int, label: str, enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr (hidden when disabled or tiny); yields ``advance(n)``."""
    if not enabled or total < 200 or os.environ.get("FERKIT_NO_PROGRESS"):
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
