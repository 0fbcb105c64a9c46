"""Generic image folders: ``root/<class>/*`` (one split, 'train') or ``root/<split>/<class>/*``.

The class list is the folder names: emotion names are matched case-insensitively with synonyms
(anger/angry, happiness/happy, ...) and put in canonical order; any other name (``pain``) is a
class of its own. The most generic format: tried last.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.data.decode import file_list, is_image_name
from ferkit.data.formats._folders import has_split_dirs, scan_folders, subdirs
from ferkit.data.formats._registry import register_format
from ferkit.data.labels import canonical_split
from ferkit.data.source import ImageListing


def _has_images(folder: Path, look: int = 50) -> bool:
    return any(is_image_name(f.name) for f in file_list(folder)[:look])


def detect(path: Path) -> bool:
    """A folder whose class folders (inside split folders, if any) hold image files."""
    if not path.is_dir():
        return False
    tops = [Path(e.path) for e in subdirs(path)]
    if has_split_dirs(path):
        tops = [Path(c.path) for t in tops if canonical_split(t.name) for c in subdirs(t)]
    return any(_has_images(t) for t in tops[:50])


@register_format("image_folder", "<root>/[<split>/]<class>/*.{jpg,png,...}; class = folder "
                 "name (emotion synonyms mapped)", detect, priority=0)
def scan(root: Path) -> ImageListing:
    return scan_folders(root)
