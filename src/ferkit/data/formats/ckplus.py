"""CK+ as distributed in 'CK+48': ``root/{anger,contempt,disgust,fear,happy,sadness,surprise}/``.

One split ('train'; CK+ has no official split): training holds out whole subjects (the ``S005``
of ``S005_001_00000011.png``) for validation. Classes: the seven present, in canonical order.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ferkit.data.formats._folders import has_split_dirs, scan_folders, subdirs
from ferkit.data.formats._registry import register_format
from ferkit.data.source import ImageListing

SUBJECT = re.compile(r"^(S\d+)_")


def subject_of(path: str) -> str | None:
    """'…/happy/S005_001_00000011.png' → 'S005' (CK+ file names start with the subject)."""
    m = SUBJECT.match(os.path.basename(path))
    return m.group(1) if m else None


CK_FOLDERS = frozenset({"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise",
                        "neutral"})


def detect(path: Path) -> bool:
    if not path.is_dir() or has_split_dirs(path):
        return False
    names = {e.name.lower() for e in subdirs(path)}
    return "contempt" in names and names <= CK_FOLDERS


@register_format("ckplus", "CK+48: <root>/{anger,contempt,disgust,...}/*.png, one split",
                 detect, priority=30, subject=subject_of)
def scan(root: Path) -> ImageListing:
    return scan_folders(root)
