"""Where and on what a benchmark ran: one description shared by every script in benchmarks/.

Each result file records this so a number can be traced to a commit and a machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


#: instruction-set flags that change how fast (or, for INT8 without VNNI, how exactly) models run
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_isa() -> list[str]:
    """The ``ISA_FLAGS`` this CPU has (Linux /proc/cpuinfo; [] elsewhere), plus its family and
    model: "AMD EPYC" alone does not tell a Zen 3 (AVX2 only) from a Zen 4 (AVX-512, VNNI)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    fields = dict(line.split(":", 1) for line in text.split("\n\n")[0].splitlines()
                  if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    family = [f"family {fields['cpu family']} model {fields['model']}"] \
        if "cpu family" in fields and "model" in fields else []
    return family + [f for f in ISA_FLAGS if f in flags]


def load_average() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def git_commit() -> str:
    from ferkit.checkpoint import git_commit as commit

    return commit(REPO)


def machine_info(**extra) -> dict:
    """Platform, CPU, load, git commit, and torch/onnxruntime versions when they are loaded."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu": cpu_model(), "cpu_isa": cpu_isa(), "cpu_count": os.cpu_count(),
            "load_average": load_average(),
            "git_commit": git_commit()}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    if "onnxruntime" in sys.modules:
        info["onnxruntime"] = sys.modules["onnxruntime"].__version__
    info.update(extra)
    return info


def machine_line(m: dict) -> str:
    """"commit `…` · CPU (family/model, ISA flags) · N CPUs": the provenance line of a result's
    markdown; the ISA flags matter (INT8 kernels and resize rounding differ between CPUs)."""
    isa = ", ".join(m.get("cpu_isa") or [])
    return (f"commit `{m['git_commit']}` · {m['cpu']}{f' ({isa})' if isa else ''} · "
            f"{m['cpu_count']} CPUs")


def write_result(stem: Path, result: dict, markdown) -> None:
    """``stem``.json and ``stem``.md (atomically), the markdown also printed: the last step of
    every benchmark script that keeps a dated result."""
    from ferkit.io import atomic_write_json, atomic_write_text

    text = markdown(result)
    atomic_write_json(stem.with_suffix(".json"), result)
    atomic_write_text(stem.with_suffix(".md"), text)
    print(text)
    print(f"wrote {stem}.json (+ .md)", file=sys.stderr)


def median_seconds(fn, warmup: int = 1, repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
