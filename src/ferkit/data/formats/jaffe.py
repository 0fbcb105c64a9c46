"""JAFFE: labels from file names such as ``KA.AN1.39.tiff`` (poser.EXPRtake.number).

Codes: AN angry, DI disgust, FE fear, HA happy, SA sad, SU surprise, NE neutral. One split
('train'). Files are searched in the root and its subfolders; image files whose names carry no
expression code are skipped and reported.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ferkit.data.decode import is_image_name
from ferkit.data.formats._registry import register_format
from ferkit.data.source import ImageItem, ImageListing
from ferkit.errors import DataError

CODES = {"AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy", "SA": "sad",
         "SU": "surprise", "NE": "neutral"}
NAME = re.compile(r"^[A-Za-z]{2}\.([A-Za-z]{2})\d*\.\d+\.[A-Za-z]+$")


def subject_of(path: str) -> str | None:
    """'…/KA.AN1.39.tiff' → 'KA' (the poser's initials)."""
    m = NAME.match(os.path.basename(path))
    return os.path.basename(path)[:2].upper() if m else None


def label_of(name: str) -> str | None:
    m = NAME.match(name)
    return CODES.get(m.group(1).upper()) if m else None


def _images(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield from (Path(folder) / f for f in sorted(files)
                    if is_image_name(f) and not f.startswith("."))


def detect(path: Path) -> bool:
    if not path.is_dir():
        return False
    names = [p.name for p in itertools.islice(_images(path), 200)]
    return bool(names) and sum(label_of(n) is not None for n in names) > len(names) / 2


@register_format("jaffe", "JAFFE: KA.AN1.39.tiff-style file names (AN, DI, FE, HA, SA, SU, "
                 "NE), one split", detect, priority=35, subject=subject_of)
def scan(root: Path) -> ImageListing:
    if not root.is_dir():
        raise DataError(f"{str(root)!r} is not a folder; JAFFE is a folder of .tiff images")
    listing = ImageListing(root, [])
    for path in _images(root):
        label = label_of(path.name)
        if label is None:
            listing.skipped.append((str(path), "file name has no JAFFE expression code"))
        else:
            listing.items.append(ImageItem(str(path), "train", label))
    if not listing.items:
        raise DataError(f"no JAFFE-named images (like KA.AN1.39.tiff) in {str(root)!r}")
    return listing
