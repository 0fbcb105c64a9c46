"""Teacher forward passes for the distillation cache: torch vs ONNX Runtime, images/s on the CPU.

    .venv/bin/python benchmarks/bench_teacher_runtime.py --threads 2 \\
        --teacher stages/teacher_lite1_88.fp16.safetensors \\
        --teacher stages/teacher_lite2_96.fp16.safetensors

Building ``distill.cache`` is almost only teacher forward passes (K views x N images x teachers),
so its cost is set by how the teachers run. For each teacher this times both runtimes the cache
build can use (``distill.runtime``): the torch module in channels-last (the layout the
trainer uses) and ferkit's ONNX export in ONNX Runtime (``OnnxTeacher``), on the same normalised
batch of the cache's chunk size; median of ``--repeat`` runs after one warm-up, and the largest
logit difference between the two. Result: ``benchmarks/results/teacher-runtime-<date>.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, median_seconds, write_result  # noqa: E402


def measure(path: str, batch: int, repeat: int, threads: int) -> dict:
    import torch

    from ferkit.checkpoint import load_model
    from ferkit.models import count_params
    from ferkit.train.teachers import OnnxTeacher

    model, meta = load_model(path)
    info = meta.info
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(batch, info.in_chans, info.input_size, info.input_size,
                    generator=torch.Generator().manual_seed(0))
    xc = x.contiguous(memory_format=torch.channels_last)
    onnx = OnnxTeacher(Path(path), info, threads)
    with torch.no_grad():
        t_torch = median_seconds(lambda: model(xc), 1, repeat)
        diff = (model(xc) - onnx(x)).abs().max().item()
    t_onnx = median_seconds(lambda: onnx(x), 1, repeat)
    return {"teacher": path, "model": meta.model, "input_size": info.input_size,
            "params": count_params(model), "torch_img_s": round(batch / t_torch, 1),
            "onnx_img_s": round(batch / t_onnx, 1), "speedup": round(t_torch / t_onnx, 2),
            "max_abs_logit_diff": diff}


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [f"# Teacher forward passes: torch vs ONNX Runtime ({doc['date']})", "",
             f"commit `{doc['git_commit']}`, {m['cpu']}, {m['cpu_count']} CPUs, torch "
             f"{m.get('torch')}, onnxruntime {m.get('onnxruntime')}, {doc['threads']} thread(s), "
             f"batch {doc['batch_size']}, median of {doc['repeat']} after one warm-up; 1-min load "
             f"average at start {doc['load_at_start']:.1f}", "",
             f"command: `{doc['command']}`", "",
             "| teacher | model | input | torch (channels-last) img/s | ONNX Runtime img/s | "
             "speed-up | max logit diff |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in doc["results"]:
        lines.append(f"| `{r['teacher']}` | {r['model']} | {r['input_size']} | "
                     f"{r['torch_img_s']:.0f} | {r['onnx_img_s']:.0f} | {r['speedup']:.2f}x | "
                     f"{r['max_abs_logit_diff']:.1e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from ferkit.train.teacher_cache import _CHUNK

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", action="append", required=True, help="checkpoint (repeatable)")
    ap.add_argument("--batch-size", type=int, default=_CHUNK)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    load_at_start = os.getloadavg()[0]
    import onnxruntime  # noqa: F401  (its version goes into the machine record)
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for path in args.teacher:
        rows.append(measure(path, args.batch_size, args.repeat, args.threads))
        r = rows[-1]
        print(f"{path}: torch {r['torch_img_s']:.0f} img/s, onnx {r['onnx_img_s']:.0f} img/s "
              f"({r['speedup']:.2f}x)", flush=True)
    today = dt.date.today().isoformat()
    machine = machine_info()
    doc = {"benchmark": "teacher-runtime", "date": today, "git_commit": machine["git_commit"],
           "machine": machine, "threads": args.threads, "batch_size": args.batch_size,
           "repeat": args.repeat, "load_at_start": load_at_start,
           "command": "python benchmarks/bench_teacher_runtime.py " + " ".join(sys.argv[1:]),
           "results": rows}
    write_result(REPO / "benchmarks" / "results" / f"teacher-runtime-{today}", doc, markdown)


if __name__ == "__main__":
    main()
