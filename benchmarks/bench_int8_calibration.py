"""INT8 calibration choices, judged on training images only: how closely each INT8 file follows
its float model.

    .venv/bin/python benchmarks/bench_int8_calibration.py --data ../shared/data/fer2013 \\
        --model fast --model default --methods minmax percentile entropy --sizes 512 2048

Why: ``ferkit export --format onnx-int8`` calibrates with ``minmax`` on 512 training images and
reports top-1 agreement with the float model on only 128 held-out ones, too few to tell two
choices apart. Here every (method, calibration size) is quantized exactly as ``ferkit export
--calibration DATA --calibration-method M --calibration-size N`` quantizes it (same draw, seed
0, same 25% kept out of calibration) and compared with the float model on ``--agree`` *other*
training images (disjoint from every calibration draw): top-1 agreement and mean absolute
probability difference. The choice can then be made on training images alone; PublicTest
(``--split``) accuracy is printed beside it for information, never to choose by (that would
tune on the split the README reports).
Memory: ONNX Runtime's histogram calibrators (percentile, entropy) keep every activation of every
calibration image; 2,048 images of a 112 px EfficientNet-Lite0 exceeded 24 GiB (killed), 512 fit.
Results: ``benchmarks/results/<--name>-<date>.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line, write_result  # noqa: E402
from bench_agreement import compare  # noqa: E402


def judge_indices(total: int, drawn: list[np.ndarray], agree: int, seed: int) -> np.ndarray:
    """``agree`` sorted training indices outside every calibration draw, from their own seed."""
    free = np.setdiff1d(np.arange(total), np.concatenate(drawn))
    if agree > len(free):
        raise SystemExit(f"--agree {agree}: only {len(free)} training images lie outside the "
                         "calibration draws; lower it")
    return np.sort(np.random.default_rng(seed).permutation(free)[:agree])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="FER2013 (folder or CSV)")
    ap.add_argument("--model", action="append", required=True,
                    help="bundled name or float checkpoint (repeatable)")
    ap.add_argument("--methods", nargs="+", default=["minmax", "percentile", "entropy"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[512])
    ap.add_argument("--agree", type=int, default=3000,
                    help="training images that judge agreement (never calibrated on)")
    ap.add_argument("--split", default="val", help="reported for information only")
    ap.add_argument("--calibration-seeds", nargs="+", type=int, default=[0],
                    help="calibration draws to try (export draws with seed 0); several seeds "
                         "measure how much an INT8 file's accuracy moves with the draw alone")
    ap.add_argument("--seed", type=int, default=1, help="draws the judging images")
    ap.add_argument("--name", default="int8-calibration")
    ap.add_argument("--output", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args(argv)

    import onnxruntime  # noqa: F401  (so machine_info records its version)

    from ferkit.bundled import resolve_model
    from ferkit.checkpoint import read_meta
    from ferkit.data import load_dataset
    from ferkit.eval.crossdata import match_labels
    from ferkit.eval.report import data_color
    from ferkit.export.quantize import calibration_indices, quantize_onnx
    from ferkit.inference.backends import load_backend

    def probabilities(path, *image_sets):
        """One ONNX Runtime backend per file (as predict runs .onnx files, 2 threads)."""
        model = load_backend(path, backend="onnx", threads=2)
        return [model.predict_proba(images) for images in image_sets]

    rows = []
    with tempfile.TemporaryDirectory(prefix="ferkit-int8-cal-") as tmp:
        for spec in args.model:
            ckpt = resolve_model(spec, "torch")
            meta = read_meta(ckpt)  # labels and colour only: no weights to build
            ds = load_dataset(args.data, color=data_color(meta))
            train, test = ds.split("train"), ds.split(args.split)
            cal = {(n, s): calibration_indices(len(train.labels), n, s)
                   for n in args.sizes for s in args.calibration_seeds}
            judge = judge_indices(len(train.labels), list(cal.values()), args.agree, args.seed)
            ref, ref_test = probabilities(ckpt, train.images[judge], test.images)  # float
            y = match_labels(tuple(ds.classes), tuple(meta.info.labels), test.labels,
                             args.split).y
            float_acc = float((ref_test.argmax(1) == y).mean())
            for (size, cseed), method in itertools.product(cal, args.methods):
                out = Path(tmp) / f"{ckpt.stem}.{method}.{size}.{cseed}.int8.onnx"
                # what `ferkit export --calibration-size SIZE --calibration-method METHOD`
                # writes (seed 0: the same draw), its last 25% kept for export's own check
                quantize_onnx(ckpt, out, calibration=train.images[cal[size, cseed]],
                              calibration_note=f"{size} training images (seed {cseed})",
                              method=method)
                p, pt = probabilities(out, train.images[judge], test.images)
                same = compare(p, ref)
                row = {"model": spec, "method": method, "calibration_images": size,
                       "calibration_seed": cseed, "agreement": same["top1_agreement"],
                       "mean_abs_prob_diff": same["mean_abs_prob_diff"],
                       "judge_images": same["images"], "float_split_acc": float_acc,
                       "int8_split_acc": float((pt.argmax(1) == y).mean()),
                       "split_images": int(len(test.labels))}
                rows.append(row)
                print(f"{spec} {method} {size} seed {cseed}: agreement "
                      f"{row['agreement']:.4f}  mean |dp| {row['mean_abs_prob_diff']:.4f}  "
                      f"({args.split}: INT8 "
                      f"{row['int8_split_acc']:.4f}, float {float_acc:.4f})", file=sys.stderr)
    today = dt.date.today().isoformat()
    result = {"benchmark": "int8-calibration", "date": today, "data": args.data,
              "split": args.split, "judge_seed": args.seed, "machine": machine_info(), "rows": rows,
              "command": "python benchmarks/bench_int8_calibration.py "
                         + " ".join(argv or sys.argv[1:])}
    write_result(Path(args.output) / f"{args.name}-{today}", result, markdown)
    return 0


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"# INT8 calibration choices, judged on training images — {r['date']}", "",
             f"`{r['command']}`", "",
             f"{machine_line(m)} · data `{r['data']}` · judging images drawn with seed "
             f"{r['judge_seed']}", "",
             "Each INT8 file (what `ferkit export --format onnx-int8 --calibration-method M "
             "--calibration-size N` writes: static QDQ, per-channel 7-bit weights, uint8 "
             "activations; 75% of the N images calibrate) against its own float model on "
             "training images that no calibration draw contains. The choice is made on these "
             f"columns; the `{r['split']}` columns are for information only.", "",
             "| model | method | calibration images | draw seed | top-1 agreement "
             f"| mean abs prob diff | INT8 {r['split']} | float {r['split']} |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        lines.append(f"| {row['model']} | {row['method']} | {row['calibration_images']} | "
                     f"{row.get('calibration_seed', 0)} | {row['agreement']:.2%} | "
                     f"{row['mean_abs_prob_diff']:.4f} | "
                     f"{row['int8_split_acc']:.2%} | {row['float_split_acc']:.2%} |")
    n = r["rows"][0]["judge_images"] if r["rows"] else 0
    lines += ["", f"Agreement is over {n} training images per model."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
