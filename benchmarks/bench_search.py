"""Record a finished ``ferkit search`` and check its best config against the space's default.

The search itself is run with the CLI (it takes the better part of an hour on a CPU), e.g.:

    ferkit search --space configs/search/fast_cpu.yaml --data ../shared/data/fer2013 \
        --study fast_cpu_fer2013 --output runs/search/fast_cpu

then this script reads its summary, copies the plots and best.yaml into benchmarks/results/, and
retrains the best parameters and the space's hand-set ``default`` with the trial schedule for
each seed (``ferkit train``'s engine), printing mean ± std and the margin.

    python benchmarks/bench_search.py --space configs/search/fast_cpu.yaml \
        --data ../shared/data/fer2013 --search runs/search/fast_cpu --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info  # noqa: E402


def retrain(space, values: dict, data: str, seed: int, out: Path) -> dict:
    from ferkit.search.space import trial_config
    from ferkit.train.runner import train

    cfg = trial_config(space, values, [f"seed={seed}"], data)
    cfg.output = str(out)
    cfg.trainer.progress = False
    cfg.trainer.fit_temperature = False
    cfg.trainer.final_eval = False
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    result = train(cfg, progress=False)
    return {"seed": seed, "val_acc": result.best_val_acc, "epochs": result.epochs,
            "wall_s": round(time.perf_counter() - t0, 1)}


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--search", required=True, help="the finished search's --output folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--work", default="runs/bench_search")
    ap.add_argument("--tag", default=None, help="result file name stem")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from ferkit.search.space import load_space

    space = load_space(args.space)
    search = Path(args.search)
    summary = json.loads((search / "summary.json").read_text())
    best = summary["best_params"]
    tag = args.tag or f"search-{Path(args.space).stem}-{time.strftime('%Y-%m-%d')}"
    results = REPO / "benchmarks" / "results"
    copied = []
    for name in ("history.png", "importances.png", "slices.png", "parallel.png", "best.yaml",
                 "trials.csv"):
        if (search / name).is_file():
            dest = results / f"{tag}-{name}"
            shutil.copyfile(search / name, dest)
            copied.append(dest.name)
    runs = {"best": [], "default": []}
    for label, values in (("best", best), ("default", space.default)):
        for seed in args.seeds:
            row = retrain(space, values, args.data, seed, Path(args.work) / f"{label}_s{seed}")
            runs[label].append(row)
            print(f"{label} seed {seed}: val acc {row['val_acc']:.4f} ({row['wall_s']:.0f} s)",
                  flush=True)
    b = mean_std([r["val_acc"] for r in runs["best"]])
    d = mean_std([r["val_acc"] for r in runs["default"]])
    margin = b[0] - d[0]
    c = summary["counts"]
    lines = [
        f"# Search on FER2013: {Path(args.space).name} ({time.strftime('%Y-%m-%d')})", "",
        f"Command: `{' '.join(sys.argv)}` after `ferkit search --space {args.space} --data "
        f"{args.data} --study {summary['study']} --output {args.search}`", "",
        f"Machine: {json.dumps(machine_info())}", "",
        "CPU-scale reproduction of the random-search method (ferkit's fast space, not the "
        "paper's budget): trial schedule = the space's `fixed` keys "
        f"({', '.join(f'{k}={v}' for k, v in space.fixed.items() if k != 'model.name')}); "
        "PublicTest (val) for selection, as in every ferkit search.", "",
        "| study | sampler | trials | complete | pruned | failed | pruned fraction | "
        "trials/hour |", "|---|---|---|---|---|---|---|---|",
        f"| {summary['study']} | {summary['sampler']} | {c['finished']} | {c['complete']} | "
        f"{c['pruned']} | {c['failed']} | {summary['pruned_fraction']} | "
        f"{summary['trials_per_hour']} |", "",
        f"Best trial {summary['best_trial']}: val accuracy {summary['best_value']:.4f} with "
        f"`{json.dumps(best)}`", "",
        f"Retrained with the same schedule, seeds {args.seeds}:", "",
        "| config | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean ± std |",
        "|---|" + "---|" * len(args.seeds) + "---|",
        "| best | " + " | ".join(f"{r['val_acc']:.4f}" for r in runs["best"])
        + f" | {b[0]:.4f} ± {b[1]:.4f} |",
        "| hand-set default | " + " | ".join(f"{r['val_acc']:.4f}" for r in runs["default"])
        + f" | {d[0]:.4f} ± {d[1]:.4f} |", "",
        f"Margin (best − default): **{margin * 100:+.2f} points** (seed spread: best ±"
        f"{b[1] * 100:.2f}, default ±{d[1] * 100:.2f}).", "",
        f"Files: {', '.join(copied)}",
    ]
    (results / f"{tag}.md").write_text("\n".join(lines) + "\n")
    (results / f"{tag}.json").write_text(json.dumps({
        "summary": summary, "runs": runs, "best_mean_std": b, "default_mean_std": d,
        "margin": margin, "machine": machine_info()}, indent=2, default=str) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
