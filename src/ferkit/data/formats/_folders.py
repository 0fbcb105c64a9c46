"""Shared folder walking for the folder-based formats (class folders, optional split folders)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ferkit.data.decode import file_list, is_image_name
from ferkit.data.labels import canonical_class, canonical_split, class_label, valid_class_names
from ferkit.data.source import ImageItem, ImageListing
from ferkit.errors import DataError

#: files silently ignored inside class folders (OS litter, not data)
JUNK = frozenset({"thumbs.db", "desktop.ini"})
#: folders that are never classes (archive litter)
JUNK_DIRS = frozenset({"__macosx"})
#: ``split_of(file_name, folder_split) -> split | None``; None skips the file
SplitOf = Callable[[str, str], "str | None"]


def subdirs(root: Path) -> list[os.DirEntry[str]]:
    return [e for e in file_list(root) if e.is_dir() and e.name.lower() not in JUNK_DIRS]


def has_split_dirs(root: Path) -> bool:
    return any(canonical_split(e.name) for e in subdirs(root))


def class_dir_names(root: Path) -> list[str]:
    """Names of the class folders: inside split folders when there are any."""
    dirs = subdirs(root)
    splits = [e for e in dirs if canonical_split(e.name)]
    if splits:
        return sorted({c.name for s in splits for c in subdirs(Path(s.path))})
    return [e.name for e in dirs]


def scan_folders(root: Path, split_of: SplitOf | None = None,
                 strict_names: bool = False) -> ImageListing:
    """Walk ``root/<split>/<class>/*`` or ``root/<class>/*`` (→ split 'train').

    Every class folder is a class: emotion spellings map to canonical names, other names are
    kept as they are (``pain``). ``strict_names`` accepts only canonical emotion names (FER2013
    folders) and skips the rest.
    """
    if not root.is_dir():
        raise DataError(f"{str(root)!r} is not a folder; a folder dataset needs class folders")
    listing = ImageListing(root, [])
    dirs = subdirs(root)
    split_dirs = [(e, canonical_split(e.name)) for e in dirs if canonical_split(e.name)]
    if split_dirs:
        for e in dirs:
            if not canonical_split(e.name):
                listing.skipped.append((e.path, "folder is not a split name (train/val/test)"))
        for e, split in split_dirs:
            _scan_classes(Path(e.path), split, listing, split_of, strict_names)
    else:
        _scan_classes(root, "train", listing, split_of, strict_names)
    if not listing.items:
        _explain_empty(root, listing, strict_names)
    return listing


def _scan_classes(folder: Path, split: str, listing: ImageListing, split_of: SplitOf | None,
                  strict: bool) -> None:
    found = False
    for e in subdirs(folder):
        label = canonical_class(e.name) if strict else class_label(e.name)
        if label is None or (strict and e.name != label):
            listing.skipped.append((e.path, "folder is not an emotion class name"))
            continue
        found = True
        for f in file_list(Path(e.path)):
            if not f.is_file() or f.name.lower() in JUNK:
                continue
            if not is_image_name(f.name):
                listing.skipped.append((f.path, "not an image file (by extension)"))
                continue
            target = split_of(f.name, split) if split_of else split
            if target is None:
                listing.skipped.append((f.path, "file name has no Training_/PublicTest_/"
                                                "PrivateTest_ prefix"))
                continue
            listing.items.append(ImageItem(f.path, target, label))
    if not found and not listing.items:
        listing.skipped.append((str(folder), "no class folders"))


def _explain_empty(root: Path, listing: ImageListing, strict: bool) -> None:
    names = class_dir_names(root)
    if not names:
        raise DataError(f"dataset folder {str(root)!r} has no class folders (it is empty or "
                        f"holds only files); expected <class>/ or <split>/<class>/ folders")
    if strict and not any(canonical_class(n) for n in names):
        found = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        raise DataError(f"no emotion class folders in {str(root)!r}: found {found}; valid "
                        f"names: {valid_class_names()}")
    reason = listing.skipped[-1][1] if listing.skipped else "class folders are empty"
    hint = "; try --format image_folder" if strict else ""
    raise DataError(f"no usable image files in {str(root)!r} ({reason}){hint}")
