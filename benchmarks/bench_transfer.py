"""EfficientNet transfer learning, Singh et al.'s question: frozen vs fine-tuned vs from scratch.

    .venv/bin/python benchmarks/bench_transfer.py --data ../shared/data/fer2013 \\
        --runs /work/runs/transfer --epochs 3

Three runs of ``ferkit train`` that differ only in where the weights start and what is trained,
all on one schedule (the recipe ``configs/efficientnet_transfer.yaml``: EfficientNet-Lite0 at
64 px, AdamW + one-cycle, the default model's augmentation; ``--epochs`` on all of FER2013
Training):

- ``frozen``: ImageNet weights, backbone frozen, only the head trains (the paper's setting);
- ``finetune``: ImageNet weights, everything trains;
- ``scratch``: random initialisation, everything trains.

Each run is evaluated on PublicTest (``val``) without TTA by the trainer's final evaluation (the
code behind ``ferkit evaluate``). A run folder that already holds a finished run is reused and an
interrupted one is resumed, so the script can be stopped and restarted. Results:
``benchmarks/results/transfer-<date>.{json,md}`` and ``transfer-<date>-curves.png`` (PublicTest
accuracy per epoch) with the command, git commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, write_result  # noqa: E402

RECIPE = REPO / "configs" / "efficientnet_transfer.yaml"
VARIANTS: dict[str, list[str]] = {
    "frozen": ["model.pretrained=true", "model.kwargs={input_size: 64, drop: 0.2, "
               "freeze_backbone: true}"],
    "finetune": ["model.pretrained=true", "model.kwargs={input_size: 64, drop: 0.2, "
                 "freeze_backbone: false}"],
    "scratch": ["model.pretrained=false", "model.kwargs={input_size: 64, drop: 0.2, "
                "freeze_backbone: false}"],
}


def run_variant(name: str, data: str, run_dir: Path, epochs: int, limit: int) -> dict:
    from ferkit.train import load_train_config, train
    from ferkit.train.runner import load_resume_config

    report = run_dir / "eval" / "report.json"
    if not report.is_file():
        if (run_dir / "resume" / "state.ckpt").is_file():
            print(f"  {name}: resuming {run_dir}", file=sys.stderr, flush=True)
            train(load_resume_config(run_dir), resume=True)
        else:
            extra = [f"data.limit_train={limit}"] if limit else []
            cfg = load_train_config(RECIPE, [*VARIANTS[name], f"trainer.epochs={epochs}",
                                             *extra],
                                    **{"data.path": data, "output": str(run_dir)})
            train(cfg)
    rep = json.loads(report.read_text())
    result = json.loads((run_dir / "result.json").read_text())
    hist = result.get("history", [])
    return {"variant": name, "run_dir": str(run_dir), "accuracy": rep["accuracy"],
            "macro_f1": rep["macro_f1"], "history": hist,
            "wall_time_s": result.get("wall_time_s"),
            "images_per_s": result.get("images_per_s"), "trainable_params":
            trainable_params(name), "overrides": VARIANTS[name]}


def trainable_params(name: str) -> int:
    """Parameters the variant's optimiser updates (requires_grad), from the recipe's model."""
    from ferkit.models import count_params, create_model

    kw = {"input_size": 64, "drop": 0.2, "freeze_backbone": name == "frozen"}
    return count_params(create_model("efficientnet_lite0", pretrained=False, **kw))


def curves(rows: list[dict], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not any(r["history"] for r in rows):
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ep = [h["epoch"] for h in r["history"] if h.get("val_acc") is not None]
        acc = [100 * h["val_acc"] for h in r["history"] if h.get("val_acc") is not None]
        ax.plot(ep, acc, marker="o", label=r["variant"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("PublicTest accuracy (%)")
    ax.set_title("EfficientNet-Lite0 64 px: frozen vs fine-tuned vs scratch")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    from ferkit.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def markdown(res: dict) -> str:
    m = res["machine"]
    images = f"{res['limit']:,} images" if res["limit"] else "all of Training"
    lines = [f"# EfficientNet transfer: frozen vs fine-tuned vs scratch — {res['date']}", "",
             f"`{res['command']}`", "",
             f"commit `{m['git_commit']}` · {m['cpu']} · torch {m.get('torch', '?')} · "
             f"{res['note'] or 'no note on the machine load'}", "",
             f"One schedule for all three (`configs/efficientnet_transfer.yaml`, "
             f"{res['epochs']} epochs on {images}); PublicTest accuracy without TTA from the "
             "trainer's final evaluation.", "",
             "| variant | start | trained | trainable params | PublicTest acc. | macro-F1 | "
             "per-epoch PublicTest (%) | train wall | train img/s |",
             "|---|---|---|---:|---:|---:|---|---:|---:|"]
    what = {"frozen": ("ImageNet", "head only"), "finetune": ("ImageNet", "all layers"),
            "scratch": ("random", "all layers")}
    for r in res["rows"]:
        start, trained = what[r["variant"]]
        per = ", ".join(f"{100 * h['val_acc']:.1f}" for h in r["history"]
                        if h.get("val_acc") is not None)
        lines.append(f"| {r['variant']} | {start} | {trained} | {r['trainable_params']:,} | "
                     f"{100 * r['accuracy']:.2f}% | "
                     f"{100 * r['macro_f1']:.2f}% | {per} | "
                     f"{(r.get('wall_time_s') or 0) / 60:.1f} min | "
                     f"{r.get('images_per_s') or ''} |")
    if res.get("curves"):
        lines += ["", f"![learning curves]({Path(res['curves']).name})"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", type=Path, required=True, help="parent of the three run folders")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="train images per epoch (0 = all)")
    ap.add_argument("--variants", default="frozen,finetune,scratch")
    ap.add_argument("--note", default="", help="how the runs were placed (cores, other jobs)")
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    for v in names:
        if v not in VARIANTS:
            ap.error(f"--variants: unknown {v!r}; choose from {', '.join(VARIANTS)}")

    import torch  # noqa: F401  (so machine_info records its version)

    date = dt.date.today().isoformat()
    rows = [run_variant(v, args.data, args.runs / v, args.epochs, args.limit) for v in names]
    out = args.output / f"transfer-{date}"
    res = {"benchmark": "transfer", "date": date,
           "command": "python benchmarks/bench_transfer.py " + shlex.join(argv or sys.argv[1:]),
           "machine": machine_info(), "note": args.note, "epochs": args.epochs, "limit": args.limit,
           "recipe": str(RECIPE.relative_to(REPO)), "rows": rows}
    png = curves(rows, Path(f"{out}-curves.png"))
    res["curves"] = str(png) if png else None
    write_result(out, res, markdown)
    return res


if __name__ == "__main__":
    main()
