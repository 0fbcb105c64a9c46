"""CPU forward latency of every (non-test) registered model, batch 1 and batch 64.

    python benchmarks/bench_models.py [--pattern '*'] [--runs 20] [--budget 3] [--note TEXT]

Random-init weights, ``torch.inference_mode``, eval mode; warm-up runs, then the median of up to
``--runs`` timed runs (stopping early once ``--budget`` seconds are spent, but never under 3 runs).
Writes ``benchmarks/results/models-latency-<date>.{md,json}`` with the git commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import git_commit, machine_info  # noqa: E402
from ferkit.io import atomic_write_json, atomic_write_text
from ferkit.models import count_macs, count_params, create_model, list_models

RESULTS = Path(__file__).resolve().parent / "results"


def time_forward(model, x: torch.Tensor, *, runs: int, warmup: int, budget: float) -> dict:
    """Median / min latency in ms of ``model(x)`` after ``warmup`` untimed calls."""
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < runs and (len(times) < 3 or time.perf_counter() - start < budget):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": len(times)}


def bench(name: str, args: argparse.Namespace) -> dict:
    model = create_model(name).eval()
    info = model.ferkit_info
    row = {"model": name, "params": count_params(model), "macs": count_macs(model),
           "input": f"{info.in_chans}x{info.input_size}x{info.input_size}"}
    for batch in (1, 64):
        x = torch.randn(batch, info.in_chans, info.input_size, info.input_size)
        row[f"batch{batch}"] = time_forward(model, x, runs=args.runs, warmup=args.warmup,
                                            budget=args.budget)
    return row


def machine(note: str) -> dict:
    return machine_info(processor=platform.processor(), note=note)


def to_markdown(rows: list[dict], meta: dict) -> str:
    m = meta["machine"]
    lines = [f"# Model forward latency (CPU) — {meta['date']}", "",
             f"- commit: `{meta['git_commit']}`",
             f"- machine: {m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']} with "
             f"{m['torch_threads']} threads", f"- note: {m['note']}",
             f"- method: random-init weights, eval + inference_mode, {meta['warmup']} warm-up "
             f"runs, median of up to {meta['runs']} runs (time budget {meta['budget']} s/case)", "",
             "| model | params | MMACs | input | batch 1 median ms | batch 64 median ms | "
             "batch 64 img/s |", "|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        b1, b64 = r["batch1"]["median_ms"], r["batch64"]["median_ms"]
        lines.append(f"| {r['model']} | {r['params']:,} | {r['macs'] / 1e6:,.1f} | {r['input']} | "
                     f"{b1:.2f} | {b64:.1f} | {64000 / b64:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pattern", default="*")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--budget", type=float, default=3.0, help="seconds per (model, batch) case")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1: stable numbers on a shared machine; 0: torch default)")
    p.add_argument("--note", default="")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in list_models(args.pattern, include_test=False):
        rows.append(bench(name, args))
        r = rows[-1]
        print(f"{name:24s} batch1 {r['batch1']['median_ms']:8.2f} ms   "
              f"batch64 {r['batch64']['median_ms']:9.1f} ms", flush=True)
    date = dt.date.today().isoformat()
    meta = {"date": date, "git_commit": git_commit(), "machine": machine(args.note),
            "runs": args.runs, "warmup": args.warmup, "budget": args.budget}
    md = to_markdown(rows, meta)
    print("\n" + md)
    stem = args.output / f"models-latency-{date}"
    atomic_write_json(stem.with_suffix(".json"), {**meta, "results": rows})
    atomic_write_text(stem.with_suffix(".md"), md)
    print(f"wrote {stem}.md and {stem}.json")


if __name__ == "__main__":
    main()
