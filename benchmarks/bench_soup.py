"""Model soups against their ingredients: PublicTest accuracy, float and as INT8.

    .venv/bin/python benchmarks/bench_soup.py --data ../shared/data/fer2013 \
        --ingredient t=stages/teacher_lite1_88.fp16.safetensors \
        --ingredient d=runs/default_lite1_distill5_88/best.safetensors \
        --soup t+d --soup t+d@1,3 --work /work/runs/soup

Each ``--soup`` names ingredients by their short names, joined by ``+``; ``@w1,w2,...`` gives
weights (default uniform). Every soup is written with ``ferkit.ensemble.soup.make_soup`` (what
``ferkit soup`` runs) and evaluated with the code of ``ferkit evaluate`` (float, no TTA and flip
TTA); ``--int8`` also exports it with ``ferkit.export`` (static INT8, calibrated on the training
split as the bundled models are) and evaluates that file, which is how ``ferkit predict`` would
run it. Every soup tried is in the table, not only the best: choosing among them on PublicTest
is model selection on that split, and the spread between them shows how much of a difference is
noise. Results: ``benchmarks/results/<name>-<date>.{json,md}`` with the commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, write_result  # noqa: E402


def _evaluate(path: Path, data: str, split: str, tta: str) -> dict:
    from ferkit.eval import evaluate

    rep = evaluate(path, data, split=split, tta=tta, progress=False)
    return {"accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "n": rep.num_samples}


def _parse_soup(spec: str, names: dict[str, str]) -> tuple[list[str], list[float] | None]:
    members, _, weights = spec.partition("@")
    keys = members.split("+")
    unknown = [k for k in keys if k not in names]
    if unknown:
        raise SystemExit(f"--soup {spec!r}: unknown ingredient(s) {unknown}; "
                         f"known: {', '.join(names)}")
    try:
        w = [float(x) for x in weights.split(",")] if weights else None
    except ValueError:
        raise SystemExit(f"--soup {spec!r}: weights after @ must be numbers, e.g. a+b@1,3") \
            from None
    return keys, w


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"# Model soups — {res['date']}", "", f"`{res['command']}`", "",
             f"commit `{m.get('git_commit', '?')}` · {m.get('cpu', '?')} · torch "
             f"{m.get('torch', '?')}", "",
             f"FER2013 PublicTest (`{res['data']}` split `{res['split']}`, n = {res['n']}). "
             "Float = the checkpoint in torch; INT8 = the static INT8 ONNX export (calibrated on "
             "the training split), as `ferkit predict` runs a bundled model. Every soup tried "
             "is listed.", "",
             "## Ingredients", "", "| name | checkpoint | float | float + flip |",
             "|---|---|---:|---:|"]
    for r in res["ingredients"]:
        lines.append(f"| {r['name']} | `{r['path']}` | {r['none']['accuracy']:.2%} | "
                     f"{r['flip']['accuracy']:.2%} |")
    lines += ["", "## Soups", "",
              "| soup | weights | float | macro-F1 | float + flip | INT8 | best ingredient "
              "(float) | gain |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["soups"]:
        if "refused" in r:
            lines.append(f"| {r['soup']} | — | refused: {r['refused']} | | | | | |")
            continue
        int8 = f"{r['int8']['accuracy']:.2%}" if r.get("int8") else "—"
        lines.append(f"| {r['soup']} | {', '.join(f'{w:.3g}' for w in r['weights'])} | "
                     f"{r['none']['accuracy']:.2%} | {r['none']['macro_f1']:.2%} | "
                     f"{r['flip']['accuracy']:.2%} | {int8} | {r['best_ingredient']:.2%} | "
                     f"{(r['none']['accuracy'] - r['best_ingredient']) * 100:+.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--ingredient", action="append", default=[], required=True,
                    help="NAME=checkpoint (repeatable)")
    ap.add_argument("--soup", action="append", default=[], required=True,
                    help="NAME+NAME[+...][@w1,w2,...] (repeatable)")
    ap.add_argument("--int8", action="store_true", help="also export and evaluate INT8")
    ap.add_argument("--work", type=Path, required=True, help="where the soups are written")
    ap.add_argument("--name", default="soup", help="result file prefix")
    ap.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    names = {}
    for spec in args.ingredient:
        key, sep, path = spec.partition("=")
        if not sep or not key or not path:
            ap.error(f"--ingredient {spec!r}: expected NAME=checkpoint")
        names[key] = path
    soups = [(s, *_parse_soup(s, names)) for s in args.soup]

    import torch  # noqa: F401  (so machine_info records its version)

    from ferkit.ensemble.soup import make_soup
    from ferkit.errors import FerkitError
    from ferkit.export import export_model

    date = dt.date.today().isoformat()
    res = {"benchmark": "soup", "date": date, "data": args.data, "split": args.split,
           "command": "python benchmarks/bench_soup.py " + shlex.join(argv or sys.argv[1:]),
           "machine": machine_info(), "ingredients": [], "soups": []}
    acc = {}
    for key, path in names.items():
        row = {"name": key, "path": path}
        for tta in ("none", "flip"):
            row[tta] = _evaluate(Path(path), args.data, args.split, tta)
        res["n"] = row["none"]["n"]
        acc[key] = row["none"]["accuracy"]
        res["ingredients"].append(row)
        print(f"  ingredient {key}: {row['none']['accuracy']:.4f} / flip "
              f"{row['flip']['accuracy']:.4f}", file=sys.stderr, flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    for spec, keys, weights in soups:
        stem = spec.replace("+", "_").replace("@", "_w").replace(",", "-")
        out = args.work / f"soup_{stem}.safetensors"
        try:
            made = make_soup([names[k] for k in keys], out, weights)
        except FerkitError as exc:  # e.g. ingredients at another input size: refused, listed
            res["soups"].append({"soup": spec, "members": keys, "refused": str(exc)})
            print(f"  soup {spec}: refused: {exc}", file=sys.stderr, flush=True)
            continue
        row = {"soup": spec, "members": keys, "weights": made.weights, "path": str(out),
               "best_ingredient": max(acc[k] for k in keys)}
        for tta in ("none", "flip"):
            row[tta] = _evaluate(out, args.data, args.split, tta)
        if args.int8:
            exp = export_model(out, "onnx-int8", out.with_suffix(".int8.onnx"),
                               calibration=args.data, calibration_split="train")
            row["int8"] = _evaluate(Path(exp.path), args.data, args.split, "none")
        res["soups"].append(row)
        print(f"  soup {spec}: {row['none']['accuracy']:.4f} / flip {row['flip']['accuracy']:.4f}"
              + (f" / INT8 {row['int8']['accuracy']:.4f}" if args.int8 else ""),
              file=sys.stderr, flush=True)
    write_result(args.output / f"{args.name}-{date}", res, markdown)
    return res


if __name__ == "__main__":
    main()
