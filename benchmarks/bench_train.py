"""Training throughput (images/s) on the CPU for three model sizes, with the real training step.

    .venv/bin/python benchmarks/bench_train.py                       # synthetic 48 px data
    .venv/bin/python benchmarks/bench_train.py --data /path/to/fer2013 --steps 30

Each model is trained by a real Lightning ``Trainer`` with ferkit's ``FerModule`` and
``FerDataModule`` (uint8 batches → batched augmentation: flip + rotation + shift + scale in one
``grid_sample``, random erasing → forward → loss → backward → optimiser step). A callback times
every step from one batch's end to the next, so the loading, transfer and augmentation that
Lightning runs before ``on_train_batch_start`` are counted too (result files before
2026-11-30 timed from ``on_train_batch_start`` and left them out); the first ``--warmup`` steps
are dropped and the median step time gives images/s.
``--model NAME:k=v`` times any registered network instead of the built-in four, and
``--precision 32-true bf16-mixed`` times each under both (bf16 autocast sped up plain
convolutions ~2x on one CPU and slowed depthwise ones on another: measure it per machine).
Results: ``benchmarks/results/<--name>-<date>.{json,md}`` (default ``train-throughput``) with
the git commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line  # noqa: E402
from _spec import parse_spec  # noqa: E402

#: (label, registered model, builder kwargs): a tiny, a ~0.5M and a ~5M parameter model
MODELS = (
    ("small (tinycnn width 32)", "tinycnn_test", {"width": 32}),
    ("~0.5M (agrawal_fcn8)", "agrawal_fcn8", {}),
    ("~0.8M (mobilenet_small)", "mobilenet_small", {}),
    ("~5M (vulpe_cnn)", "vulpe_cnn", {}),
)


def synthetic_dataset(n: int, size: int = 48):
    from ferkit.data.base import Dataset, SplitArrays
    from ferkit.data.synthetic import make_images
    from ferkit.types import EMOTIONS

    labels = np.arange(n) % len(EMOTIONS)
    images = np.asarray(make_images(list(labels), len(EMOTIONS), size, "gray", 0), np.uint8)
    split = SplitArrays(images, labels.astype(np.int64), [])
    return Dataset("synthetic", Path("synthetic"), EMOTIONS, {"train": split}, "synthetic")


def measure(name: str, kwargs: dict, dataset, batch: int, steps: int, warmup: int,
            extra: tuple[str, ...] = ()) -> dict:
    import lightning as L
    import torch

    from ferkit.train import load_train_config
    from ferkit.train.datamodule import FerDataModule, prepare_splits
    from ferkit.train.module import FerModule
    from ferkit.train.runner import build_model, lightning_precision, quiet_lightning

    cfg = load_train_config(None, [
        f"model.name={name}", f"model.kwargs={json.dumps(kwargs)}", "data.path=x",
        f"trainer.batch_size={batch}", "augment.rotation=10", "augment.shift=0.1",
        "augment.scale=0.1", "augment.erasing=0.5", "optimizer.name=sgd", "trainer.epochs=1",
        "scheduler.name=none", *extra])
    model, frozen, _ = build_model(cfg, tuple(dataset.classes))
    info = model.ferkit_info
    splits = prepare_splits(dataset, cfg, info.input_size, info.interpolation,
                            np.random.default_rng(0))
    times: list[float] = []

    class Timer(L.Callback):
        # batch end to batch end: Lightning moves and augments a batch (batch_to_device →
        # on_after_batch_transfer, where ferkit augments and live teachers run) *before*
        # on_train_batch_start, so timing from there would leave that work out
        def on_train_epoch_start(self, *a):
            self.t = time.perf_counter()

        def on_train_batch_end(self, *a):
            now = time.perf_counter()
            times.append(now - self.t)
            self.t = now

    with quiet_lightning():
        trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False,
                            precision=lightning_precision(cfg.trainer.precision, "cpu"),
                            callbacks=[Timer()], enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            limit_train_batches=warmup + steps, limit_val_batches=0)
        trainer.fit(FerModule(model, cfg, frozen=frozen),
                    datamodule=FerDataModule(splits, cfg, len(dataset.classes)))
    step = statistics.median(times[warmup:])
    return {"model": name, "kwargs": kwargs, "params": sum(p.numel() for p in model.parameters()),
            "input_size": info.input_size, "batch_size": batch, "steps_timed": len(times) - warmup,
            "median_step_s": round(step, 5), "images_per_s": round(batch / step, 1),
            "first_step_s": round(times[0], 3),
            "torch_threads": torch.get_num_threads()}


def write_results(rows: list[dict], args: argparse.Namespace) -> Path:
    today = dt.date.today().isoformat()
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    from ferkit.io import atomic_write_json, atomic_write_text

    machine = machine_info(processor=platform.processor(),
                           load_average_1m_at_start=args.load_at_start)
    doc = {"benchmark": "train-throughput", "date": today, "git_commit": machine["git_commit"],
           "machine": machine, "data": args.data or "synthetic 48x48 gray",
           "warmup_steps": args.warmup, "results": rows,
           "note": "real Lightning training step incl. batched augmentation; CPU shared with "
                   "other processes may lower numbers"}
    stem = out / f"{args.name}-{today}"
    atomic_write_json(stem.with_suffix(".json"), doc)
    lines = [f"# Training throughput ({today})", "",
             f"{machine_line(machine)}, {machine['platform']}, "
             f"data: {doc['data']}, median of {args.steps} steps after {args.warmup} warm-up; "
             f"1-min load average at start {args.load_at_start:.1f} (a shared CPU lowers the "
             "numbers)", "",
             "| model | precision | params | input | batch | images/s |",
             "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['label']} | {r.get('precision', '32-true')} | {r['params']:,} | "
              f"{r['input_size']} | {r['batch_size']} | {r['images_per_s']:.1f} |" for r in rows]
    atomic_write_text(stem.with_suffix(".md"), "\n".join(lines) + "\n")
    return stem.with_suffix(".md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="dataset path (default: synthetic images)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--only", nargs="*", help="model names to run (default: all)")
    ap.add_argument("--model", action="append", default=[], metavar="NAME[:k=v,...]",
                    help="a registered model with builder options to time instead of the "
                         "built-in four, e.g. efficientnet_lite0:input_size=112 (repeatable)")
    ap.add_argument("--precision", nargs="+", default=["32-true"],
                    help="trainer.precision values to time each model under (e.g. 32-true "
                         "bf16-mixed: whether bf16 autocast pays depends on the CPU and on the "
                         "network: measure, never assume)")
    ap.add_argument("--name", default="train-throughput", help="result file stem (before the date)")
    args = ap.parse_args()
    args.load_at_start = os.getloadavg()[0]
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    need = args.batch_size * (args.steps + args.warmup + 1)
    if args.data:
        from ferkit.data import load_dataset

        dataset = load_dataset(args.data)
    else:
        dataset = synthetic_dataset(need)
    models = ([(spec, *parse_spec(spec)) for spec in args.model] if args.model
              else [m for m in MODELS if not args.only or m[1] in args.only])
    rows = []
    for label, name, kwargs in models:
        for precision in args.precision:
            row = measure(name, kwargs, dataset, args.batch_size, args.steps, args.warmup,
                          (f"trainer.precision={precision}",))
            row.update(label=label, precision=precision)
            rows.append(row)
            print(f"{label:28s} {precision:10s} {row['params']:>10,} params  "
                  f"{row['images_per_s']:8.1f} images/s", flush=True)
    print(f"wrote {write_results(rows, args)}")


if __name__ == "__main__":
    main()
