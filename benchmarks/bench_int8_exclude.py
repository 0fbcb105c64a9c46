"""INT8 with the first layers kept in float: does the float→INT8 gap live in the stem?

Round 24's student lost 0.30 points PublicTest to its INT8 file (round 17's: 0.15). An ORT profile
put 9% of INT8 time in the stem convolution (one input channel, K=9: little for integer kernels to
win) and showed it quantising a raw grey image. This script exports one float checkpoint several
times with ONNX Runtime's ``nodes_to_exclude`` (the listed Conv nodes stay float, with their own
Q/DQ around them) over the same calibration draws as ``ferkit export``, and reports PublicTest
accuracy of each file. A measurement, not yet an export option: it patches ORT's
``quantize_static`` for the duration of each export.

    python benchmarks/bench_int8_exclude.py --data ../shared/data/fer2013 \
        --model RUN/best.safetensors --calibration-seeds 0 1 2 --name int8-exclude-round24
"""
from __future__ import annotations

import argparse
import functools
import json
import platform
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

VARIANTS = {
    "all INT8 (export default)": [],
    "stem float": ["/backbone/conv_stem/Conv"],
    "stem + block 0 float": ["/backbone/conv_stem/Conv",
                             "/backbone/blocks/blocks.0/blocks.0.0/conv_dw/Conv",
                             "/backbone/blocks/blocks.0/blocks.0.0/conv_pw/Conv"],
}


def _accuracy(path: Path, test, y: np.ndarray) -> float:
    """PublicTest accuracy of one file as predict runs .onnx files (ONNX Runtime, 2 threads)."""
    from ferkit.inference.backends import load_backend

    probs = load_backend(str(path), backend="onnx", threads=2).predict_proba(test.images)
    return float((probs.argmax(1) == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True, help="float checkpoint (.safetensors)")
    ap.add_argument("--calibration-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--name", default="int8-exclude")
    ap.add_argument("--output", default="benchmarks/results")
    args = ap.parse_args()

    import onnxruntime.quantization as oq

    from ferkit.checkpoint import read_meta
    from ferkit.data import load_dataset
    from ferkit.eval.crossdata import match_labels
    from ferkit.export import export_model

    ds = load_dataset(args.data)
    test = ds.split("val")
    labels = tuple(read_meta(args.model).info.labels)
    y = match_labels(tuple(ds.classes), labels, test.labels, "val").y

    original = oq.quantize_static
    rows = []
    with tempfile.TemporaryDirectory(prefix="ferkit-excl-") as tmp:
        for label, nodes in VARIANTS.items():
            for seed in args.calibration_seeds:
                oq.quantize_static = functools.partial(original, nodes_to_exclude=list(nodes))
                try:
                    out = Path(tmp) / f"m{len(rows)}.int8.onnx"
                    export_model(args.model, "onnx-int8", out, calibration=args.data, seed=seed)
                finally:
                    oq.quantize_static = original
                acc = _accuracy(out, test, y)
                rows.append({"variant": label, "excluded": nodes, "seed": seed, "val_acc": acc,
                             "mb": out.stat().st_size / 1e6})
                print(f"{label:28s} seed {seed}  PublicTest {100 * acc:.2f}%", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    stem = Path(args.output) / f"{args.name}-{date.today().isoformat()}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    seeds = " ".join(map(str, args.calibration_seeds))
    command = (f"python benchmarks/bench_int8_exclude.py --data {args.data} --model {args.model} "
               f"--calibration-seeds {seeds} --name {args.name}")
    cpu = platform.processor() or platform.machine()
    lines = [f"# INT8 with the first layers in float — {date.today().isoformat()}", "",
             f"`{command}`", "", f"commit `{commit}` · {cpu} · model `{args.model}`", "",
             "| variant | draw seed | PublicTest | file MB |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['seed']} | {100 * r['val_acc']:.2f}% "
                     f"| {r['mb']:.2f} |")
    for label in VARIANTS:
        accs = [r["val_acc"] for r in rows if r["variant"] == label]
        lines.append(f"\n{label}: mean {100 * np.mean(accs):.2f}% over {len(accs)} draw(s)")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {stem}.md (+ .json)")


if __name__ == "__main__":
    main()
