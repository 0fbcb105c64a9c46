"""How many crops per ONNX Runtime call: faces/s of the bundled INT8 files at batch 64 and 256
when ``predict_proba`` hands the session chunks of 4 ... 256 crops.

    .venv/bin/python benchmarks/bench_chunk.py

Why: the ONNX backend splits a large batch into chunks of ``onnx_chunk(input_size)`` crops
(32 of 112 px, 98 of 64 px) because one big call was measured slower than several small ones.
This is the measurement behind that rule, to rerun on any CPU: one backend per model, the chunk
size changed between timed blocks; every round times every chunk size once, in a shuffled order
(a 2-core VM's speed drifts with its neighbours, seen here as ~40% dips for seconds at a time),
and the table gives the median over rounds plus each chunk's ratio to one call for the whole
batch. Results: ``benchmarks/results/<--name>-<date>.{json,md}``; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line, write_result  # noqa: E402

CHUNKS = (4, 8, 16, 32, 64, 128, 256)


def sweep(backend, batch: int, chunks: list[int], rounds: int, block_s: float,
          seed: int) -> dict[int, list[float]]:
    """faces/s of ``predict_proba`` on ``batch`` random crops for each chunk size, per round."""
    info = backend.info
    shape = (batch, info.input_size, info.input_size) + ((3,) if info.in_chans == 3 else ())
    crops = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    chunks = list(chunks)
    rates: dict[int, list[float]] = {c: [] for c in chunks}
    order = random.Random(seed)
    for c in chunks:  # warm-up: every chunk size's shapes once
        backend.chunk = c
        backend.predict_proba(crops)
    for _ in range(rounds):
        order.shuffle(chunks)
        for c in chunks:
            backend.chunk = c
            n, start = 0, time.perf_counter()
            while n < 2 or time.perf_counter() - start < block_s:
                backend.predict_proba(crops)
                n += 1
            rates[c].append(n * batch / (time.perf_counter() - start))
    return dict(sorted(rates.items()))


def markdown(doc: dict) -> str:
    lines = [f"# Crops per ONNX Runtime call — {doc['date']}", "",
             f"`{doc['command']}`", "",
             machine_line(doc["machine"]) + f" · {doc['threads']} threads",
             "", "Median faces/s over rounds (each round times every chunk size once, shuffled); "
             "in brackets the ratio to one call for the whole batch. **Bold**: what the backend "
             "runs (`onnx_chunk`; a batch no larger than it is one call).", ""]
    for name, model in doc["models"].items():
        batches = list(model["batches"])
        lines += [f"## {name} (`{model['file']}`, {model['input_size']} px, "
                  f"`onnx_chunk` {model['rule_chunk']})", "",
                  "| crops per call | " + " | ".join(f"batch {b}" for b in batches) + " |",
                  "|---:|" + "---:|" * len(batches)]
        sizes = sorted({int(c) for b in batches for c in model["batches"][b]})
        for c in sizes:
            cells = []
            for b in batches:
                row = model["batches"][b]
                if str(c) not in row:
                    cells.append("")
                    continue
                rate, whole = row[str(c)]["median"], row[str(b)]["median"]
                text = f"{rate:,.0f} ({rate / whole:.2f}×)"
                cells.append(f"**{text}**" if c == min(model["rule_chunk"], int(b)) else text)
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    from ferkit.bundled import BUNDLED
    from ferkit.inference.backends import load_backend, onnx_chunk

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(BUNDLED.names()))
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--block-s", type=float, default=0.6)
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--name", default="onnx-chunk")
    args = ap.parse_args()

    import onnxruntime  # noqa: F401  (so machine_info records its version)

    date = dt.date.today().isoformat()
    doc = {"benchmark": "onnx-chunk", "date": date, "threads": args.threads,
           "command": "python benchmarks/bench_chunk.py " + " ".join(sys.argv[1:]),
           "machine": machine_info(), "models": {}}
    for name in args.models.split(","):
        path = BUNDLED.get(name).path("auto")
        backend = load_backend(path, threads=args.threads)
        rule = onnx_chunk(backend.info.input_size)
        model = {"file": path.name, "input_size": backend.info.input_size,
                 "rule_chunk": rule, "batches": {}}
        for batch in args.batches:
            chunks = sorted({c for c in CHUNKS if c < batch} | {batch, min(rule, batch)})
            rates = sweep(backend, batch, chunks, args.rounds, args.block_s, seed=batch)
            model["batches"][batch] = {str(c): {"median": round(statistics.median(r), 1),
                                                "rounds": [round(x, 1) for x in r]}
                                       for c, r in rates.items()}
            print(f"  {name:8s} b{batch:<4d} " + "  ".join(
                f"{c}:{statistics.median(r):,.0f}" for c, r in rates.items()),
                file=sys.stderr, flush=True)
        doc["models"][name] = model
    write_result(args.output / f"{args.name}-{date}", doc, markdown)


if __name__ == "__main__":
    main()
