"""Models under camera shifts: PublicTest accuracy of each model on the stored faces and on the
same faces as other cameras and detectors would give them (``ferkit evaluate --shift``).

    .venv/bin/python benchmarks/bench_shifts.py --data ../shared/data/fer2013 \
        --model default --model fast --model stages/teacher_lite1_88.fp16.safetensors

A proxy for issue #11's held-back "faces from other cameras" check (which found the default
losing more there than a tiny baseline): the people and labels stay FER2013's, only the pixels
change, so it can rank models and training choices by how much they lose, not predict the
held-back score. Each model runs through ``ferkit.eval.evaluate_shifts`` (bundled names as
``predict`` runs them, i.e. INT8; checkpoints in float), every shift in ``ferkit.eval.shifts.ALL``
with seed 0. Results: ``benchmarks/results/<name>-<date>.{md,json,png}`` (``--name``, default
``shifts``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line, write_result  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--model", action="append", required=True,
                    help="bundled name or checkpoint (repeatable)")
    ap.add_argument("--output", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--name", default="shifts", help="result file stem (before the date)")
    args = ap.parse_args(argv)

    import onnxruntime  # noqa: F401  (so machine_info records its version)

    from ferkit.eval.report import evaluate_shifts, shift_table
    from ferkit.eval.shifts import ALL

    models = []
    for model in args.model:
        reports = evaluate_shifts(model, args.data, ["none", *ALL], split=args.split,
                                  progress=False)
        rows = shift_table(reports)
        shifted = [r["accuracy"] for r in rows if r["shift"] != "none"]
        models.append({"model": model, "file": Path(reports[0].checkpoint).name, "rows": rows,
                       "mean_shifted": sum(shifted) / len(shifted)})
        print(f"{model}: none {rows[0]['accuracy']:.4f}, mean over shifts "
              f"{models[-1]['mean_shifted']:.4f}", file=sys.stderr)
    today = dt.date.today().isoformat()
    stem = Path(args.output) / f"{args.name}-{today}"
    result = {"benchmark": "shifts", "date": today, "data": args.data, "split": args.split,
              "name": args.name,
              "shifts": ["none", *ALL], "machine": machine_info(), "models": models,
              "command": "python benchmarks/bench_shifts.py " + " ".join(argv or sys.argv[1:])}
    _plot(result, stem.with_suffix(".png"))
    write_result(stem, result, markdown)
    return 0


def _plot(r: dict, path: Path) -> None:
    import numpy as np

    from ferkit.eval.plots import _save, plt  # Agg backend, atomic PNG

    shifts, models = r["shifts"], r["models"]
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(2 + 1.0 * len(shifts), 4))
    for i, m in enumerate(models):
        acc = [100 * row["accuracy"] for row in m["rows"]]
        ax.bar(np.arange(len(shifts)) + (i - (len(models) - 1) / 2) * width, acc, width,
               label=f"{m['model']} (mean shifted {100 * m['mean_shifted']:.1f}%)")
    ax.set_xticks(range(len(shifts)), shifts, rotation=30)
    ax.set_ylabel("PublicTest accuracy (%)")
    ax.set_title(f"Camera shifts, {r['split']} split ({r['date']})", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    _save(fig, path)


def markdown(r: dict) -> str:
    m = r["machine"]
    head = " | ".join(["model", "file", *r["shifts"], "mean shifted"])
    lines = [f"# Models under camera shifts — {r['date']}", "", f"`{r['command']}`", "",
             f"{machine_line(m)} · data `{r['data']}` split `{r['split']}`"
             " · seed 0 · shifts from `ferkit.eval.shifts` (one fixed severity each; "
             "`ferkit evaluate --shift all` prints what each mimics)", "",
             "PublicTest accuracy (%); in brackets the change from the stored faces.", "",
             f"| {head} |", "|---|---|" + "---:|" * (len(r["shifts"]) + 1)]
    for mod in r["models"]:
        cells = []
        for row in mod["rows"]:
            delta = "" if row["delta"] is None or row["shift"] == "none" \
                else f" ({100 * row['delta']:+.1f})"
            cells.append(f"{100 * row['accuracy']:.2f}{delta}")
        lines.append(f"| {mod['model']} | `{mod['file']}` | " + " | ".join(cells)
                     + f" | **{100 * mod['mean_shifted']:.2f}** |")
    lines += ["", f"![accuracy per shift]({r.get('name', 'shifts')}-{r['date']}.png)"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
