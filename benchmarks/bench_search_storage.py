"""Which local storage ``ferkit search`` uses by default: Optuna's journal file or SQLite.

Starts W worker processes on one study per backend; each runs ferkit's own worker loop
(``ferkit.search.study.run_worker``: budget checks, heartbeats, dead-trial recovery) with an
objective that only sleeps, so the storage is all that is measured. Reports wall time, trials
per second, errors, and whether every trial finished exactly once.

    python benchmarks/bench_search_storage.py --workers 4 --trials 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info  # noqa: E402

WORKER = r"""
import sys, time, optuna
from ferkit.search.study import run_worker
from ferkit.search import storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
url, out, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
from pathlib import Path
store = storage.open_storage(None if url == "journal" else url, Path(out))
study = optuna.create_study(study_name="bench", storage=store, load_if_exists=True,
                            direction="maximize", sampler=optuna.samplers.RandomSampler())
def objective(trial, values):
    time.sleep(0.01)
    return values["x"]
stats = run_worker(study, suggest=lambda t: {"x": t.suggest_float("x", 0, 1)},
                   objective=objective, budget=budget)
print(stats.ran)
"""


def run_backend(name: str, url: str, workers: int, trials: int) -> dict:
    import optuna

    from ferkit.search import storage
    from ferkit.search.study import count_trials

    with tempfile.TemporaryDirectory() as tmp:
        target = url.replace("{tmp}", tmp)
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, target, tmp, str(trials)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(workers)]
        outs = [p.communicate(timeout=1800) for p in procs]
        wall = time.perf_counter() - t0
        errors = [o[1].strip().splitlines()[-1] for p, o in zip(procs, outs, strict=True)
                  if p.returncode != 0]
        store = storage.open_storage(None if target == "journal" else target, Path(tmp))
        study = optuna.load_study(study_name="bench", storage=store)
        counts = count_trials(study)
        ran = [int(o[0].strip() or 0) for o in outs]
    return {"backend": name, "workers": workers, "wall_s": round(wall, 2),
            "trials_per_s": round(counts.finished / wall, 1), "complete": counts.complete,
            "failed": counts.failed, "discarded": counts.discarded, "per_worker": ran,
            "worker_errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    rows = [run_backend("journal file (default)", "journal", args.workers, args.trials),
            run_backend("sqlite", "sqlite:///{tmp}/study.db", args.workers, args.trials)]
    day = time.strftime("%Y-%m-%d")
    lines = [f"# Search storage: journal file vs SQLite ({day})", "",
             f"Command: `{' '.join(sys.argv)}`", "", f"Machine: {json.dumps(machine_info())}", "",
             f"{args.workers} worker processes share one study of {args.trials} trials; each "
             "trial only sleeps 10 ms, so the storage dominates.", "",
             "| storage | wall s | trials/s | complete | failed | discarded | per worker | "
             "worker errors |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['wall_s']} | {r['trials_per_s']} | {r['complete']}"
                     f" | {r['failed']} | {r['discarded']} | {r['per_worker']} | "
                     f"{'; '.join(r['worker_errors']) or 'none'} |")
    out = REPO / "benchmarks" / "results" / f"search-storage-{day}"
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"rows": rows, "machine": machine_info()},
                                                   indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
