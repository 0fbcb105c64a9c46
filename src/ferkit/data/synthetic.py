"""Fake FER datasets in the real on-disk formats, for tests and demos (offline, seconds).

Images are *learnable*: each class has its own pattern (stripes at a class-specific angle and
frequency plus a bright blob at a class-specific position), with random phase, jitter and noise,
so a tiny CNN trained for a few epochs on ~10 images per class clearly beats chance. The
patterns survive resizing, JPEG and gray conversion.

>>> import tempfile, pathlib
>>> root = make_folder_dataset(pathlib.Path(tempfile.mkdtemp()) / "fer", n_per_class=2)
>>> sorted(p.name for p in root.iterdir())
['train', 'val']
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ferkit.data.labels import SPLIT_TO_USAGE, USAGE_TO_SPLIT
from ferkit.types import EMOTIONS

#: CK+48 folder names, in canonical order
CKPLUS_FOLDERS: dict[str, str] = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
    "sad": "sadness", "surprise": "surprise", "contempt": "contempt",
}
#: JAFFE two-letter expression codes
JAFFE_CODES: dict[str, str] = {
    "angry": "AN", "disgust": "DI", "fear": "FE", "happy": "HA", "sad": "SA",
    "surprise": "SU", "neutral": "NE",
}
#: RAF-DB basic labels 1..7
RAFDB_LABELS: dict[str, int] = {
    "surprise": 1, "fear": 2, "disgust": 3, "happy": 4, "sad": 5, "angry": 6, "neutral": 7,
}


def class_pattern(k: int, n_classes: int, size: int | tuple[int, int],
                  rng: np.random.Generator, color: str = "gray") -> np.ndarray:
    """One uint8 image of class ``k``: (H,W) gray or (H,W,3) RGB."""
    h, w = (size, size) if isinstance(size, int) else size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= h
    xx /= w
    angle = 2 * np.pi * k / max(n_classes, 1)
    cy = 0.5 + 0.27 * np.sin(angle) + rng.normal(0, 0.025)
    cx = 0.5 + 0.27 * np.cos(angle) + rng.normal(0, 0.025)
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 0.11**2))
    theta = np.pi * k / max(n_classes, 1)
    freq = 5 + 2 * (k % 3)  # cycles per image: local texture a pooled CNN can see
    phase = rng.uniform(0, 2 * np.pi)
    stripes = 0.5 + 0.5 * np.cos(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta))
                                 + phase)
    base = 40 + 90 * blob + 100 * stripes + rng.normal(0, 7, size=(h, w))
    if color == "gray":
        return np.clip(base, 0, 255).astype(np.uint8)
    tint = np.array([0.75 + 0.5 * ((k * 3) % 7) / 6, 1.0, 1.25 - 0.5 * ((k * 5) % 7) / 6],
                    dtype=np.float32)
    return np.clip(base[..., None] * tint, 0, 255).astype(np.uint8)


def make_images(labels: Sequence[int], n_classes: int, size: int | tuple[int, int] = 48,
                color: str = "gray", seed: int = 0) -> np.ndarray:
    """A uint8 batch (N,H,W[,3]) with one learnable image per label."""
    rng = np.random.default_rng(seed)
    return np.stack([class_pattern(int(k), n_classes, size, rng, color) for k in labels])


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write a gray or RGB uint8 image with OpenCV (RGB is converted to OpenCV's BGR)."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(path.suffix, image)
    if not ok:
        raise ValueError(f"OpenCV cannot encode {path.suffix!r} images")
    path.write_bytes(buf.tobytes())
    return path


def _counts(n_per_class: int | Sequence[int], n: int) -> list[int]:
    if isinstance(n_per_class, int):
        return [n_per_class] * n
    if len(n_per_class) != n:
        raise ValueError(f"n_per_class needs {n} counts, got {len(n_per_class)}")
    return list(n_per_class)


def make_folder_dataset(root: str | Path, classes: Sequence[str] = EMOTIONS,
                        n_per_class: int | Sequence[int] = 4, size: int = 48,
                        splits: Sequence[str] = ("train", "val"), color: str = "gray",
                        seed: int = 0, ext: str = ".png", prefix_style: str | None = None,
                        flat: bool = False) -> Path:
    """``root/<split>/<class>/<name><ext>`` (or ``root/<class>/`` with ``flat=True``).

    ``classes`` are folder names (synonyms such as 'Anger' allowed); the pattern follows the
    position in ``classes``. ``prefix_style='fer2013'`` names files ``Training_00000`` /
    ``PublicTest_…`` / ``PrivateTest_…`` as the FER2013 folder release does (needed with
    ``flat=True`` so the split can be recovered from the names; without it, a flat dataset
    holds the images of every split in the same class folders).
    """
    root = Path(root)
    counts = _counts(n_per_class, len(classes))
    for s, split in enumerate(splits):
        labels = [k for k, c in enumerate(counts) for _ in range(c)]
        images = make_images(labels, len(classes), size, color, seed + 1000 * s)
        prefix = f"{SPLIT_TO_USAGE.get(split, split)}_" if prefix_style == "fer2013" else "img_"
        for i, (k, image) in enumerate(zip(labels, images, strict=True)):
            folder = root / classes[k] if flat else root / split / classes[k]
            write_image(folder / f"{prefix}{seed:02d}{s}{i:05d}{ext}", image)
    root.mkdir(parents=True, exist_ok=True)
    return root


def make_fer2013_csv(path: str | Path, n_per_class: int | Sequence[int] = 4,
                     usages: Sequence[str] = ("Training", "PublicTest", "PrivateTest"),
                     gz: bool = False, size: int = 48, seed: int = 0,
                     n_classes: int = 7) -> Path:
    """A FER2013-style ``emotion,pixels,Usage`` CSV (optionally gzip-compressed)."""
    path = Path(path)
    counts = _counts(n_per_class, n_classes)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["emotion", "pixels", "Usage"])
    for u, usage in enumerate(usages):
        if usage not in USAGE_TO_SPLIT:
            raise ValueError(f"usage must be one of {list(USAGE_TO_SPLIT)}, got {usage!r}")
        labels = [k for k, c in enumerate(counts) for _ in range(c)]
        rng = np.random.default_rng(seed + u)
        labels = [labels[i] for i in rng.permutation(len(labels))]  # real CSV is not sorted
        images = make_images(labels, n_classes, size, "gray", seed + 1000 * u)
        for k, image in zip(labels, images, strict=True):
            writer.writerow([k, " ".join(map(str, image.ravel().tolist())), usage])
    data = out.getvalue().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


#: fer2013new.csv vote columns, in the file's order
FERPLUS_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                   "contempt", "unknown", "NF")


def make_ferplus(root: str | Path, n_per_class: int | Sequence[int] = 3,
                 usages: Sequence[str] = ("Training", "PublicTest"), seed: int = 0,
                 images: bool = False) -> Path:
    """FER+: ``root/fer2013new.csv`` (10 votes per row) + ``root/fer2013.csv`` (or, with
    ``images=True``, ``root/FER2013Train/fer0000000.png`` … instead of the CSV).

    Votes: each row's FER2013 emotion gets 7 of 10 votes (the majority), except every 4th row
    (6 for its emotion, 4 for the next one: still a majority, a mixed distribution) and every
    5th row (10 "NF" votes: not a face, left out in both label modes). The last row has an
    empty image name, as FER+ rows for dropped images do.
    """
    import cv2

    root = Path(root)
    fer = make_fer2013_csv(root / "fer2013.csv", n_per_class, usages, seed=seed)
    with open(fer, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Usage", "Image name", *FERPLUS_COLUMNS])
    order = [EMOTIONS.index(c) for c in ("neutral", "happy", "surprise", "sad", "angry",
                                         "disgust", "fear")]
    for i, (emotion, pixels, usage) in enumerate(rows):
        votes = [0] * 10
        k = order.index(int(emotion))
        if i % 5 == 4:
            votes[9] = 10
        elif i % 4 == 3:
            votes[k], votes[(k + 1) % 7] = 6, 4
        else:
            votes[k], votes[(k + 2) % 7] = 7, 3
        name = "" if i == len(rows) - 1 else f"fer{i:07d}.png"
        writer.writerow([usage, name, *votes])
        if images and name:
            folder = root / {"Training": "FER2013Train", "PublicTest": "FER2013Valid"}.get(
                usage, "FER2013Test")
            folder.mkdir(parents=True, exist_ok=True)
            img = np.array(pixels.split(), dtype=np.uint8).reshape(48, 48)
            cv2.imwrite(str(folder / name), img)
    (root / "fer2013new.csv").write_text(out.getvalue())
    if images:
        fer.unlink()
    return root


def make_rafdb(root: str | Path, n_per_class: int | Sequence[int] = 4,
               splits: Sequence[str] = ("train", "test"), size: int = 100, seed: int = 0,
               list_in_root: bool = False) -> Path:
    """RAF-DB basic: ``EmoLabel/list_patition_label.txt`` + ``Image/aligned/*_aligned.jpg``."""
    root = Path(root)
    counts = _counts(n_per_class, len(EMOTIONS))
    lines = []
    for s, split in enumerate(splits):
        labels = [k for k, c in enumerate(counts) for _ in range(c)]
        images = make_images(labels, len(EMOTIONS), size, "rgb", seed + 1000 * s)
        for i, (k, image) in enumerate(zip(labels, images, strict=True), start=1):
            name = f"{split}_{i:05d}"
            write_image(root / "Image" / "aligned" / f"{name}_aligned.jpg", image)
            lines.append(f"{name}.jpg {RAFDB_LABELS[EMOTIONS[k]]}")
    label_dir = root if list_in_root else root / "EmoLabel"
    label_dir.mkdir(parents=True, exist_ok=True)
    (label_dir / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    return root


def make_ckplus(root: str | Path, n_per_class: int | Sequence[int] = 4, size: int = 48,
                seed: int = 0) -> Path:
    """CK+48: ``root/{anger,contempt,disgust,fear,happy,sadness,surprise}/S010_004_*.png``."""
    root = Path(root)
    names = list(CKPLUS_FOLDERS)  # canonical names in EMOTIONS_8 order (no neutral in CK+48)
    counts = _counts(n_per_class, len(names))
    labels = [k for k, c in enumerate(counts) for _ in range(c)]
    images = make_images(labels, len(names), size, "gray", seed)
    for i, (k, image) in enumerate(zip(labels, images, strict=True)):
        folder = root / CKPLUS_FOLDERS[names[k]]
        write_image(folder / f"S{10 + i:03d}_{k + 1:03d}_{i:08d}.png", image)
    return root


def make_jaffe(root: str | Path, n_per_class: int | Sequence[int] = 3, size: int = 64,
               seed: int = 0) -> Path:
    """JAFFE: ``root/KA.AN1.39.tiff``-style names (poser.code+take.number)."""
    root = Path(root)
    counts = _counts(n_per_class, len(EMOTIONS))
    labels = [k for k, c in enumerate(counts) for _ in range(c)]
    images = make_images(labels, len(EMOTIONS), size, "gray", seed)
    posers = ("KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM")
    for i, (k, image) in enumerate(zip(labels, images, strict=True)):
        code = JAFFE_CODES[EMOTIONS[k]]
        write_image(root / f"{posers[i % len(posers)]}.{code}{1 + i // 10}.{i + 1}.tiff", image)
    return root
