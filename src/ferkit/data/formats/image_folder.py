"""Generic image folders: ``root/<class>/*`` (one split, 'train') or ``root/<split>/<class>/*``.

Class folder names are matched case-insensitively with synonyms (anger/angry, happiness/happy,
...); folders with other names are skipped and listed in ``Dataset.skipped``.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.data.formats._folders import class_dir_names, scan_folders
from ferkit.data.formats._registry import register_format
from ferkit.data.labels import canonical_class
from ferkit.data.source import ImageListing


def detect(path: Path) -> bool:
    return path.is_dir() and any(canonical_class(n) for n in class_dir_names(path))


@register_format("image_folder", "<root>/[<split>/]<class>/*.{jpg,png,...}; class-name synonyms",
                 detect, priority=0)
def scan(root: Path) -> ImageListing:
    return scan_folders(root)
