"""How closely two models answer alike: top-1 agreement and probability differences, per split.

    .venv/bin/python benchmarks/bench_agreement.py runs/dt16_rebuild/last.safetensors \\
        src/ferkit/weights/default.safetensors --data ../shared/data/fer2013 --splits val train \\
        --every 8 --name agreement-round16-rebuild

Why: a recipe that trained on every labelled image (``data.train_on: train+val``) has no held-out
split to be re-measured on, so "does the committed command reproduce the shipped file?" is asked
directly: run the recipe again (another machine, same seed and committed inputs) and compare the
two models' decisions image by image. Accuracy on a split either of them trained on is no
measurement, and this script prints none. ``--every N`` takes every N-th image of a split (a
quick look at a large one). Both models run through ``load_backend`` (``--backend``, default
``torch``: float weights, no INT8 rounding in the comparison).
Results: ``benchmarks/results/<name>-<date>.{json,md}`` with the git commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line, write_result  # noqa: E402


def compare(probs_a: np.ndarray, probs_b: np.ndarray) -> dict:
    """Agreement figures of two (N, K) probability arrays over the same images."""
    diff = np.abs(probs_a - probs_b)
    return {"images": int(len(probs_a)),
            "top1_agreement": float(np.mean(probs_a.argmax(1) == probs_b.argmax(1))),
            "max_abs_prob_diff": float(diff.max()) if diff.size else 0.0,
            "mean_abs_prob_diff": float(diff.mean()) if diff.size else 0.0}


def markdown(result: dict) -> str:
    lines = [f"# Agreement of two models — {result['date']}", "",
             machine_line(result["machine"]), "",
             f"A: `{result['model_a']}`  ", f"B: `{result['model_b']}`  ",
             f"data: `{result['data']}`, backend `{result['backend']}`, "
             + ("every image" if result["every"] == 1 else f"every {result['every']}th image")
             + " of each split", "",
             "| split | images | top-1 agreement | max abs prob diff | mean abs prob diff |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['split']} | {r['images']} | {100 * r['top1_agreement']:.2f}% | "
              f"{r['max_abs_prob_diff']:.3f} | {r['mean_abs_prob_diff']:.4f} |"
              for r in result["rows"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("--data", required=True)
    ap.add_argument("--splits", nargs="+", default=["val"])
    ap.add_argument("--every", type=int, default=1, help="take every N-th image of a split")
    ap.add_argument("--backend", default="torch")
    ap.add_argument("--name", default="agreement", help="result file stem (before the date)")
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    if args.every < 1:
        ap.error("--every must be >= 1")

    from ferkit.data import load_dataset
    from ferkit.errors import FerkitError
    from ferkit.inference.backends import load_backend

    try:
        dataset = load_dataset(args.data)
        backends = [load_backend(m, backend=args.backend) for m in (args.model_a, args.model_b)]
        rows = []
        for split in args.splits:
            if split not in dataset.splits:
                raise SystemExit(f"error: {args.data!r} has no split {split!r} (it has: "
                                 f"{', '.join(sorted(dataset.splits))})")
            images = dataset.splits[split].images[::args.every]
            probs = [b.predict_proba(images) for b in backends]
            rows.append({"split": split, **compare(*probs)})
    except FerkitError as exc:
        raise SystemExit(f"error: {exc}") from None
    today = dt.date.today().isoformat()
    result = {"benchmark": "agreement", "date": today, "model_a": args.model_a,
              "model_b": args.model_b, "data": args.data, "backend": args.backend,
              "every": args.every, "rows": rows, "machine": machine_info()}
    args.output.mkdir(parents=True, exist_ok=True)
    write_result(args.output / f"{args.name}-{today}", result, markdown)


if __name__ == "__main__":
    main()
