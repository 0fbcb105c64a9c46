"""CK+ as distributed in 'CK+48': ``root/{anger,contempt,disgust,fear,happy,sadness,surprise}/``.

One split ('train'; CK+ has no official split). Contempt makes the class list ``EMOTIONS_8``.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.data.formats._folders import has_split_dirs, scan_folders, subdirs
from ferkit.data.formats._registry import register_format
from ferkit.data.source import ImageListing

CK_FOLDERS = frozenset({"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise",
                        "neutral"})


def detect(path: Path) -> bool:
    if not path.is_dir() or has_split_dirs(path):
        return False
    names = {e.name.lower() for e in subdirs(path)}
    return "contempt" in names and names <= CK_FOLDERS


@register_format("ckplus", "CK+48: <root>/{anger,contempt,disgust,...}/*.png, one split",
                 detect, priority=30)
def scan(root: Path) -> ImageListing:
    return scan_folders(root)
