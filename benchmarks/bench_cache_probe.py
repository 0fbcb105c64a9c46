"""Can a committed teacher cache be recognised by its content? The teachers of a recipe run on
the probe views (64, spread over the cache) drawn on this machine, and their mean logits are
compared with the logits stored in the recipe's committed cache and in other caches.

    .venv/bin/python benchmarks/bench_cache_probe.py --data ../shared/data/fer2013

Why: the caches committed before 2026-12-01 carry a fingerprint over the resized training
pixels, and OpenCV rounds a few of them differently per SIMD width, so on another kind of CPU
(a Zen 3 vs the Zen 4 that made them) the fingerprint cannot be recomputed and a 10-teacher
cache would be rebuilt for hours. ``ferkit.train.teacher_cache`` then checks the cache by
content: it is used when max |difference| <= ``PROBE_LOGIT_TOL``. This table is the evidence
for that threshold: the same teachers on this machine's views vs a cache of other teachers
(one teacher of ten changed), other views of the same images (the neighbouring view of each
probed one) and a cache of other teachers on the same views.
Results: ``benchmarks/results/teacher-cache-probe-<date>.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line, write_result  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="FER2013 (folder or CSV)")
    ap.add_argument("--config", default="configs/default_lite1_distill10_88.yaml",
                    help="a distillation recipe with distill.cache_from")
    ap.add_argument("--other", action="append", default=None,
                    help="other caches of the same views to compare (default: the committed "
                         "distill9 and distill5 caches)")
    ap.add_argument("--output", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    others = args.other or ["stages/distill9_teacher_cache_80.npz",
                            "stages/distill5_teacher_cache_80.npz"]

    import torch

    from ferkit.seed import seed_everything
    from ferkit.train.config import load_train_config
    from ferkit.train.datamodule import prepare_splits
    from ferkit.train.runner import _with_validation, build_model, load_train_data
    from ferkit.train.teacher_cache import (
        PROBE_LOGIT_TOL,
        _probe_index,
        draw_views,
        teacher_outputs,
    )
    from ferkit.train.teachers import check_teachers, load_frozen, place_teachers

    cfg = load_train_config(args.config, data={"path": args.data})
    d = cfg.distill
    rng = seed_everything(cfg.seed)
    dataset = _with_validation(cfg, load_train_data(cfg)).dataset
    model = build_model(cfg, tuple(dataset.classes))[0]
    info = model.ferkit_info
    size = d.cache_size or info.input_size
    splits = prepare_splits(dataset, cfg, info.input_size, info.interpolation, rng,
                            train_size=d.cache_size or None)
    print(f"drawing {d.cache_views} views of {len(splits.train.images)} images at {size} px",
          file=sys.stderr)
    views = draw_views(splits.train.images, np.asarray(splits.train.labels), cfg, size,
                       info.in_chans, len(info.labels))
    idx = _probe_index(len(views))
    files = check_teachers(d.teachers, info)
    cpu = torch.device("cpu")
    teachers, cl = place_teachers(d.runtime, d.teachers, load_frozen(files), cpu, False)

    def outputs(at: np.ndarray) -> np.ndarray:
        return teacher_outputs(teachers, views[torch.from_numpy(at)], cpu, cl).float().numpy()

    mine = outputs(idx)
    neighbour = np.where(idx % d.cache_views == d.cache_views - 1, idx - 1, idx + 1)

    def stored(path: str) -> np.ndarray:
        with np.load(REPO / path) as z:
            return z["logits"][idx].astype(np.float32)

    def row(what: str, cache: str, ours: np.ndarray, theirs: np.ndarray) -> dict:
        diff = np.abs(ours - theirs)
        return {"compared": what, "cache": cache, "max_abs": float(diff.max()),
                "mean_abs": float(diff.mean()),
                "argmax_agree": float((ours.argmax(1) == theirs.argmax(1)).mean()),
                "accepted": bool(diff.max() <= PROBE_LOGIT_TOL)}

    rows = [row(f"these {len(files)} teachers, the same views", d.cache_from, mine,
                stored(d.cache_from)),
            row(f"these {len(files)} teachers on the neighbouring view", d.cache_from,
                outputs(neighbour), stored(d.cache_from))]
    rows += [row(f"these {len(files)} teachers vs another cache", other, mine, stored(other))
             for other in others]
    for r in rows:
        print(f"{r['compared']} [{r['cache']}]: max {r['max_abs']:.4f} mean {r['mean_abs']:.4f}"
              f" argmax {r['argmax_agree']:.3f} accepted {r['accepted']}", file=sys.stderr)
    today = dt.date.today().isoformat()
    result = {"benchmark": "teacher-cache-probe", "date": today, "data": args.data,
              "config": args.config, "probe_views": int(len(idx)), "tolerance": PROBE_LOGIT_TOL,
              "machine": machine_info(), "rows": rows,
              "command": "python benchmarks/bench_cache_probe.py " + " ".join(argv or sys.argv[1:])}
    write_result(Path(args.output) / f"teacher-cache-probe-{today}", result, markdown)
    return 0


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"# Teacher cache recognised by content — {r['date']}", "",
             f"`{r['command']}`", "",
             f"{machine_line(m)} · data `{r['data']}` · recipe `{r['config']}`", "",
             f"The recipe's teachers run on {r['probe_views']} probe views drawn on this machine; "
             "their mean logits against stored float16 logits. A cache is used when max "
             f"|difference| <= {r['tolerance']} (`PROBE_LOGIT_TOL`).", "",
             "| compared | cache | max abs | mean abs | argmax agrees | used |",
             "|---|---|---:|---:|---:|---|"]
    for row in r["rows"]:
        lines.append(f"| {row['compared']} | `{row['cache']}` | {row['max_abs']:.4f} | "
                     f"{row['mean_abs']:.4f} | {row['argmax_agree']:.1%} | "
                     f"{'yes' if row['accepted'] else 'no'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
