"""RAF-DB basic emotions: ``EmoLabel/list_patition_label.txt`` + ``Image/aligned/*_aligned.jpg``.

Label-file lines are ``train_00001.jpg 5`` with RAF-DB's labels 1..7 = Surprise, Fear, Disgust,
Happiness, Sadness, Anger, Neutral, remapped to ferkit's order. The split comes from the name
prefix (train / test). The label file may sit in ``EmoLabel/`` or the root; images are taken
from ``Image/aligned`` (``<stem>_aligned.jpg``), else ``Image/original`` / ``Image``. Listed
images that are missing are skipped and reported.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.data.formats._registry import register_format
from ferkit.data.source import ImageItem, ImageListing
from ferkit.errors import DataError

RAFDB_TO_CANONICAL = {1: "surprise", 2: "fear", 3: "disgust", 4: "happy", 5: "sad", 6: "angry",
                      7: "neutral"}
LIST_NAMES = ("list_patition_label.txt", "list_partition_label.txt")
SPLIT_PREFIX = {"train": "train", "test": "test"}


def label_file(root: Path) -> Path | None:
    if not root.is_dir():
        return None
    for folder in (root / "EmoLabel", root / "basic" / "EmoLabel", root, root / "basic"):
        for name in LIST_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def _image_path(base: Path, name: str) -> Path | None:
    stem, ext = name.rsplit(".", 1) if "." in name else (name, "jpg")
    candidates = (base / "Image" / "aligned" / f"{stem}_aligned.{ext}",
                  base / "Image" / "aligned" / name, base / "aligned" / f"{stem}_aligned.{ext}",
                  base / "Image" / "original" / name, base / "Image" / name, base / name)
    return next((c for c in candidates if c.is_file()), None)


def _parse_line(path: Path, number: int, line: str) -> tuple[str, str, str]:
    parts = line.split()
    if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) not in RAFDB_TO_CANONICAL:
        raise DataError(f"{path}: line {number}: expected '<image name> <label 1-7>', got "
                        f"{line.strip()!r}; fix or remove the line")
    split = SPLIT_PREFIX.get(parts[0].split("_", 1)[0].lower())
    if split is None:
        raise DataError(f"{path}: line {number}: image name {parts[0]!r} does not start with "
                        f"train_ or test_, so its split is unknown")
    return parts[0], split, RAFDB_TO_CANONICAL[int(parts[1])]


def detect(path: Path) -> bool:
    return label_file(path) is not None


@register_format("rafdb", "RAF-DB basic: EmoLabel/list_patition_label.txt + "
                 "Image/aligned/*_aligned.jpg; splits train/test", detect, priority=40)
def scan(root: Path) -> ImageListing:
    path = label_file(root)
    if path is None:
        raise DataError(f"no RAF-DB label file ({LIST_NAMES[0]}) in {str(root)!r} or its "
                        f"EmoLabel/ folder")
    base = path.parent.parent if path.parent.name == "EmoLabel" else path.parent
    listing = ImageListing(root, [])
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        name, split, label = _parse_line(path, number, line)
        image = _image_path(base, name)
        if image is None:
            listing.skipped.append((str(base / "Image" / "aligned" / name),
                                    f"listed in {path.name} but missing"))
            continue
        listing.items.append(ImageItem(str(image), split, label))
    if not listing.items:
        raise DataError(f"none of the images listed in {path} were found under "
                        f"{base / 'Image' / 'aligned'}")
    return listing
