"""FER2013 CSV: ``emotion,pixels,Usage`` (plain or ``.csv.gz``), 48x48 gray pixels per row.

Splits come from ``Usage``: Training → train, PublicTest → val, PrivateTest → test (no Usage
column → everything is train). Emotion indices are FER2013's, i.e. ferkit's canonical order
(7 = contempt is accepted and makes the class list 8 long). Any malformed row is an error that
names the file and line: a CSV is one file, so silently dropping rows would hide real damage.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.data.base import SPLITS, SplitArrays
from ferkit.data.decode import resize_to
from ferkit.data.formats._registry import register_format
from ferkit.data.labels import USAGE_TO_SPLIT, canonical_split
from ferkit.data.source import Decoded, progress_bar
from ferkit.errors import DataError
from ferkit.types import EMOTIONS, EMOTIONS_8

REQUIRED = ("emotion", "pixels")
FIX = "a FER2013 CSV has the header emotion,pixels,Usage and one row per image"


def csv_file(path: Path) -> Path | None:
    """The CSV to read: ``path`` itself, or the single ``*.csv[.gz]`` inside a folder."""
    name = path.name.lower()
    if path.is_file():
        return path if name.endswith((".csv", ".csv.gz")) else None
    if path.is_dir():
        found = [p for p in path.iterdir() if p.is_file()
                 and p.name.lower().endswith((".csv", ".csv.gz"))]
        dirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return found[0] if len(found) == 1 and not dirs else None
    return None


def _open(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} in the header "
                        f"(found: {', '.join(h.strip() for h in header) or 'nothing'}); {FIX}")
    return cols


@dataclass
class CsvSource:
    root: Path
    csv: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def files(self) -> list[str]:
        return [str(self.csv)]

    def read(self, color: str, size: tuple[int, int] | None, progress: bool) -> Decoded:
        rows = _read_rows(self.csv, progress)
        n_pix = _pixel_count(self.csv, rows)
        side = math.isqrt(n_pix)
        images = _parse_pixels(self.csv, rows, n_pix).reshape(-1, side, side)
        labels = np.array([r[0] for r in rows], dtype=np.int64)
        classes = EMOTIONS_8 if (labels == 7).any() else EMOTIONS
        splits = {}
        for split in SPLITS:
            idx = [i for i, r in enumerate(rows) if r[2] == split]
            if idx:
                imgs = images[idx]
                if size is not None or color == "rgb":
                    imgs = np.stack([_prepare(im, size, color) for im in imgs])
                splits[split] = SplitArrays(imgs, labels[idx],
                                            [f"{self.csv}:{rows[i][3]}" for i in idx])
        return Decoded(classes, splits, [], {f"{side}x{side}": len(rows)})


def _prepare(img: np.ndarray, size: tuple[int, int] | None, color: str) -> np.ndarray:
    import cv2

    img = resize_to(img, size) if size else img
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB) if color == "rgb" else img


#: the longest pixel field read: 4 characters per pixel of a 4096x4096 image
MAX_FIELD_CHARS = 4 * 4096 * 4096


def _read_rows(path: Path, progress: bool) -> list[tuple[int, str, str, int]]:
    """(emotion, pixel string, split, line number) per data row, validated except pixels."""
    rows = []
    # a row holds a whole image: 256x256 JAFFE pixels are ~250 KB, over csv's 128 KB default
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    with _open(path) as fh, progress_bar(path.stat().st_size, f"reading {path.name}",
                                         progress) as advance:
        reader = csv.reader(fh)
        try:
            cols = _columns(path, next(reader, []))
            e_col, p_col, u_col = cols["emotion"], cols["pixels"], cols.get("usage")
            for rec in reader:
                if not rec or not any(f.strip() for f in rec):
                    continue
                line = reader.line_num
                rows.append(_row(path, line, rec, e_col, p_col, u_col))
                advance(len(rec[p_col]) if p_col < len(rec) else 0)
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
            raise DataError(f"{path}: cannot be read as CSV ({exc}); {FIX}") from None
    if not rows:
        raise DataError(f"{path}: has a header but no data rows; {FIX}")
    return rows


def _row(path: Path, line: int, rec: list[str], e_col: int, p_col: int,
         u_col: int | None) -> tuple[int, str, str, int]:
    width = max(e_col, p_col, u_col or 0) + 1
    if len(rec) < width:
        raise DataError(f"{path}: line {line} has {len(rec)} fields, expected {width}; {FIX}")
    emotion = rec[e_col].strip()
    if not emotion.isdigit() or int(emotion) >= len(EMOTIONS_8):
        raise DataError(f"{path}: line {line}: emotion {emotion!r} is not an integer 0-7 "
                        f"(0 angry ... 6 neutral, 7 contempt); fix or remove the row")
    split = "train"
    if u_col is not None:
        usage = rec[u_col].strip()
        split = USAGE_TO_SPLIT.get(usage) or canonical_split(usage) or ""
        if not split:
            raise DataError(f"{path}: line {line}: Usage {usage!r} is not one of "
                            f"Training, PublicTest, PrivateTest")
    return int(emotion), rec[p_col], split, line


def _pixel_count(path: Path, rows: list[tuple[int, str, str, int]]) -> int:
    """The per-row pixel count (the most common one; must be a square number)."""
    counts = Counter(len(r[1].split()) for r in rows[:200])
    n_pix = counts.most_common(1)[0][0]
    if n_pix == 0 or math.isqrt(n_pix) ** 2 != n_pix:
        raise DataError(f"{path}: rows have {n_pix} pixel values, which is not a square image "
                        f"(FER2013 rows have 2304 = 48x48); {FIX}")
    return n_pix


def _parse_pixels(path: Path, rows: list[tuple[int, str, str, int]], n_pix: int) -> np.ndarray:
    """All pixel strings → uint8 (N, n_pix), in C-speed chunks; errors name the line."""
    out = np.empty((len(rows), n_pix), dtype=np.uint8)
    step = 2048
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        if any(r[1].strip().count(" ") + 1 != n_pix for r in chunk):
            _check_rows(path, chunk, n_pix)  # raises unless only the spacing is irregular
        try:
            flat = np.fromstring(" ".join(r[1] for r in chunk), dtype=np.int64, sep=" ")
        except ValueError:
            flat = np.empty(0, dtype=np.int64)
        if flat.size != len(chunk) * n_pix or flat.min() < 0 or flat.max() > 255:
            _check_rows(path, chunk, n_pix)
            raise DataError(f"{path}: pixel values could not be parsed; {FIX}")
        out[start:start + len(chunk)] = flat.reshape(len(chunk), n_pix)
    return out


def _check_rows(path: Path, chunk: list[tuple[int, str, str, int]], n_pix: int) -> None:
    """Raise for the first row with a wrong pixel count or a non-integer / out-of-range value."""
    for _, pixels, _, line in chunk:
        tokens = pixels.split()
        if len(tokens) != n_pix:
            raise DataError(f"{path}: line {line} has {len(tokens)} pixel values, expected "
                            f"{n_pix}; fix or remove the row")
        bad = next((t for t in tokens if not t.isdigit() or int(t) > 255), None)
        if bad is not None:
            raise DataError(f"{path}: line {line}: pixel value {bad!r} is not an integer "
                            f"0-255; fix or remove the row")


def detect(path: Path) -> bool:
    return csv_file(path) is not None


@register_format("fer2013_csv", "FER2013 CSV: emotion,pixels,Usage (.csv or .csv.gz)",
                 detect, priority=50)
def scan(root: Path) -> CsvSource:
    path = csv_file(root)
    if path is None:
        raise DataError(f"{str(root)!r} is not a .csv/.csv.gz file (or a folder holding exactly "
                        f"one); {FIX}")
    try:
        with _open(path) as fh:
            _columns(path, next(csv.reader(fh), []))
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc}); {FIX}") from None
    return CsvSource(root, path)
