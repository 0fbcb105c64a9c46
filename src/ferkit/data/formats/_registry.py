"""The dataset-format registry: one entry per on-disk layout, each with ``detect`` and ``scan``.

Auto-detection tries formats from the most specific (highest ``priority``) to the most generic,
so a RAF-DB folder is never mistaken for a plain image folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ferkit.data.source import Source
from ferkit.registry import Registry


@dataclass(frozen=True)
class DatasetFormat:
    name: str
    description: str
    detect: Callable[[Path], bool]
    scan: Callable[[Path], Source]
    priority: int = 0
    #: file path → subject (person) id, for subject-aware splits; None: the format has none
    subject: Callable[[str], str | None] | None = None


DATASETS: Registry[DatasetFormat] = Registry("dataset format")


def register_format(name: str, description: str, detect: Callable[[Path], bool],
                    priority: int = 0, subject: Callable[[str], str | None] | None = None
                    ) -> Callable[[Callable[[Path], Source]], Callable]:
    """Decorator for a format's ``scan(root) -> Source`` function."""

    def deco(scan: Callable[[Path], Source]) -> Callable[[Path], Source]:
        fmt = DatasetFormat(name, description, detect, scan, priority, subject)
        DATASETS.add(name, fmt, description=description, priority=priority)
        return scan

    return deco
