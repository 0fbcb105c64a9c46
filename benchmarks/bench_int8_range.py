"""INT8 weight range vs the CPU's integer kernels: PublicTest accuracy of each bundled model
quantized with 8-bit and with 7-bit weights, as this CPU's ONNX Runtime kernels compute it and
as the exact QDQ maths gives it.

    .venv/bin/python benchmarks/bench_int8_range.py --data ../shared/data/fer2013

For every bundled model the float checkpoint is quantized twice with ferkit's own export (the
same calibration: 512 training images, seed 0, minmax, per-channel), once with
``reduce_range=False`` (8-bit weights, what ferkit shipped until 2026-12-01) and once with
``reduce_range=True`` (7-bit, the default since). Each file is then run on the split twice:
with all graph optimisations (ONNX Runtime fuses the QDQ pairs into its integer kernels: what
``predict`` runs) and with none (dequantize → float op → quantize: the exact INT8 maths, which a
CPU with VNNI reproduces). On a CPU without VNNI the integer kernels saturate int16 pair sums
for 8-bit weights; the gap between the two columns shows it. The float checkpoint's accuracy
is the reference. ``cpu_isa`` in the result says which kind of CPU this was.
Results: ``benchmarks/results/int8-range-<date>.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line, write_result  # noqa: E402


def accuracy(path: Path, images: np.ndarray, y: np.ndarray, optimize: bool) -> float:
    from ferkit.export.onnx import make_session, read_onnx_meta
    from ferkit.preprocess import to_model_input_numpy

    info = read_onnx_meta(path).info
    sess = make_session(path, threads=2, optimize=optimize)
    name = sess.get_inputs()[0].name
    pred = [sess.run(None, {name: to_model_input_numpy(images[i:i + 256], info)})[0].argmax(1)
            for i in range(0, len(images), 256)]
    return float((np.concatenate(pred) == y).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="FER2013 (folder or CSV)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--models", default="default,fast")
    ap.add_argument("--output", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args(argv)

    import onnxruntime  # noqa: F401  (so machine_info records its version)

    from ferkit.bundled import BUNDLED
    from ferkit.checkpoint import load_model
    from ferkit.data import load_dataset
    from ferkit.eval import evaluate
    from ferkit.eval.crossdata import match_labels
    from ferkit.eval.report import data_color
    from ferkit.export import export_model
    from ferkit.export.onnx import read_onnx_meta

    rows = []
    with tempfile.TemporaryDirectory(prefix="ferkit-int8-range-") as tmp:
        for name in args.models.split(","):
            ckpt = BUNDLED.get(name).path("torch")
            float_acc = evaluate(str(ckpt), args.data, args.split, progress=False).accuracy
            ds = load_dataset(args.data, color=data_color(load_model(ckpt)[1]))
            split = ds.split(args.split)
            for bits in (8, 7):
                out = Path(tmp) / f"{name}.{bits}.int8.onnx"
                export_model(str(ckpt), "onnx-int8", out, calibration=args.data,
                             reduce_range=bits == 7)
                meta = read_onnx_meta(out)
                y = match_labels(tuple(ds.classes), tuple(meta.info.labels), split.labels,
                                 args.split).y
                row = {"model": name, "weight_bits": bits, "float": float_acc,
                       "kernels": accuracy(out, split.images, y, True),
                       "exact": accuracy(out, split.images, y, False), "n": int(len(y))}
                rows.append(row)
                print(f"{name} {bits}-bit weights: float {float_acc:.4f}  this CPU's kernels "
                      f"{row['kernels']:.4f}  exact QDQ maths {row['exact']:.4f}",
                      file=sys.stderr)
    today = dt.date.today().isoformat()
    result = {"benchmark": "int8-range", "date": today, "data": args.data, "split": args.split,
              "machine": machine_info(), "rows": rows,
              "command": "python benchmarks/bench_int8_range.py " + " ".join(argv or sys.argv[1:])}
    write_result(Path(args.output) / f"int8-range-{today}", result, markdown)
    return 0


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"# INT8 weight range vs this CPU's integer kernels — {r['date']}", "",
             f"`{r['command']}`", "",
             f"{machine_line(m)} · data `{r['data']}` split `{r['split']}`", "",
             "PublicTest accuracy. *Kernels*: ONNX Runtime with all optimisations, as `predict` "
             "runs the file on this CPU. *Exact*: optimisations off, the QDQ graph's own maths "
             "(what a CPU with VNNI reproduces).", "",
             "| model | weights | float | INT8, this CPU's kernels | INT8, exact "
             "| kernels − exact |",
             "|---|---|---:|---:|---:|---:|"]
    for row in r["rows"]:
        lines.append(f"| {row['model']} | {row['weight_bits']}-bit | {row['float']:.2%} | "
                     f"{row['kernels']:.2%} | {row['exact']:.2%} | "
                     f"{100 * (row['kernels'] - row['exact']):+.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
