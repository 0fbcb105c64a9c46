"""Face detectors against ground truth: recall, precision, ms/photo and end-to-end video fps.

    .venv/bin/python benchmarks/bench_detect.py [--detectors haar,dlib-hog,mtcnn,...] [--video]

The labelled set (``_detect_set.py``) is rebuilt deterministically from FER2013 and the media
photos: ``fer48`` (pre-cropped 48×48 faces), ``collage`` (FER faces at 40-200 px, rotated up to
±30°, under changed lighting, on clutter and real backgrounds) and ``media`` (three photos with
hand-checked boxes, mirrored and rotated ±20°). A detection is a hit when its IoU with an unmatched
true box is >= 0.5 (greedy, best score first); every other detection is a false positive unless it
overlaps an ``ignore`` box. Each detector runs with the options ``ferkit predict`` gives it.
ms/photo: one warm-up call, then the median over the photos (one timed call each, single thread).
``--video``: fps of ``Pipeline.predict_video`` on the clip with each detector as ``ferkit predict``
runs it (detection every 3rd frame, the bundled default model, 1 thread), via bench_video.
Results: ``benchmarks/results/detect-<date>.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _detect_set import GT_SHRINK, Sample, build  # noqa: E402
from _machine import REPO, git_commit, machine_info  # noqa: E402

DETECTORS = ("haar", "haar-default", "dlib-hog", "mtcnn", "blazeface", "blazeface-full")
IOU = 0.5
SUBSETS = ("fer48", "collage", "media")
SWEEP = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
#: options for a second, sweep-only pass that lets low-scoring detections through (the sweep then
#: filters them); other detectors' sweeps reuse the main pass (Haar scores are all 1.0; dlib's
#: are SVM margins, so its cut-offs mean something else)
SWEEP_OPTIONS = {"mtcnn": {"score_threshold": 0.3}, "blazeface": {"score_threshold": 0.3},
                 "blazeface-full": {"score_threshold": 0.3}}


def iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    h = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = w * h
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


def match(found: list[tuple[tuple[float, ...], float]], sample: Sample) -> tuple[int, int, int]:
    """(hits, false positives, misses) for one image; ``found`` = [(x,y,w,h), score]."""
    free = list(range(len(sample.boxes)))
    hits = fps = 0
    for box, _ in sorted(found, key=lambda d: -d[1]):
        best = max(free, key=lambda j: iou(box, sample.boxes[j]), default=None)
        if best is not None and iou(box, sample.boxes[best]) >= IOU:
            free.remove(best)
            hits += 1
        elif not any(iou(box, g) >= 0.3 for g in sample.ignore):
            fps += 1
    return hits, fps, len(free)


def background(found, sample: Sample) -> int:
    """Detections touching no true or ignored face (IoU < 0.1): clutter taken for a face, as
    opposed to a real face boxed too loosely or too tightly for IoU 0.5."""
    return sum(not any(iou(box, g) >= 0.1 for g in sample.boxes + sample.ignore)
               for box, _ in found)


def sweep(found_all, samples: list[Sample]) -> list[dict]:
    """Recall/precision when only detections scoring >= each cut-off are kept (for MTCNN the
    same as raising O-Net's threshold: NMS keeps the best-scoring box of each cluster)."""
    rows = []
    for cut in SWEEP:
        h = f = m = 0
        for found, sample in zip(found_all, samples, strict=True):
            hits, fps, misses = match([d for d in found if d[1] >= cut], sample)
            h, f, m = h + hits, f + fps, m + misses
        rows.append({"min_score": cut, "recall": h / max(h + m, 1),
                     "precision": h / max(h + f, 1), "false_positives": f})
    return rows


def detections(det, samples: list[Sample]) -> tuple[list[list], list[float]]:
    """Every sample's [((x, y, w, h), score)] and the ms each ``detect`` call took."""
    det.detect(samples[0].image)  # warm-up
    found_all, times = [], []
    for sample in samples:
        t0 = time.perf_counter()
        found = det.detect(sample.image)
        times.append((time.perf_counter() - t0) * 1000)
        found_all.append([((d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h), d.score) for d in found])
    return found_all, times


def evaluate(name: str, samples: list[Sample], options: dict) -> dict:
    from ferkit.errors import FerkitError
    from ferkit.faces import create_detector

    try:
        det = create_detector(name, **options)
    except FerkitError as exc:
        return {"detector": name, "skipped": str(exc)}
    per = {s: {"hits": 0, "fps": 0, "misses": 0, "ms": []} for s in SUBSETS}
    found_all, times = detections(det, samples)
    for sample, found, ms in zip(samples, found_all, times, strict=True):
        hits, fps, misses = match(found, sample)
        row = per[sample.subset]
        row["hits"] += hits
        row["fps"] += fps
        row["misses"] += misses
        row["ms"].append(ms)
    back = sum(background(f, s) for f, s in zip(found_all, samples, strict=True))
    if name in SWEEP_OPTIONS:
        loose = create_detector(name, **{**options, **SWEEP_OPTIONS[name]})
        found_all = detections(loose, samples)[0]
    out = {"detector": name, "options": options, "subsets": {}, "background_fp": back,
           "sweep": sweep(found_all, samples)}
    for subset, row in per.items():
        if row["ms"]:
            out["subsets"][subset] = summarise(row)
    total = {k: sum(per[s][k] for s in per) for k in ("hits", "fps", "misses")}
    out["all"] = summarise({**total, "ms": [m for s in per for m in per[s]["ms"]]})
    a = out["all"]
    print(f"{name:15s} recall {a['recall']:.3f} precision {a['precision']:.3f} "
          f"FP {a['false_positives']:3d} (background {out['background_fp']})  " + "  ".join(
              f"{s}: R {v['recall']:.2f} P {v['precision']:.2f} {v['ms']:.1f} ms"
              for s, v in out["subsets"].items()), flush=True)
    return out


def summarise(row: dict) -> dict:
    truth = row["hits"] + row["misses"]
    found = row["hits"] + row["fps"]
    return {"recall": row["hits"] / max(truth, 1), "precision": row["hits"] / max(found, 1),
            "hits": row["hits"], "faces": truth, "false_positives": row["fps"],
            "ms": statistics.median(row["ms"]), "images": len(row["ms"])}


def video_fps(names: list[str], media: Path, repeats: int) -> dict[str, dict]:
    """End-to-end fps on the clip as ``ferkit predict`` runs it, per detector."""
    import torch

    from bench_video import CLIP, fps_of
    from ferkit.bundled import resolve_model
    from ferkit.errors import FerkitError
    from ferkit.inference.pipeline import Pipeline

    torch.set_num_threads(1)
    out = {}
    for name in names:
        try:
            pipe = Pipeline(resolve_model(None), detector=name, backend_options={"threads": 1})
        except FerkitError as exc:
            out[name] = {"skipped": str(exc)}
            continue
        res = fps_of(lambda p=pipe: p.predict_video(media / CLIP,
                                                    detect_every=3).frames_processed, repeats)
        summary = pipe.predict_video(media / CLIP, detect_every=3)
        res["frames_with_faces"] = summary.frames_with_faces / max(summary.frames_processed, 1)
        out[name] = res
        print(f"{name:15s} video {res['fps']:.1f} fps ({res['fps_by_cpu_time']} by CPU time); "
              f"a face in {res['frames_with_faces']:.0%} of frames", flush=True)
    return out


def framing(names: list[str], fer_root: Path, n: int, seed: int) -> None:
    """Median box (centre x, centre y, width, height) each detector draws on ``n`` 48×48 FER2013
    crops, with its own boxes (``square=False``): the numbers behind MTCNN's SQUARE_SCALE and
    BlazeFace's BOX_SCALE/BOX_SHIFT, which map their boxes onto Haar's framing."""
    import numpy as np

    from _detect_set import fer48
    from ferkit.errors import FerkitError
    from ferkit.faces import create_detector

    samples = fer48(fer_root, n, seed)
    for name in names:
        try:
            det = create_detector(name, square=False)
        except FerkitError:
            det = create_detector(name)  # no own-box option (Haar: the reference framing)
        rows = [(d.bbox.x + d.bbox.w / 2, d.bbox.y + d.bbox.h / 2, d.bbox.w, d.bbox.h)
                for s in samples for d in det.detect(s.image)
                if abs(d.bbox.x + d.bbox.w / 2 - 24) < 8 and abs(d.bbox.y + d.bbox.h / 2 - 24) < 8]
        med = np.median(np.asarray(rows), 0) if rows else [float("nan")] * 4
        print(f"{name:15s} {len(rows):3d} centred boxes on {n} FER2013 crops; median centre "
              f"({med[0]:.1f}, {med[1]:.1f}), size {med[2]:.1f} x {med[3]:.1f}", flush=True)


def write_results(result: dict, out_dir: Path) -> Path:
    from ferkit.io import atomic_write_json, atomic_write_text

    stem = out_dir / f"detect-{result['date']}"
    atomic_write_json(stem.with_suffix(".json"), result)
    m = result["machine"]
    lines = [f"# Face detectors against ground truth ({result['date']})", "",
             f"commit `{result['commit']}`; {m['cpu']} x{m['cpu_count']}; {m['platform']}; "
             f"load average at start {m['load_average']}, at end {result['load_average_end']}.",
             "", f"Command: `{result['command']}`", "", result["note"], "",
             f"Set: {result['set']}. Hit: IoU >= {IOU} with a true box (true boxes of FER "
             f"faces are {GT_SHRINK:.1%} of their square: Haar's framing).", "",
             "| detector | recall | precision | false positives (background) | recall fer48 | "
             "recall collage | recall media | FP media | ms/photo collage 640x480 | "
             "ms/photo media | video fps, k=3 (frames with a face) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in result["detectors"]:
        if "skipped" in d:
            lines.append(f"| {d['detector']} | skipped: {d['skipped']} |" + " |" * 9)
            continue
        s, a = d["subsets"], d["all"]
        v = result.get("video", {}).get(d["detector"], {})
        fps = (f"{v['fps']:.0f} ({v['frames_with_faces']:.0%})" if "fps" in v else "-")
        lines.append(
            f"| {d['detector']} | {a['recall']:.3f} | {a['precision']:.3f} | "
            f"{a['false_positives']} ({d['background_fp']}) | {s['fer48']['recall']:.2f} | "
            f"{s['collage']['recall']:.2f} | {s['media']['recall']:.2f} "
            f"({s['media']['hits']}/{s['media']['faces']}) | {s['media']['false_positives']} | "
            f"{s['collage']['ms']:.1f} | {s['media']['ms']:.1f} | {fps} |")
    lines += ["", "Score cut-off sweep (recall / precision / false positives when only detections "
              "scoring at least the cut-off are kept; MTCNN and BlazeFace run with "
              "score_threshold 0.3 for it; dlib's scores are SVM margins):", "",
              "| detector | " + " | ".join(f">= {c:g}" for c in SWEEP) + " |",
              "|---|" + "---:|" * len(SWEEP)]
    for d in result["detectors"]:
        if "sweep" in d:
            lines.append(f"| {d['detector']} | " + " | ".join(
                f"{r['recall']:.3f} / {r['precision']:.3f} / {r['false_positives']}"
                for r in d["sweep"]) + " |")
    atomic_write_text(stem.with_suffix(".md"), "\n".join(lines) + "\n")
    return stem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fer", default="/work/shared/data/fer2013")
    ap.add_argument("--media", default="/work/shared/data/media")
    ap.add_argument("--detectors", default=",".join(DETECTORS))
    ap.add_argument("--n-fer", type=int, default=100)
    ap.add_argument("--n-collage", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--video", action="store_true", help="also time the clip end to end")
    ap.add_argument("--framing", action="store_true", help="only print each detector's median "
                    "box on FER2013 crops (calibrates the Haar-framed boxes) and exit")
    ap.add_argument("--repeats", type=int, default=3, help="video runs (median)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--note", default="Shared 2-core machine (a training job and other sessions "
                    "were running): runs kept short; times are pessimistic and noisy.")
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    names = [n for n in args.detectors.split(",") if n]
    if args.framing:
        framing(names, Path(args.fer), 300, 5)
        return 0
    samples = build(Path(args.fer), Path(args.media), args.n_fer, args.n_collage, args.seed)
    faces = sum(len(s.boxes) for s in samples)
    print(f"{len(samples)} images, {faces} faces", flush=True)
    start = machine_info()
    result = {"date": dt.date.today().isoformat(), "commit": git_commit(), "machine": start,
              "command": "python benchmarks/bench_detect.py " + " ".join(argv or sys.argv[1:]),
              "note": args.note, "iou": IOU,
              "set": f"{len(samples)} images with {faces} faces (fer48 {args.n_fer}, collage "
                     f"{args.n_collage}, media 12; seed {args.seed})",
              "detectors": [evaluate(n, samples, {}) for n in names]}
    if args.video:
        result["video"] = video_fps(names, Path(args.media), args.repeats)
    result["load_average_end"] = machine_info()["load_average"]
    print(f"wrote {write_results(result, Path(args.out))}.{{json,md}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
