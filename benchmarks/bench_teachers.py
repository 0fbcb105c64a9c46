"""Teachers, their ensembles and the students in one table: PublicTest accuracy, macro-F1, faces/s.

    .venv/bin/python benchmarks/bench_teachers.py --data ../shared/data/fer2013 \\
        --teacher stages/teacher_lite2_96.fp16.safetensors \\
        --teacher stages/teacher_lite1_88.fp16.safetensors \\
        --teacher stages/teacher_lite0_112.fp16.safetensors \\
        --student default --student fast --tta none,flip,tencrop

Issue #11's table. For each TTA mode every model's softmax(logits / T) on the ``val`` split
(FER2013 PublicTest) is computed once with ``ferkit.ensemble.combine.member_probabilities`` (the
code behind ``ferkit ensemble``), and then

- each model's accuracy and macro-F1 (what ``ferkit evaluate --tta MODE`` prints);
- every ensemble rule (mean, vote, accuracy, expo, class; weighted rules cross-fitted on 2 folds
  of PublicTest, as ``ferkit ensemble`` does) over the teachers alone and over teachers +
  students, with the gain over the best member of that ensemble;
- faces/s at batch 1 and 64 on the machine's physical cores, as ``predict`` runs each model
  (``backend=auto``: a bundled model's INT8 file, a checkpoint's float32 torch model;
  ``bench_classifier.time_backend``: uint8 crops → probabilities, warm-up, median of rounds).
  A TTA mode runs the model on 2 (flip) or 10 (tencrop) views per face, so its faces/s is the
  plain figure divided by that; an ensemble's is its members' run one after another.

Probabilities are cached in ``--cache`` by (file, size, mtime, TTA) so a rerun with one more model
only runs that model. Results: ``benchmarks/results/<name>-<date>.{json,md}`` with the command,
git commit and machine. Picking the best rule or TTA by its PublicTest score is itself a choice
made on PublicTest (mildly optimistic); every rule is listed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, write_result  # noqa: E402

VIEWS = {"none": 1, "flip": 2, "tencrop": 10}


def _key(path: Path, tta: str, split: str) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{tta}|{split}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def model_probs(spec: str, data: str, split: str, tta: str, cache: Path | None):
    """(probs (N, C), labels (N,), label names, MemberResult) for one model, cached."""
    from ferkit.bundled import resolve_model

    path = resolve_model(spec, "torch")
    file = cache / f"{Path(spec).stem}-{_key(path, tta, split)}.npz" if cache else None
    if file is not None and file.is_file():
        z = np.load(file, allow_pickle=False)
        return (z["probs"], z["labels"], tuple(str(x) for x in z["names"]),
                {k: z[k].item() for k in ("accuracy", "macro_f1", "model", "input_size")})
    from ferkit.ensemble.combine import member_probabilities

    mp = member_probabilities([spec], data, split, tta=tta, min_members=1)
    probs, y, names, member = mp.probs[0].astype(np.float32), mp.labels, mp.label_names, \
        mp.members[0]
    info = {"accuracy": member.accuracy, "macro_f1": member.macro_f1, "model": member.model,
            "input_size": member.input_size}
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp.npz")
        np.savez(tmp, probs=probs, labels=np.asarray(y), names=np.asarray(names), **info)
        os.replace(tmp, file)
    return probs, np.asarray(y), names, info


def speed(spec: str, threads: int, batches: list[int]) -> dict[int, float]:
    """faces/s as predict runs the model (auto backend), per batch size."""
    import torch

    from bench_classifier import time_backend
    from ferkit.bundled import resolve_model
    from ferkit.inference.backends import load_backend

    torch.set_num_threads(threads)
    backend = load_backend(resolve_model(spec, "auto"), "auto", threads=threads)
    return {b: time_backend(backend, b, 5, 0.5)["faces_per_s"] for b in batches}


def ensembles(rows: dict[str, dict], teachers: list[str], students: list[str], tta: str,
              seed: int) -> list[dict]:
    from ferkit.ensemble.combine import ALL_METHODS, score_methods

    groups = {"teachers": teachers, "teachers+students": teachers + students}
    out = []
    for group, members in groups.items():
        if len(members) < 2 or (group != "teachers" and not students):
            continue
        ref = rows[members[0]]["names"]
        stack = []
        for m in members:
            order = [list(rows[m]["names"]).index(c) for c in ref]
            stack.append(rows[m]["probs"][:, order])
        labels = rows[members[0]]["labels"]
        best_member = max(rows[m]["accuracy"] for m in members)
        for r in score_methods(np.stack(stack), labels, list(ALL_METHODS), label_names=ref,
                               seed=seed):
            out.append({"group": group, "members": members, "tta": tta, "method": r.method,
                        "accuracy": r.accuracy, "macro_f1": r.macro_f1,
                        "cross_fitted": r.cross_fitted, "best_member": best_member,
                        "gain": r.accuracy - best_member})
    return out


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"# Teachers, ensembles and students — {res['date']}", "",
             f"`{res['command']}`", "",
             f"commit `{m['git_commit']}` · {m['cpu']} · {m['physical_cores']} physical cores · "
             f"torch {m.get('torch', '?')} · load average (1 min) {m['load_average'][0]:.2f} "
             f"at start", "",
             f"FER2013 PublicTest (`{res['data']}` split `{res['split']}`, n = {res['n']}). "
             "faces/s: as `predict` runs the model (bundled: INT8 ONNX; checkpoint: float32 "
             f"torch), {res['threads']} threads, no TTA; divide by {VIEWS['flip']} for flip and "
             f"{VIEWS['tencrop']} for tencrop.", "",
             "## Models", "",
             "| role | model | network | input | TTA | accuracy | macro-F1 | faces/s b1 | "
             "faces/s b64 |", "|---|---|---|---:|---|---:|---:|---:|---:|"]
    for r in res["models"]:
        sp = r.get("faces_per_s") or {}
        lines.append(f"| {r['role']} | {r['name']} | {r['model']} | {r['input_size']} | "
                     f"{r['tta']} | {100 * r['accuracy']:.2f}% | {100 * r['macro_f1']:.2f}% | "
                     f"{sp.get('1', sp.get(1, '')):} | {sp.get('64', sp.get(64, '')):} |")
    lines += ["", "## Ensembles (each weighting rule)", "",
              "Weighted rules (accuracy, expo, class) are cross-fitted on 2 stratified folds of "
              "PublicTest; mean and vote need no fitting.", "",
              "| members | TTA | rule | accuracy | macro-F1 | best member | gain |",
              "|---|---|---|---:|---:|---:|---:|"]
    for e in res["ensembles"]:
        lines.append(f"| {e['group']} ({len(e['members'])}) | {e['tta']} | {e['method']} | "
                     f"{100 * e['accuracy']:.2f}% | {100 * e['macro_f1']:.2f}% | "
                     f"{100 * e['best_member']:.2f}% | {100 * e['gain']:+.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    from ferkit.export.onnx import physical_cores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--teacher", action="append", default=[], help="checkpoint (repeatable)")
    ap.add_argument("--student", action="append", default=[],
                    help="bundled name or checkpoint (repeatable)")
    ap.add_argument("--tta", default="none,flip,tencrop")
    ap.add_argument("--threads", type=int, default=physical_cores())
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--no-speed", action="store_true", help="skip the faces/s columns")
    ap.add_argument("--seed", type=int, default=0, help="seed of the cross-fitting folds")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "FERKIT_BENCH_CACHE", "/tmp/ferkit-bench-teachers")))
    ap.add_argument("--name", default="teachers", help="result file prefix")
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    specs = args.teacher + args.student
    if not specs:
        ap.error("give at least one --teacher or --student")
    ttas = [t for t in args.tta.split(",") if t]
    for t in ttas:
        if t not in VIEWS:
            ap.error(f"--tta: unknown mode {t!r}; choose from {', '.join(VIEWS)}")
    batches = [int(b) for b in args.batches.split(",")]

    import torch  # noqa: F401  (so machine_info records its version)

    date = dt.date.today().isoformat()
    res = {"benchmark": "teachers", "date": date,
           "command": "python benchmarks/bench_teachers.py " + shlex.join(argv or sys.argv[1:]),
           "machine": machine_info(physical_cores=physical_cores()), "data": args.data,
           "split": args.split, "threads": args.threads, "models": [], "ensembles": []}
    speeds = {}
    if not args.no_speed:
        for s in specs:
            speeds[s] = speed(s, args.threads, batches)
            print(f"  speed {s}: {speeds[s]}", file=sys.stderr, flush=True)
    for tta in ttas:
        rows = {}
        for s in specs:
            probs, labels, names, info = model_probs(s, args.data, args.split, tta, args.cache)
            rows[s] = {"probs": probs, "labels": labels, "names": names, **info}
            res["n"] = int(len(labels))
            res["models"].append({"role": "teacher" if s in args.teacher else "student",
                                  "name": s, "tta": tta, **info,
                                  "faces_per_s": {str(b): v for b, v in
                                                  speeds.get(s, {}).items()}})
            print(f"  {tta:7s} {s}: acc {info['accuracy']:.4f} F1 {info['macro_f1']:.4f}",
                  file=sys.stderr, flush=True)
        res["ensembles"] += ensembles(rows, args.teacher, args.student, tta, args.seed)
    res["models"].sort(key=lambda r: (r["role"] != "teacher", specs.index(r["name"]),
                                      ttas.index(r["tta"])))
    out = args.output / f"{args.name}-{date}"
    write_result(out, res, markdown)
    return res


if __name__ == "__main__":
    main()
