"""What ``trainer.compile`` buys: the real training step, eager vs torch.compile'd, on the CPU.

    .venv/bin/python benchmarks/bench_compile.py --data ../shared/data/fer2013 --threads 1

For each model (default: the #11 teachers' networks at their sizes) it times the same
Lightning training step as ``bench_train.py`` (ferkit's FerModule: batched augmentation,
forward, loss, backward, AdamW step) twice, without and with ``trainer.compile=true``. The
first step of the compiled run includes compiling (forward and backward graphs): that is
the one-off cost, reported beside the median step after ``--warmup`` steps and the speed-up.
Result: ``benchmarks/results/compile-<date>.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, write_result  # noqa: E402
from bench_train import measure, synthetic_dataset  # noqa: E402

#: (label, registered model, builder kwargs)
MODELS = (
    ("EfficientNet-Lite1 88 px", "efficientnet_lite1", {"input_size": 88}),
    ("EfficientNet-Lite0 64 px", "efficientnet_lite0", {"input_size": 64}),
    ("EfficientNet-Lite2 96 px", "efficientnet_lite2", {"input_size": 96}),
)


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [f"# torch.compile for training steps ({doc['date']})", "",
             f"commit `{doc['git_commit']}`, {m['cpu']}, {m['cpu_count']} CPUs, torch "
             f"{m.get('torch')}, {doc['threads']} thread(s), batch {doc['batch_size']}, median of "
             f"{doc['steps']} steps after {doc['warmup']} warm-up; 1-min load average at start "
             f"{doc['load_at_start']:.1f}", "",
             f"command: `{doc['command']}`", "",
             "| model | eager s/step | compiled s/step | speed-up | compile (first step) s |",
             "|---|---:|---:|---:|---:|"]
    for r in doc["results"]:
        lines.append(f"| {r['label']} | {r['eager_s']:.3f} | {r['compiled_s']:.3f} | "
                     f"{r['speedup']:.2f}x | {r['compile_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="dataset path (default: synthetic 48 px images)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", nargs="*", help="model names to run (default: all)")
    args = ap.parse_args()
    load_at_start = os.getloadavg()[0]
    import torch

    torch.set_num_threads(args.threads)
    if args.data:
        from ferkit.data import load_dataset

        dataset = load_dataset(args.data)
    else:
        dataset = synthetic_dataset(args.batch_size * (args.steps + args.warmup + 1))
    rows = []
    for label, name, kwargs in MODELS:
        if args.only and name not in args.only:
            continue
        runs = {c: measure(name, kwargs, dataset, args.batch_size, args.steps, args.warmup,
                           (f"trainer.compile={c}",)) for c in ("false", "true")}
        eager, comp = runs["false"]["median_step_s"], runs["true"]["median_step_s"]
        rows.append({"label": label, "model": name, "kwargs": kwargs, "eager_s": eager,
                     "compiled_s": comp, "speedup": round(eager / comp, 3),
                     "compile_s": round(runs["true"]["first_step_s"] - comp, 1)})
        print(f"{label}: eager {eager:.3f} s, compiled {comp:.3f} s ({eager / comp:.2f}x), "
              f"compile {rows[-1]['compile_s']:.0f} s", flush=True)
    today = dt.date.today().isoformat()
    machine = machine_info()
    doc = {"benchmark": "compile", "date": today, "git_commit": machine["git_commit"],
           "machine": machine, "threads": args.threads, "batch_size": args.batch_size,
           "steps": args.steps, "warmup": args.warmup, "load_at_start": load_at_start,
           "command": "python benchmarks/bench_compile.py " + " ".join(sys.argv[1:]),
           "data": args.data or "synthetic 48x48 gray", "results": rows}
    write_result(REPO / "benchmarks" / "results" / f"compile-{today}", doc, markdown)


if __name__ == "__main__":
    main()
