"""A finished (or stopped) training run as a dated result: per-epoch table, curves, final numbers.

    python tools/run_report.py RUN benchmarks/results/teacher-lite2-96-mix-2026-11-30 \\
        --title "Issue #11, round 3: the Lite2 96 px mixup/cutmix teacher" \\
        --command "ferkit train --config configs/teacher_lite2_96_mix.yaml --data ... --output RUN"

Writes STEM.md (what ran, the per-epoch validation and train accuracy, the best epoch, the run's
own final evaluation of best.safetensors: accuracy, macro-F1, ECE, temperature; images/s, wall
time), and copies RUN/metrics.csv and RUN/learning_curves.png to STEM-metrics.csv and
STEM-learning_curves.png. Long CPU runs end in such a file so their numbers outlive the run
folder; the validation numbers are whatever ``ferkit train`` measured (its ``trainer.val_tta``).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path


def epoch_table(rows: list[dict]) -> list[str]:
    best = max(range(len(rows)), key=lambda i: float(rows[i]["val_acc"] or 0))
    head = "| epoch | " + " | ".join(r["epoch"] for r in rows) + " |"
    val = [f"{100 * float(r['val_acc']):.1f}" if r.get("val_acc") else "—" for r in rows]
    val[best] = f"**{val[best]}**"
    train = [f"{100 * float(r['train_acc']):.1f}" if r.get("train_acc") else "—" for r in rows]
    return [head, "|---" * (len(rows) + 1) + "|", "| val acc | " + " | ".join(val) + " |",
            "| train acc | " + " | ".join(train) + " |"]


def report(run: Path, title: str, command: str) -> str:
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    if not rows:
        raise SystemExit(f"{run}/metrics.csv has no epochs yet")
    cfg_text = (run / "config.yaml").read_text() if (run / "config.yaml").is_file() else ""
    tta = "flip" if "val_tta: flip" in cfg_text else "none"
    lines = [f"# {title}", "", f"Command: `{command}`", "",
             f"Per-epoch PublicTest (val) accuracy as `ferkit train` measured it (TTA: {tta}; "
             "the weight-EMA model when the recipe has `trainer.ema`); train accuracy is on "
             "augmented batches.", "", *epoch_table(rows), ""]
    result = run / "result.json"
    if result.is_file():
        r = json.loads(result.read_text())
        best = 100 * r["best_val_acc"]
        lines.append(f"Best epoch {r['best_epoch']} of {r['epochs']}: **{best:.2f}%** (TTA "
                     f"{tta}); {r['images_per_s']:.0f} train images/s; wall time of the last "
                     f"start {r['wall_time_s'] / 60:.0f} min.")
        ev = run / "eval" / "report.json"
        if ev.is_file():
            e = json.loads(ev.read_text())
            lines.append(f"The run's own final evaluation of best.safetensors (TTA "
                         f"{e.get('tta') or 'none'}): accuracy **{100 * e['accuracy']:.2f}%**, "
                         f"macro-F1 {100 * e['macro_f1']:.2f}%, ECE {e['ece']:.3f}, temperature "
                         f"{e['temperature']:.3f}.")
    else:
        lines.append(f"The run has not finished: {len(rows)} epoch(s) so far.")
    times = sorted(float(r["time_s"]) for r in rows if r.get("time_s"))
    if times:
        lines.append(f"Median epoch {times[len(times) // 2] / 60:.1f} min (validation included).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("stem", type=Path, help="output path without suffix")
    ap.add_argument("--title", required=True)
    ap.add_argument("--command", required=True, help="the command that trained the run")
    args = ap.parse_args(argv)
    if not (args.run / "metrics.csv").is_file():
        print(f"error: {args.run} has no metrics.csv: is it a ferkit run folder?", file=sys.stderr)
        return 1
    from ferkit.io import atomic_write_text

    text = report(args.run, args.title, args.command)
    atomic_write_text(args.stem.with_suffix(".md"), text)
    shutil.copyfile(args.run / "metrics.csv", f"{args.stem}-metrics.csv")
    if (args.run / "learning_curves.png").is_file():
        shutil.copyfile(args.run / "learning_curves.png", f"{args.stem}-learning_curves.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
