"""Data-layer benchmark: `ferkit data info` cold (fresh cache) and cached, and the
folder → CSV → folder round trip checked pixel for pixel.

    .venv/bin/python benchmarks/bench_data.py --data /work/shared/data/fer2013

Timings are wall-clock of the real console command (Python start-up included), the way a user
sees them; cached runs: 1 warm-up + median of --repeats. Every output goes to a temporary
folder (removed at the end); results are written to benchmarks/results/data-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO  # noqa: E402
from _machine import machine_info as machine  # noqa: E402

FERKIT = str(Path(sys.executable).with_name("ferkit"))


def timed_cli(args: list[str], cache: Path) -> tuple[float, str]:
    env = {**os.environ, "FERKIT_CACHE": str(cache), "FERKIT_NO_PROGRESS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([FERKIT, *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"ferkit {' '.join(args)} failed: {proc.stderr.strip()}")
    return elapsed, proc.stdout


def time_info(data: Path, cache: Path, repeats: int) -> dict:
    cold, out = timed_cli(["data", "info", str(data), "--json"], cache)
    timed_cli(["data", "info", str(data), "--json"], cache)  # warm-up
    warm = [timed_cli(["data", "info", str(data), "--json"], cache)[0] for _ in range(repeats)]
    doc = json.loads(out)
    return {"cold_s": round(cold, 3), "cached_median_s": round(statistics.median(warm), 3),
            "cached_runs_s": [round(w, 3) for w in warm], "format": doc["format"],
            "counts": {s: v["counts"] for s, v in doc["splits"].items()},
            "totals": {s: v["total"] for s, v in doc["splits"].items()},
            "skipped": len(doc["skipped"])}


def roundtrip(data: Path, work: Path) -> dict:
    """folder → CSV → folder; each stage must reproduce the original arrays exactly."""
    from ferkit.data import load_dataset
    from ferkit.data.convert import convert_dataset

    os.environ["FERKIT_CACHE"] = str(work / "cache")
    original = load_dataset(data, progress=False)
    csv_path, folder = work / "fer2013.csv", work / "folder"
    t0 = time.perf_counter()
    convert_dataset(data, "csv", csv_path, progress=False)
    t_csv = time.perf_counter() - t0
    t0 = time.perf_counter()
    convert_dataset(csv_path, "folder", folder, progress=False)
    t_folder = time.perf_counter() - t0
    stages = {"csv": load_dataset(csv_path, progress=False),
              "folder_from_csv": load_dataset(folder, progress=False)}
    exact = {name: _identical(original, ds) for name, ds in stages.items()}
    return {"exact": exact, "to_csv_s": round(t_csv, 2), "to_folder_s": round(t_folder, 2),
            "csv_bytes": csv_path.stat().st_size, "images": sum(map(len, original.splits.values()))}


def _identical(a, b) -> bool:
    if list(a.splits) != list(b.splits) or a.classes != b.classes:
        return False
    return all(np.array_equal(a.split(s).images, b.split(s).images)
               and np.array_equal(a.split(s).labels, b.split(s).labels) for s in a.splits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="dataset folder (or CSV)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-roundtrip", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ferkit-bench-data-"))
    try:
        result = {"benchmark": "data", "date": dt.date.today().isoformat(), "data": str(args.data),
                  "machine": machine(), "info": time_info(args.data, work / "cache", args.repeats)}
        if not args.skip_roundtrip:
            result["roundtrip"] = roundtrip(args.data, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = REPO / "benchmarks" / "results" / f"data-{result['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    print(json.dumps(result, indent=2))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
