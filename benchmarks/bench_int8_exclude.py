"""INT8 with the first layers kept in float: does the float→INT8 gap live in the stem?

Round 24's student lost 0.30 points PublicTest to its INT8 file (round 17's: 0.15). An ORT profile
put 9% of INT8 time in the stem convolution (one input channel, K=9: little for integer kernels to
win) and showed it quantising a raw grey image. This script exports one float checkpoint several
times with ONNX Runtime's ``nodes_to_exclude`` (the listed Conv nodes stay float, with their own
Q/DQ around them) over the same calibration draws as ``ferkit export``, and reports PublicTest
accuracy of each file (``quantize_onnx(..., float_nodes=...)``; the bundled files quantize every
node).

    python benchmarks/bench_int8_exclude.py --data ../shared/data/fer2013 \
        --model RUN/best.safetensors --calibration-seeds 0 1 2 --name int8-exclude-round24
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, machine_line, write_result  # noqa: E402

# Node names of ferkit's EfficientNet-Lite exports (timm module paths).
VARIANTS = {
    "all INT8 (export default)": [],
    "stem float": ["/backbone/conv_stem/Conv"],
    "stem + block 0 float": ["/backbone/conv_stem/Conv",
                             "/backbone/blocks/blocks.0/blocks.0.0/conv_dw/Conv",
                             "/backbone/blocks/blocks.0/blocks.0.0/conv_pw/Conv"],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True, help="float checkpoint (.safetensors)")
    ap.add_argument("--calibration-seeds", type=int, nargs="+", default=[0],
                    help="draws of 512 training images, as `ferkit export --seed`")
    ap.add_argument("--name", default="int8-exclude")
    ap.add_argument("--output", default="benchmarks/results")
    args = ap.parse_args(argv)

    import onnxruntime  # noqa: F401  (so machine_info records its version)

    from ferkit.checkpoint import read_meta
    from ferkit.data import load_dataset
    from ferkit.eval.crossdata import match_labels
    from ferkit.eval.report import data_color
    from ferkit.export.quantize import calibration_indices, quantize_onnx
    from ferkit.inference.backends import load_backend

    meta = read_meta(args.model)
    ds = load_dataset(args.data, color=data_color(meta))
    train, test = ds.split("train"), ds.split("val")
    y = match_labels(tuple(ds.classes), tuple(meta.info.labels), test.labels, "val").y
    rows = []
    with tempfile.TemporaryDirectory(prefix="ferkit-excl-") as tmp:
        for label, nodes in VARIANTS.items():
            for seed in args.calibration_seeds:
                out = Path(tmp) / f"m{len(rows)}.int8.onnx"
                # what `ferkit export --format onnx-int8 --seed SEED` writes, less the nodes
                quantize_onnx(args.model, out, float_nodes=nodes,
                              calibration=train.images[calibration_indices(len(train.labels),
                                                                           512, seed)],
                              calibration_note=f"512 training images (seed {seed})")
                probs = load_backend(out, backend="onnx", threads=2).predict_proba(test.images)
                acc = float((probs.argmax(1) == y).mean())
                rows.append({"variant": label, "excluded": nodes, "seed": seed, "val_acc": acc,
                             "mb": out.stat().st_size / 1e6})
                print(f"{label:28s} seed {seed}  PublicTest {100 * acc:.2f}%", file=sys.stderr,
                      flush=True)
    today = dt.date.today().isoformat()
    result = {"benchmark": "int8-exclude", "date": today, "model": args.model, "data": args.data,
              "machine": machine_info(), "rows": rows,
              "command": "python benchmarks/bench_int8_exclude.py "
                         + " ".join(argv or sys.argv[1:])}
    write_result(Path(args.output) / f"{args.name}-{today}", result, markdown)
    return 0


def markdown(r: dict) -> str:
    lines = [f"# INT8 with the first layers in float — {r['date']}", "", f"`{r['command']}`", "",
             f"{machine_line(r['machine'])} · model `{r['model']}`", "",
             "| variant | draw seed | PublicTest | file MB |", "|---|---:|---:|---:|"]
    lines += [f"| {row['variant']} | {row['seed']} | {row['val_acc']:.2%} | {row['mb']:.2f} |"
              for row in r["rows"]]
    for label in dict.fromkeys(row["variant"] for row in r["rows"]):
        accs = [row["val_acc"] for row in r["rows"] if row["variant"] == label]
        lines.append(f"\n{label}: mean {np.mean(accs):.2%} over {len(accs)} draw(s)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
