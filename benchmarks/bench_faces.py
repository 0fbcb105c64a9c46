"""Face detectors on the reference photos: speed (ms/image) and recall of the main faces.

    .venv/bin/python benchmarks/bench_faces.py [--media /work/shared/data/media] [--model CKPT]

Per detector and photo: one warm-up call, then the median of ``--repeats`` timed
``detector.detect(image)`` calls on the full-resolution BGR image (each detector downscales
internally as it does in ``ferkit predict``). Recall counts the hand-marked main faces matched by a
detection with IoU >= 0.3 (detectors draw boxes of different tightness; 0.3 still needs the same
face); "extra" counts the other detections (background faces or false positives). With
``--model``, the whole ``Pipeline.predict_image`` (detect + align + classify) is timed too.
Results: ``benchmarks/results/faces-<date>.{json,md}`` with the git commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, git_commit  # noqa: E402,F401  (bench_video imports these)
from _machine import machine_info as machine  # noqa: E402

#: main faces marked by hand on the reference photos (x, y, w, h in original pixels)
MAIN_FACES = {
    "astronaut.png": [(177, 65, 97, 97)],
    "obama.jpg": [(355, 100, 282, 282)],
    "obama_and_biden.jpg": [(725, 405, 220, 220), (1120, 360, 230, 230)],
}
DETECTORS = ("haar", "haar-default", "dlib-hog", "dlib-cnn")


def timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), out


def score(found, truth) -> tuple[int, int]:
    from ferkit.types import BBox

    boxes = [d.bbox for d in found]
    hits = sum(any(BBox(*t).iou(b) >= 0.3 for b in boxes) for t in truth)
    extra = sum(not any(BBox(*t).iou(b) >= 0.3 for t in truth) for b in boxes)
    return hits, extra


def bench_detector(name: str, images: dict, repeats: int) -> dict:
    from ferkit.errors import FerkitError
    from ferkit.faces import create_detector

    try:
        det = create_detector(name)
    except FerkitError as exc:
        return {"detector": name, "skipped": str(exc)}
    rows = []
    for fname, img in images.items():
        ms, found = timed(lambda d=det, im=img: d.detect(im), repeats)
        hits, extra = score(found, MAIN_FACES[fname])
        rows.append({"image": fname, "size": f"{img.shape[1]}x{img.shape[0]}", "ms": round(ms, 2),
                     "faces": len(found), "main_found": hits,
                     "main_total": len(MAIN_FACES[fname]), "extra": extra})
        print(f"{name:13s} {fname:20s} {ms:8.1f} ms  faces={len(found)} "
              f"main={hits}/{len(MAIN_FACES[fname])} extra={extra}", flush=True)
    found = sum(r["main_found"] for r in rows)
    total = sum(r["main_total"] for r in rows)
    return {"detector": name, "recall": found / total, "rows": rows,
            "median_ms": statistics.median(r["ms"] for r in rows)}


def bench_pipeline(model: str, images: dict, repeats: int) -> list[dict]:
    from ferkit.inference.pipeline import Pipeline

    pipe = Pipeline(model, detector="haar")
    out = []
    for fname, img in images.items():
        ms, res = timed(lambda im=img: pipe.predict_image(im), repeats)
        out.append({"image": fname, "ms": round(ms, 2), "faces": len(res.faces)})
        print(f"pipeline(haar) {fname:20s} {ms:8.1f} ms  faces={len(res.faces)}", flush=True)
    return out


def write_results(result: dict, out_dir: Path) -> Path:
    from ferkit.io import atomic_write_json, atomic_write_text

    stem = out_dir / f"faces-{result['date']}"
    atomic_write_json(stem.with_suffix(".json"), result)
    m = result["machine"]
    lines = [f"# Face detectors on the reference photos ({result['date']})", "",
             f"commit `{result['commit']}`; {m['cpu']} x{m['cpu_count']}; {m['platform']}; "
             f"load average at start {m['load_average']}.", "", result["note"], "",
             "| detector | image | size | ms/image (median) | faces | main found | extra |",
             "|---|---|---|---:|---:|---:|---:|"]
    for d in result["detectors"]:
        if "skipped" in d:
            lines.append(f"| {d['detector']} | skipped: {d['skipped']} | | | | | |")
            continue
        for r in d["rows"]:
            lines.append(f"| {d['detector']} | {r['image']} | {r['size']} | {r['ms']:.1f} | "
                         f"{r['faces']} | {r['main_found']}/{r['main_total']} | {r['extra']} |")
    lines += ["", "| detector | recall (main faces) | median ms/image |", "|---|---:|---:|"]
    for d in result["detectors"]:
        if "skipped" not in d:
            lines.append(f"| {d['detector']} | {d['recall']:.2f} | {d['median_ms']:.1f} |")
    if result.get("pipeline"):
        lines += ["", "Whole `Pipeline.predict_image` (haar + align + classify, "
                  f"model `{result['model']}`):", "", "| image | ms | faces |", "|---|---:|---:|"]
        lines += [f"| {r['image']} | {r['ms']:.1f} | {r['faces']} |" for r in result["pipeline"]]
    atomic_write_text(stem.with_suffix(".md"), "\n".join(lines) + "\n")
    return stem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", default="/work/shared/data/media")
    ap.add_argument("--model", default=None, help="checkpoint: also time the whole pipeline")
    ap.add_argument("--detectors", default=",".join(DETECTORS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--note", default="Shared 2-core machine: other jobs were running during "
                    "this run, so absolute times are pessimistic and noisy.")
    args = ap.parse_args(argv)
    from ferkit.inference.video import read_image

    images = {name: read_image(Path(args.media) / name) for name in MAIN_FACES}
    result = {"date": dt.date.today().isoformat(), "commit": git_commit(),
              "machine": machine(), "note": args.note, "repeats": args.repeats,
              "model": args.model, "iou_match": 0.3,
              "detectors": [bench_detector(n, images, args.repeats)
                            for n in args.detectors.split(",") if n]}
    if args.model:
        result["pipeline"] = bench_pipeline(args.model, images, args.repeats)
    print(f"wrote {write_results(result, Path(args.out))}.{{json,md}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
