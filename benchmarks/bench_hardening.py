"""Resource safety of ``ferkit predict``: a decompression bomb, and faces on a huge group photo.

    .venv/bin/python benchmarks/bench_hardening.py [--media /work/shared/data/media] [--out DIR]

1. Bomb: a valid 30000×30000 gray PNG (~0.9 MB on disk, 900 MB decoded as gray, 2.7 GB as BGR)
   is written, then ``python -m ferkit.cli.app predict bomb.png`` runs as a child process. Its
   wall time (process start to exit, Python start-up included) and peak RSS (``wait4``
   rusage) are printed with its exit code and message.
2. Large photos: an 8000×6000 canvas with 336 copies of the face in ``obama.jpg`` at 180 px
   (21×16 grid; the issue's group photo), and a 4000×3000 one with 192 faces of 100 px. Faces
   found (IoU >= 0.3 with a pasted face) and time with the default Haar detector as
   ``Pipeline.find_faces`` runs it (640 px working size, plus tiles for images far above it),
   by the detector alone (no tiles: the behaviour before), and with ``max_side=4000``.

Results go to ``benchmarks/results/hardening-<date>.md`` with the commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info  # noqa: E402

OBAMA_FACE = (355, 100, 282, 282)  # x, y, w, h (bench_faces.MAIN_FACES)


def write_bomb(path: Path, side: int = 30000) -> Path:
    """A valid 8-bit gray PNG of ``side``² zero pixels, compressed in a stream (low memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)))
        fh.write(chunk(b"IDAT", b"".join(parts)))
        fh.write(chunk(b"IEND", b""))
    return path


def run_bomb(tmp: Path) -> dict:
    bomb = write_bomb(tmp / "bomb.png")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ferkit.cli.app", "predict", str(bomb)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode().strip()
    return {"file_mb": bomb.stat().st_size / 1e6, "exit": os.waitstatus_to_exitcode(status),
            "wall_s": wall, "max_rss_mb": usage.ru_maxrss / 1024, "message": err}


def group_photo(media: Path, width: int = 8000, height: int = 6000, face: int = 180,
                cols: int = 21, rows: int = 16):
    import cv2
    import numpy as np

    src = cv2.imread(str(media / "obama.jpg"))
    x, y, w, h = OBAMA_FACE
    m = w // 4  # keep some context around the face box
    crop = src[max(0, y - m):y + h + m, max(0, x - m):x + w + m]
    scale = face / w
    tile = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    off_x, off_y = (x - max(0, x - m)) * scale, (y - max(0, y - m)) * scale
    rng = np.random.default_rng(0)
    canvas = rng.integers(90, 140, (height, width, 3), dtype=np.uint8)
    boxes = []
    step_x, step_y = width // cols, height // rows
    for r in range(rows):
        for c in range(cols):
            px, py = c * step_x + 20, r * step_y + 20
            th, tw = tile.shape[:2]
            canvas[py:py + th, px:px + tw] = tile[:height - py, :width - px]
            boxes.append((px + off_x, py + off_y, face, face))
    return canvas, boxes


def matched(dets, boxes) -> int:
    from ferkit.types import BBox

    found = 0
    for bx in boxes:
        b = BBox(*map(float, bx))
        if any(b.iou(d.bbox) >= 0.3 for d in dets):
            found += 1
    return found


#: (width, height, face px, columns, rows): the issue's group photo and a phone-size photo
SCENES = ((8000, 6000, 180, 21, 16), (4000, 3000, 100, 16, 12))


def run_large(media: Path) -> list[dict]:
    from ferkit.faces import create_detector
    from ferkit.inference.tiling import detect_faces

    rows = []
    for width, height, face, cols, nrows in SCENES:
        image, boxes = group_photo(media, width, height, face, cols, nrows)
        for label, det, fn in (
            ("haar, default (640 px + tiles)", create_detector("haar"), detect_faces),
            ("haar, no tiles (before)", create_detector("haar"), lambda d, im: d.detect(im)),
            ("haar, -D max_side=4000", create_detector("haar", max_side=4000), detect_faces),
        ):
            t0 = time.perf_counter()
            dets = fn(det, image)
            rows.append({"scene": f"{width}x{height}, {len(boxes)} faces of {face} px",
                         "setting": label, "faces": len(boxes), "found": matched(dets, boxes),
                         "detections": len(dets), "seconds": time.perf_counter() - t0})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", type=Path, default=Path("/work/shared/data/media"))
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bomb = run_bomb(Path(tmp))
    print(f"bomb: {bomb['file_mb']:.2f} MB PNG, exit {bomb['exit']}, {bomb['wall_s']:.2f} s "
          f"wall, peak RSS {bomb['max_rss_mb']:.0f} MB: {bomb['message']}")
    large = run_large(args.media)
    for r in large:
        print(f"{r['scene']}: {r['setting']}: found {r['found']}/{r['faces']} "
              f"({r['detections']} detections) in {r['seconds']:.2f} s")
    info = machine_info()
    date = dt.date.today().isoformat()
    lines = [f"# Hardening measurements ({date})", "",
             "Command: `python benchmarks/bench_hardening.py`", "",
             f"Commit `{info['git_commit']}`; {info['cpu']} ({info['cpu_count']} CPUs), "
             f"load average {info['load_average']}; Python {info['python']}. Times are "
             "wall-clock seconds, one run each; on a shared, loaded machine they are upper "
             "bounds.", "",
             "## Decompression bomb: `ferkit predict bomb.png` (30000×30000 PNG)", "",
             "| PNG on disk | exit | wall time (whole process) | peak RSS | message |",
             "|---|---|---|---|---|",
             f"| {bomb['file_mb']:.2f} MB | {bomb['exit']} | {bomb['wall_s']:.2f} s | "
             f"{bomb['max_rss_mb']:.0f} MB | {bomb['message']} |", "",
             "## Faces on large photos (`ferkit.inference.tiling.detect_faces`, as "
             "`Pipeline.find_faces` runs it)", "",
             "| photo | setting | faces found | detections | seconds |", "|---|---|---|---|---|"]
    lines += [f"| {r['scene']} | {r['setting']} | {r['found']}/{r['faces']} | "
              f"{r['detections']} | {r['seconds']:.2f} |" for r in large]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"hardening-{date}.md"
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
