"""The bundled models against the issue's targets: PublicTest accuracy and CPU speed as shipped.

    .venv/bin/python benchmarks/bench_bundled.py --data ../shared/data/fer2013

For each bundled model (``ferkit.bundled.BUNDLED``) this evaluates, with the same code as
``ferkit evaluate``, the INT8 ONNX file that ``ferkit predict`` runs and the float checkpoint
(no TTA and flip TTA) on the ``val`` split (FER2013 PublicTest), then times the INT8 file with
``bench_classifier.time_backend`` (``predict_proba`` on uint8 crops, warm-up, median of rounds)
at batch 1 and 64. Results: ``benchmarks/results/<name>-<date>.{json,md}`` (``--name``, default
``bundled``) with the command, the git commit and the machine; run it on a quiet machine (other
jobs lower the speed numbers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, machine_line  # noqa: E402
from _targets import TARGETS  # noqa: E402
from bench_classifier import time_backend  # noqa: E402


def evaluate_model(name: str, data: str, split: str) -> list[dict]:
    from ferkit.bundled import BUNDLED
    from ferkit.eval import evaluate

    entry = BUNDLED.get(name)
    rows = []
    # a model shipped as INT8 only (accurate) has no float twin: its flip row is the INT8 file's
    runs = ((("auto", "none"), ("torch", "none"), ("torch", "flip")) if entry.checkpoint else
            (("auto", "none"), ("auto", "flip")))
    for backend, tta in runs:
        path = entry.path(backend)
        rep = evaluate(path, data, split=split, tta=tta, progress=False)
        rows.append({"file": path.name, "tta": tta,
                     "as_predict_runs_it": backend == "auto" and tta == "none",
                     "accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "ece": rep.ece,
                     "num_samples": rep.num_samples, "held_out": rep.held_out})
        print(f"  {name:8s} {path.name:22s} tta={tta:5s} acc {rep.accuracy:.4f}",
              file=sys.stderr, flush=True)
    return rows


def speed_model(name: str, threads: int, repeats: int, min_round_s: float) -> dict:
    from ferkit.bundled import BUNDLED
    from ferkit.inference.backends import load_backend

    backend = load_backend(BUNDLED.get(name).path("auto"), threads=threads)
    out = {}
    for batch in (1, 64):
        r = time_backend(backend, batch, repeats, min_round_s)
        out[f"b{batch}"] = r
        print(f"  {name:8s} b{batch:<3d} {r['faces_per_s']:>9.1f} faces/s ({threads} threads)",
              file=sys.stderr, flush=True)
    return out


def verdicts(name: str, evals: list[dict], speed: dict) -> dict:
    t = TARGETS.get(name, {})
    as_run = next(r for r in evals if r["as_predict_runs_it"])
    got = {"accuracy": as_run["accuracy"], "faces_per_s_b64": speed["b64"]["faces_per_s"],
           "faces_per_s_b1": speed["b1"]["faces_per_s"]}
    # a model that trained on this split (train+val) cannot meet an accuracy target here
    return {k: {"target": v, "measured": got[k],
                "met": None if k == "accuracy" and not as_run.get("held_out", True)
                else got[k] >= v} for k, v in t.items()}


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [f"# Bundled models vs targets — {doc['date']}", "",
             *([f"`{doc['command']}`", ""] if doc.get("command") else []),
             f"{machine_line(m)} · {doc['threads']} threads · data `{doc['data']}` "
             f"split `{doc['split']}`", "",
             "| model | file | TTA | as predict runs it | accuracy | macro-F1 | ECE |",
             "|---|---|---|---|---:|---:|---:|"]
    for name, res in doc["models"].items():
        for r in res["eval"]:
            lines.append(f"| {name} | {r['file']} | {r['tta']} | "
                         f"{'yes' if r['as_predict_runs_it'] else ''} | "
                         f"{100 * r['accuracy']:.2f}%"
                         f"{'' if r.get('held_out', True) else ' (trained on it)'} | "
                         f"{100 * r['macro_f1']:.2f}% | "
                         f"{r['ece']:.4f} |")
    lines += ["", "| model | faces/s batch 1 | faces/s batch 64 |", "|---|---:|---:|"]
    for name, res in doc["models"].items():
        b1, b64 = (res["speed"][k]["faces_per_s"] for k in ("b1", "b64"))
        lines.append(f"| {name} | {b1:,.0f} | {b64:,.0f} |")
    lines += ["", "| model | metric | target | measured | met |", "|---|---|---:|---:|---|"]
    for name, res in doc["models"].items():
        for key, v in res["verdicts"].items():
            fmt = (lambda x: f"{100 * x:.2f}%") if key == "accuracy" else (lambda x: f"{x:,.0f}")
            met = ("n/a: trained on this split" if v["met"] is None
                   else "yes" if v["met"] else "NO")
            lines.append(f"| {name} | {key} | {fmt(v['target'])} | {fmt(v['measured'])} | "
                         f"{met} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from ferkit.bundled import BUNDLED
    from ferkit.io import atomic_write_json, atomic_write_text

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="FER2013 (folder or CSV)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--models", default=",".join(BUNDLED.names()))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--min-round-s", type=float, default=1.0)
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--name", default="bundled", help="result file stem (before the date)")
    args = ap.parse_args()

    import onnxruntime  # noqa: F401  (so machine_info records its version)

    date = dt.date.today().isoformat()
    doc = {"benchmark": "bundled", "date": date, "data": args.data, "split": args.split,
           "command": "python benchmarks/bench_bundled.py " + " ".join(sys.argv[1:]),
           "threads": args.threads, "machine": machine_info(), "models": {}}
    for name in args.models.split(","):
        speed = speed_model(name, args.threads, args.repeats, args.min_round_s)
        evals = evaluate_model(name, args.data, args.split)
        doc["models"][name] = {"eval": evals, "speed": speed,
                               "verdicts": verdicts(name, evals, speed)}
    atomic_write_json(args.output / f"{args.name}-{date}.json", doc)
    atomic_write_text(args.output / f"{args.name}-{date}.md", markdown(doc))
    print(markdown(doc))


if __name__ == "__main__":
    main()
