"""FER2013 as image folders (the Kaggle 'images' release).

``root/{train,val,test}/<class>/*.jpg`` (also ``validation``, ``Training``, ``PublicTest``,
``PrivateTest`` folder names), or a flat ``root/<class>/`` where the split is recovered from the
``Training_`` / ``PublicTest_`` / ``PrivateTest_`` file-name prefixes. Class folders must use the
FER2013 names (angry, disgust, fear, happy, sad, surprise, neutral).
"""

from __future__ import annotations

from pathlib import Path

from ferkit.data.decode import file_list, is_image_name
from ferkit.data.formats._folders import class_dir_names, has_split_dirs, scan_folders, subdirs
from ferkit.data.formats._registry import register_format
from ferkit.data.labels import USAGE_TO_SPLIT
from ferkit.data.source import ImageListing
from ferkit.types import EMOTIONS


def split_from_prefix(name: str, _folder_split: str = "train") -> str | None:
    """'PublicTest_123.jpg' → 'val'; None without a FER2013 prefix."""
    usage = name.split("_", 1)[0]
    return USAGE_TO_SPLIT.get(usage)


def _flat_has_prefixes(root: Path) -> bool:
    for d in subdirs(root):
        names = [f.name for f in file_list(Path(d.path))[:20] if is_image_name(f.name)]
        if names:
            return all(split_from_prefix(n) for n in names)
    return False


def detect(path: Path) -> bool:
    if not path.is_dir():
        return False
    names = class_dir_names(path)
    if not names or not set(names) <= set(EMOTIONS):
        return False
    return has_split_dirs(path) or _flat_has_prefixes(path)


@register_format("fer2013_folder", "FER2013 images: <split>/<class>/*.jpg, or flat <class>/ "
                 "with Training_/PublicTest_/PrivateTest_ name prefixes", detect, priority=20)
def scan(root: Path) -> ImageListing:
    if root.is_dir() and not has_split_dirs(root):
        return scan_folders(root, split_of=split_from_prefix, strict_names=True)
    return scan_folders(root, strict_names=True)
