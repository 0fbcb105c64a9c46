"""Classifier throughput on the CPU: faces/s for torch vs ONNX Runtime at batch 1 and 64.

    .venv/bin/python benchmarks/bench_classifier.py --model default --model fast
    .venv/bin/python benchmarks/bench_classifier.py --model tinycnn_test \
        --model efficientnet_lite0:in_chans=3,input_size=64 --model mobilenet_small

Each timed call is ``backend.predict_proba(crops)`` exactly as ``ferkit predict`` runs it: uint8
face crops at the model's input size (what the Pipeline's aligner hands over) → shared
``to_model_input`` preprocessing → model → temperature softmax. ``--model`` takes a bundled
model name (``default``, ``fast``), a checkpoint or ``.onnx`` path, or a registered model name
with optional ``:key=value,...`` builder options (random weights: speed does not depend on
them). Backend ``auto`` is what ``predict`` runs (for a bundled model: its INT8 ONNX file); the
issue's speed targets are checked on those rows. Per backend and batch size: warm-up, then the
median faces/s over ``--repeats`` timed rounds. Results go to
``benchmarks/results/classifier-<date>.{json,md}`` with the git commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info  # noqa: E402
from _spec import parse_spec  # noqa: E402
from _targets import speed_target  # noqa: E402


def resolve_checkpoint(spec: str, work: Path) -> tuple[Path, str]:
    """A checkpoint path as is, or a randomly initialised registered model saved to ``work``."""
    from ferkit.bundled import is_bundled_name

    if is_bundled_name(spec):
        return Path(spec), spec  # resolved per backend in bench_model
    if Path(spec).is_file():
        return Path(spec), Path(spec).stem
    import torch

    from ferkit.checkpoint import CheckpointMeta, save_checkpoint
    from ferkit.models import create_model

    name, opts = parse_spec(spec)
    torch.manual_seed(0)
    in_chans = int(opts.pop("in_chans", 1))
    model = create_model(name, in_chans=in_chans, **opts).eval()
    path = work / f"{spec.replace(':', '_').replace(',', '_').replace('=', '')}.safetensors"
    meta = CheckpointMeta(model=name, info=model.ferkit_info, model_kwargs=opts)
    return save_checkpoint(path, model.state_dict(), meta, write_json=False), name


def time_backend(backend, batch: int, repeats: int, min_round_s: float) -> dict:
    """Warm up, then ``repeats`` rounds of as many calls as fill ``min_round_s``; median faces/s."""
    info = backend.info
    shape = (batch, info.input_size, info.input_size) + ((3,) if info.in_chans == 3 else ())
    crops = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    t0, calls = time.perf_counter(), 0
    while calls < 3 or time.perf_counter() - t0 < min_round_s / 2:  # warm-up + calibration
        backend.predict_proba(crops)
        calls += 1
    per_call = (time.perf_counter() - t0) / calls
    n = max(3, int(min_round_s / max(per_call, 1e-6)))
    rates, cpu_rates = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            backend.predict_proba(crops)
        rates.append(n * batch / (time.perf_counter() - t0))
        cpu_rates.append(n * batch / max(time.process_time() - c0, 1e-9))
    return {"faces_per_s": round(statistics.median(rates), 1),
            "ms_per_call": round(1000 * batch / statistics.median(rates), 3),
            # faces per CPU-second of this process: with 1 thread, what an idle core would do
            "faces_per_cpu_s": round(statistics.median(cpu_rates), 1),
            "rounds": [round(r, 1) for r in rates], "calls_per_round": n}


def bench_model(spec: str, work: Path, args) -> list[dict]:
    import torch

    from ferkit.bundled import is_bundled_name, resolve_model
    from ferkit.inference.backends import load_backend

    ckpt, name = resolve_checkpoint(spec, work)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for backend_name in args.backends:
            path = resolve_model(spec, backend_name) if is_bundled_name(spec) else ckpt
            backend = load_backend(path, backend_name, threads=threads)
            info = backend.info
            for batch in args.batches:
                r = time_backend(backend, batch, args.repeats, args.min_round_s)
                # the targets are for 2 cores, as predict runs the model
                target = (speed_target(name, batch)
                          if backend_name == "auto" and threads == 2 else None)
                rows.append({"model": spec, "file": path.name, "name": name,
                             "backend": f"{backend_name} ({type(backend).__name__})",
                             "input": f"{info.in_chans}x{info.input_size}x{info.input_size}",
                             "threads": threads, "batch": batch, **r,
                             "target_faces_per_s": target, "meets_target":
                             None if target is None else r["faces_per_s"] >= target})
                print(f"  {spec:40s} {backend_name:5s} t{threads} b{batch:<3d} "
                      f"{r['faces_per_s']:>9.1f} faces/s", file=sys.stderr, flush=True)
            del backend
    return rows


def machine() -> dict:
    import onnxruntime  # noqa: F401  (loaded so machine_info records its version)
    import torch  # noqa: F401

    from ferkit.export.onnx import physical_cores

    info = machine_info(physical_cores=physical_cores())
    return {**info, "logical_cpus": info["cpu_count"], "loadavg_at_start": info["load_average"]}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# Classifier throughput — {result['date']}", "",
             f"commit `{m['git_commit']}` · {m['cpu']} · {m['physical_cores']} physical cores · "
             f"torch {m['torch']} · onnxruntime {m['onnxruntime']} · "
             f"load average (1 min) {m['loadavg_at_start'][0]:.2f} at start, "
             f"{m.get('loadavg_at_end', [float('nan')])[0]:.2f} at end", "",
             f"{result['note']}", "",
             "| model | file | input | backend | threads | batch | faces/s | ms/call | "
             "faces/CPU-s | target | meets |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["rows"]:
        target = r["target_faces_per_s"] or ""
        meets = "" if r["meets_target"] is None else ("yes" if r["meets_target"] else "NO")
        lines.append(f"| {r['model']} | {r.get('file', '')} | {r['input']} | {r['backend']} | "
                     f"{r['threads']} | "
                     f"{r['batch']} | {r['faces_per_s']:.0f} | {r['ms_per_call']:.3f} | "
                     f"{r['faces_per_cpu_s']:.0f} | {target} | {meets} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from ferkit.export.onnx import physical_cores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True,
                    help="checkpoint path or name[:key=value,...] (repeatable)")
    ap.add_argument("--backends", default="auto,torch,onnx",
                    help="auto = as predict runs the model; torch/onnx = float32 backends")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-round-s", type=float, default=0.5, help="seconds per timed round")
    ap.add_argument("--threads", default=str(physical_cores()),
                    help="comma list; torch and ONNX Runtime intra-op threads")
    ap.add_argument("--note", default="", help="context to record (e.g. a shared machine)")
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    args.backends = args.backends.split(",")
    args.batches = [int(b) for b in args.batches.split(",")]
    args.threads = [int(t) for t in args.threads.split(",")]

    from ferkit.io import atomic_write_json, atomic_write_text

    date = dt.date.today().isoformat()
    result = {"benchmark": "classifier", "date": date, "machine": machine(),
              "note": args.note, "method": "predict_proba on uint8 crops at the model input "
              f"size; warm-up, median of {args.repeats} rounds >= {args.min_round_s}s",
              "rows": []}
    with tempfile.TemporaryDirectory(prefix="ferkit-bench-cls-") as tmp:
        os.environ.setdefault("FERKIT_CACHE", str(Path(tmp) / "cache"))
        for spec in args.model:
            result["rows"].extend(bench_model(spec, Path(tmp), args))
    result["machine"]["loadavg_at_end"] = list(os.getloadavg())
    atomic_write_json(args.output / f"classifier-{date}.json", result)
    atomic_write_text(args.output / f"classifier-{date}.md", markdown(result))
    print(markdown(result))
    print(f"wrote {args.output / f'classifier-{date}.json'} (+ .md)", file=sys.stderr)


if __name__ == "__main__":
    main()
