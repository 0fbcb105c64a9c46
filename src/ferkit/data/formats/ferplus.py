"""FER+ (Barsoum et al. 2016): ten annotator votes per FER2013 image, in ``fer2013new.csv``.

``fer2013new.csv`` (``Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,
contempt,unknown,NF``) has one row per row of the original ``fer2013.csv``. A FER+ dataset is a
folder holding ``fer2013new.csv`` and either

- the FER2013 CSV (``fer2013.csv`` or ``.csv.gz``): joined row by row, or
- the images it names (``fer0000000.png`` …, anywhere below the folder, as Microsoft's
  ``generate_training_data.py`` writes them): joined by file name.

Two label modes, as two registered formats:

- ``ferplus`` (majority): the emotion with more than half of the votes, else the image is left
  out (listed in ``Dataset.skipped``);
- ``ferplus_probs`` (probability distribution): the vote distribution over the 8 emotions is
  kept as soft targets (``SplitArrays.soft``; training's cross-entropy takes them), the arg-max
  is the hard label for metrics.

Both follow the reference code: single votes are dropped as outliers, and images whose most
votes say "unknown" or "not a face" are left out. Classes: the 8 emotions in canonical order.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.data.base import SPLITS, SplitArrays
from ferkit.data.decode import decode_many, is_image_name, most_common_size, resize_to
from ferkit.data.formats._registry import register_format
from ferkit.data.labels import USAGE_TO_SPLIT, canonical_class, canonical_split
from ferkit.data.source import Decoded, progress_bar
from ferkit.errors import DataError
from ferkit.types import EMOTIONS_8

VOTES_FILE = "fer2013new.csv"
FIX = ("FER+ needs fer2013new.csv (Usage,Image name,neutral,...,contempt,unknown,NF) next to "
       "fer2013.csv or the fer*.png images it names")
MODES = ("majority", "probability")


@dataclass
class VoteRow:
    line: int
    split: str
    name: str  # image file name ('' where FER+ dropped the image)
    votes: np.ndarray  # (10,) canonical order: 8 emotions (EMOTIONS_8), unknown, NF


def votes_file(root: Path) -> Path | None:
    if root.is_file():
        return root if root.name.lower() == VOTES_FILE else None
    if not root.is_dir():
        return None
    return next((p for p in root.iterdir() if p.is_file() and p.name.lower() == VOTES_FILE),
                None)


def _fer_csv(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower() != VOTES_FILE
                   and p.name.lower().endswith((".csv", ".csv.gz")))
    return found[0] if len(found) == 1 else None


def read_votes(path: Path) -> list[VoteRow]:
    """Parse fer2013new.csv; columns are found by name, votes reordered canonically."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            cols = _vote_columns(path, header)
            rows = [_vote_row(path, reader.line_num, rec, cols) for rec in reader
                    if rec and any(f.strip() for f in rec)]
    except (csv.Error, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc}); {FIX}") from None
    if not rows:
        raise DataError(f"{path}: has no data rows; {FIX}")
    return rows


def _vote_columns(path: Path, header: list[str]) -> dict[str, int]:
    cols = {"usage": header.index("usage") if "usage" in header else -1,
            "name": header.index("image name") if "image name" in header else -1}
    for i, h in enumerate(header):
        c = canonical_class(h)
        if c is not None:
            cols[c] = i
    for extra in ("unknown", "nf"):
        cols[extra] = header.index(extra) if extra in header else -1
    missing = [c for c in (*EMOTIONS_8, "usage", "name", "unknown", "nf") if cols.get(c, -1) < 0]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} in the header; {FIX}")
    return cols


def _vote_row(path: Path, line: int, rec: list[str], cols: dict[str, int]) -> VoteRow:
    try:
        order = [cols[c] for c in (*EMOTIONS_8, "unknown", "nf")]
        votes = np.array([float(rec[i]) for i in order])
        usage = rec[cols["usage"]].strip()
        name = rec[cols["name"]].strip()
    except (IndexError, ValueError):
        raise DataError(f"{path}: line {line} is not 'Usage,Image name' followed by 10 vote "
                        "counts; fix or remove the row") from None
    split = USAGE_TO_SPLIT.get(usage) or canonical_split(usage)
    if split is None or (votes < 0).any():
        raise DataError(f"{path}: line {line}: Usage {usage!r} or the vote counts are invalid "
                        "(Usage: Training, PublicTest or PrivateTest; votes >= 0)")
    return VoteRow(line, split, name, votes)


def label_votes(votes: np.ndarray, mode: str) -> tuple[np.ndarray | None, str]:
    """(distribution over the 8 emotions, '') or (None, why the image is left out)."""
    v = np.where(votes <= 1.0, 0.0, votes)  # a single vote is an outlier (reference code)
    total = v.sum()
    if total <= 0:
        return None, "FER+: no emotion has more than one vote"
    top = int(np.argmax(v))
    if top >= len(EMOTIONS_8):
        return None, "FER+: most votes say unknown / not a face"
    if mode == "majority":
        if v[top] <= 0.5 * total:
            return None, "FER+: no emotion has a majority of the votes"
        return np.eye(len(EMOTIONS_8))[top], ""
    emotions = v[: len(EMOTIONS_8)]
    return emotions / emotions.sum(), ""


@dataclass
class FerPlusSource:
    root: Path
    votes: Path
    mode: str
    fer_csv: Path | None = None
    images: dict[str, str] = field(default_factory=dict)  # file name → path
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def files(self) -> list[str]:
        return [str(self.votes), *([str(self.fer_csv)] if self.fer_csv else []),
                *self.images.values()]

    def read(self, color: str, size: tuple[int, int] | None, progress: bool) -> Decoded:
        rows = read_votes(self.votes)
        if self.fer_csv is not None:
            images, sources = self._csv_images(rows, progress)
        else:
            images, sources = self._file_images(rows, color, progress)
        return self._assemble(rows, images, sources, color, size)

    def _csv_images(self, rows: list[VoteRow], progress: bool):
        from ferkit.data.formats.fer2013_csv import _parse_pixels, _pixel_count, _read_rows

        fer = _read_rows(self.fer_csv, progress)
        if len(fer) != len(rows):
            raise DataError(f"{self.votes} has {len(rows)} rows but {self.fer_csv} has "
                            f"{len(fer)}; FER+ joins them row by row, so they must match")
        for r, f in zip(rows, fer, strict=True):
            if r.split != f[2]:
                raise DataError(f"{self.votes}: line {r.line} is {r.split} but line {f[3]} of "
                                f"{self.fer_csv} is {f[2]}; the files do not belong together")
        n_pix = _pixel_count(self.fer_csv, fer)
        side = int(round(n_pix ** 0.5))
        pixels = _parse_pixels(self.fer_csv, fer, n_pix).reshape(-1, side, side)
        return list(pixels), [f"{self.fer_csv}:{f[3]}" for f in fer]

    def _file_images(self, rows: list[VoteRow], color: str, progress: bool):
        paths = [self.images.get(r.name, "") if r.name else "" for r in rows]
        wanted = [p for p in paths if p]
        if not wanted:
            raise DataError(f"none of the images named in {self.votes} are below "
                            f"{str(self.root)!r}; {FIX}")
        with progress_bar(len(wanted), f"decoding {self.root.name}", progress) as advance:
            decoded = dict(zip(wanted, decode_many(wanted, color, advance), strict=True))
        images = []
        for p in paths:
            img, reason = decoded.get(p, (None, "not found"))
            if p and img is None:
                self.skipped.append((p, reason))
            images.append(img)
        return images, [p or f"{self.votes}:{r.line}" for p, r in zip(paths, rows, strict=True)]

    def _assemble(self, rows, images, sources, color: str, size) -> Decoded:
        import cv2

        kept: dict[str, list[tuple[np.ndarray, np.ndarray, str]]] = {}
        skipped = list(self.skipped)
        for r, img, src in zip(rows, images, sources, strict=True):
            if img is None or not r.name:
                if not r.name:
                    skipped.append((src, "FER+: no image name (dropped by FER+)"))
                continue
            dist, why = label_votes(r.votes, self.mode)
            if dist is None:
                skipped.append((src, why))
                continue
            if color == "rgb" and img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
            kept.setdefault(r.split, []).append((img, dist, src))
        if not kept:
            raise DataError(f"no usable FER+ rows in {self.votes} (first reason: "
                            f"{skipped[0][1] if skipped else 'none'})")
        target = size or most_common_size([i for rows_ in kept.values() for i, _, _ in rows_])
        splits = {}
        for name in sorted(kept, key=lambda s: SPLITS.index(s) if s in SPLITS else 9):
            imgs = np.stack([resize_to(i, target) for i, _, _ in kept[name]])
            dists = np.stack([d for _, d, _ in kept[name]]).astype(np.float32)
            soft = dists if self.mode == "probability" else None
            splits[name] = SplitArrays(imgs, dists.argmax(axis=1).astype(np.int64),
                                       [s for _, _, s in kept[name]], soft)
        sizes = {f"{target[0]}x{target[1]}": sum(len(v) for v in kept.values())}
        return Decoded(EMOTIONS_8, splits, skipped, sizes)


def _images_below(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if is_image_name(f) and f not in out:
                out[f] = str(Path(folder) / f)
    return out


def _scan(root: Path, mode: str) -> FerPlusSource:
    votes = votes_file(root)
    if votes is None:
        raise DataError(f"no {VOTES_FILE} in {str(root)!r}; {FIX}")
    folder = votes.parent
    fer = _fer_csv(folder)
    if fer is not None:
        return FerPlusSource(root, votes, mode, fer_csv=fer)
    images = _images_below(folder)
    if not images:
        raise DataError(f"{str(folder)!r} has {VOTES_FILE} but neither one FER2013 CSV nor "
                        f"images; {FIX}")
    return FerPlusSource(root, votes, mode, images=images)


def detect(path: Path) -> bool:
    return votes_file(path) is not None


@register_format("ferplus", "FER+: fer2013new.csv votes + fer2013.csv (or fer*.png); "
                 "majority-vote labels", detect, priority=60)
def scan(root: Path) -> FerPlusSource:
    return _scan(root, "majority")


@register_format("ferplus_probs", "FER+ with the vote distribution as soft targets "
                 "(--format ferplus_probs / data.format=ferplus_probs)", lambda p: False,
                 priority=-1)
def scan_probs(root: Path) -> FerPlusSource:
    return _scan(root, "probability")


__all__ = ["MODES", "label_votes", "read_votes", "scan", "scan_probs"]
