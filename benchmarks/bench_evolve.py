"""Deep evolution's claim, measured: the evolved patch model against its full-image twin.

Run the evolution first (``ferkit evolve ... --no-retrain``), then this script takes the chosen
genome from ``pareto.json`` and trains, for each seed, the patch model and its twin (the same
shared CNN and FC head over the whole face, ``patch_cnn_full``) with the same retrain schedule
(the evolve space's ``retrain`` keys), and prints parameters and PublicTest (val) accuracy as
mean ± spread. The evolution's plots and the attention map are copied into benchmarks/results/.

    python benchmarks/bench_evolve.py --space configs/search/evolve_fer2013.yaml \
        --data ../shared/data/fer2013 --evolve runs/evolve/fer2013 --seeds 0 1
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


def train_one(space, over: dict, data: str, seed: int, out: Path) -> None:
    from ferkit.search.space import trial_config
    from ferkit.train.runner import train

    cfg = trial_config(space.search_space(), {**space.retrain, **over}, [f"seed={seed}"], data)
    cfg.output = str(out)
    cfg.trainer.progress = False
    cfg.trainer.final_eval = False
    if out.exists():
        shutil.rmtree(out)
    train(cfg, progress=False)


def _read(out: Path, seed: int) -> dict:
    """One finished run's row, from its result.json and best checkpoint."""
    from ferkit.checkpoint import load_model
    from ferkit.models import count_params

    res = json.loads((out / "result.json").read_text())
    model, _ = load_model(out / "best.safetensors")
    return {"seed": seed, "val_acc": res["best_val_acc"], "epochs": res["epochs"],
            "params": count_params(model), "wall_s": res["wall_time_s"],
            "checkpoint": str(out / "best.safetensors")}


def _run(space, over: dict, args, seed: int, out: Path) -> dict | None:
    """Train (or, with --report-only / an existing result, read) one run; None if absent."""
    if (out / "result.json").is_file():
        return _read(out, seed)
    if args.report_only:
        return None
    train_one(space, over, args.data, seed, out)
    row = _read(out, seed)
    print(f"{out.name}: val acc {row['val_acc']:.4f}, {row['params']:,} params, "
          f"{row['wall_s']:.0f} s", flush=True)
    return row


def summary(rows: list[dict]) -> dict:
    accs = [r["val_acc"] for r in rows]
    return {"mean": statistics.mean(accs), "min": min(accs), "max": max(accs),
            "std": statistics.stdev(accs) if len(accs) > 1 else 0.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--evolve", required=True, help="the evolution's --output folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--models", nargs="+", default=["patch", "twin"], choices=["patch", "twin"])
    ap.add_argument("--work", default="runs/bench_evolve")
    ap.add_argument("--tag", default=None)
    ap.add_argument("--lrs", type=float, nargs="+", default=[0.0003, 0.001, 0.003],
                    help="learning rates tried per model with the first seed")
    ap.add_argument("--report-only", action="store_true",
                    help="only write the report from runs already in --work")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from ferkit.search.evolve import genome_overrides, load_evolve_space, twin_overrides

    space = load_evolve_space(args.space)
    evo = Path(args.evolve)
    front = json.loads((evo / "pareto.json").read_text())
    chosen = front["chosen"]
    over = genome_overrides(space, chosen["genes"])
    twin = twin_overrides(over, space.input_size, space.train.get("model.kwargs.drop", 0.3))
    work = Path(args.work)
    runs: dict[str, list[dict]] = {"patch": [], "twin": []}
    sweep: dict[str, dict[float, float]] = {"patch": {}, "twin": {}}
    for label, o in (("patch", over), ("twin", twin)):
        if label not in args.models and not args.report_only:
            continue
        # the learning rate is chosen per model on val with the first seed (the twin's large
        # FC layer does not train at the patch model's rate); epochs, data, augmentation and
        # seeds are the same for both
        for lr in args.lrs:
            row = _run(space, {**o, "optimizer.lr": lr}, args, args.seeds[0],
                       work / f"{label}_lr{lr:g}_s{args.seeds[0]}")
            if row is not None:
                sweep[label][lr] = row["val_acc"]
        if not sweep[label]:
            continue
        lr = max(sweep[label], key=sweep[label].get)
        for seed in args.seeds:
            row = _run(space, {**o, "optimizer.lr": lr}, args, seed,
                       work / f"{label}_lr{lr:g}_s{seed}")
            if row is not None:
                runs[label].append({**row, "lr": lr})
    if not runs["patch"] or not runs["twin"]:
        return 0
    p, t = summary(runs["patch"]), summary(runs["twin"])
    ratio = runs["patch"][0]["params"] / runs["twin"][0]["params"]
    tag = args.tag or f"evolve-{time.strftime('%Y-%m-%d')}"
    results = REPO / "benchmarks" / "results"
    copied = []
    for name in ("attention_map.png", "pareto_front.png", "generations.png", "pareto.json",
                 "evolved.yaml", "trials.csv"):
        if (evo / name).is_file():
            shutil.copyfile(evo / name, results / f"{tag}-{name}")
            copied.append(f"{tag}-{name}")
    sched = ", ".join(f"{k}={v}" for k, v in {**space.train, **space.retrain}.items()
                      if k.startswith(("trainer.epochs", "data.limit")))
    lines = [
        f"# Deep evolution on FER2013 ({time.strftime('%Y-%m-%d')})", "",
        f"Command: `{' '.join(sys.argv)}` after `ferkit evolve --space {args.space} --data "
        f"{args.data} --output {args.evolve} --no-retrain`", "",
        f"Machine: {json.dumps(machine_info())}", "",
        "CPU-scale reproduction of Dufourq & Bassett (ferkit's design): "
        f"{space.population} genomes × {space.generations} generations, each trained with the "
        "evolve space's short schedule; then the chosen genome and its full-image twin retrained "
        f"with the same schedule ({sched}) and seeds {args.seeds}. PublicTest (val) accuracy; "
        "nothing here is a test split.", "",
        f"Chosen genome (trial {chosen['number']}): {len(chosen['patches'])} patches "
        f"`{chosen['patches']}` (dx, dy from the nose at {space.nose_xy}, side in px), resampled "
        f"to {over['model.kwargs.patch_size']} px; CNN widths {over['model.kwargs.widths']}, "
        f"FC {over['model.kwargs.hidden']}.", "",
        "| model | parameters | " + " | ".join(f"seed {s}" for s in args.seeds)
        + " | mean | spread (min–max) | wall s/run |",
        "|---|---|" + "---|" * len(args.seeds) + "---|---|---|",
    ]
    for label, name, s in (("patch", "evolved patches", p), ("twin", "full-image twin", t)):
        rows = runs[label]
        lines.append(f"| {name} | {rows[0]['params']:,} | "
                     + " | ".join(f"{r['val_acc']:.4f}" for r in rows)
                     + f" | {s['mean']:.4f} | {s['min']:.4f}–{s['max']:.4f} | "
                     f"{statistics.mean(r['wall_s'] for r in rows):.0f} |")
    lines += ["", "Learning rate, chosen per model on val with seed "
              f"{args.seeds[0]} (same epochs, data, augmentation and seeds otherwise): "
              + "; ".join(f"{lab}: " + ", ".join(f"{lr:g} → {acc:.4f}" for lr, acc in
                                                  sorted(sweep[lab].items()))
                          + f" (chosen {runs[lab][0]['lr']:g})" for lab in ("patch", "twin"))]
    lines += ["", f"Parameters: **{ratio:.1%}** of the twin's ({1 - ratio:.1%} fewer). "
              f"Accuracy difference (patches − twin): **{(p['mean'] - t['mean']) * 100:+.2f} "
              "points** (mean of seeds).", "", f"Files: {', '.join(copied)}"]
    (results / f"{tag}.md").write_text("\n".join(lines) + "\n")
    (results / f"{tag}.json").write_text(json.dumps({
        "chosen": chosen, "runs": runs, "lr_sweep": {k: {str(a): b for a, b in v.items()} for k, v
                                                     in sweep.items()},
        "patch": p, "twin": t, "param_ratio": ratio,
        "machine": machine_info()}, indent=2, default=str) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
