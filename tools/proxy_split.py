"""Two linked copies of a train/val dataset for judging a *train+val* fine-tune before it runs.

A last fine-tune on train+val (issue #11) cannot be judged on val afterwards: the model has seen
it. So its recipe is judged first on a proxy: val is cut in two halves A and B (stratified by
class, seeded), and the recipe runs twice, on folders that hold

    OUT/train_only/  train = train,          val = B   (control: the same steps, no new images)
    OUT/train_plus_a/ train = train + A,     val = B   (treatment: the same steps with A added)

so B measures what the added images buy (treatment vs control) and whether the steps themselves
help or hurt (control vs the parent). The folders hold symbolic links, never copies of the images
(data never enters the repository, and a link costs nothing); val images keep their own names, so
a train and a val image never collide.

    python tools/proxy_split.py ../shared/data/fer2013 /work/runs/fer_proxy --seed 0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def _images(split: Path) -> dict[str, list[Path]]:
    """``{class: sorted image paths}`` of a class-per-folder split (the files ferkit's loaders
    treat as images)."""
    from ferkit.data.decode import IMAGE_EXTENSIONS

    return {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
            for d in sorted(split.iterdir()) if d.is_dir()}


def halves(val: dict[str, list[Path]], seed: int) -> tuple[dict, dict]:
    """Stratified halves (A, B) of each class's images, drawn from one seeded generator."""
    rng = np.random.default_rng(seed)
    a, b = {}, {}
    for cls, paths in val.items():
        order = rng.permutation(len(paths))
        cut = len(paths) // 2
        a[cls] = [paths[i] for i in sorted(order[:cut])]
        b[cls] = [paths[i] for i in sorted(order[cut:])]
    return a, b


def _link(files: dict[str, list[Path]], dest: Path) -> int:
    n = 0
    for cls, paths in files.items():
        (dest / cls).mkdir(parents=True, exist_ok=True)
        for p in paths:
            target = dest / cls / p.name
            if not target.exists():
                os.symlink(p.resolve(), target)
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="dataset folder with train/ and val/ class folders")
    ap.add_argument("out", type=Path, help="where the two linked datasets are made")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for split in ("train", "val"):
        if not (args.data / split).is_dir():
            print(f"error: {args.data / split} is not a folder; give a dataset with train/ and "
                  "val/ class folders", file=sys.stderr)
            return 1
    if args.out.exists() and any(args.out.iterdir()):
        print(f"error: {args.out} exists and is not empty; remove it or pick another folder",
              file=sys.stderr)
        return 1
    train, val = _images(args.data / "train"), _images(args.data / "val")
    a, b = halves(val, args.seed)
    for name, extra in (("train_only", None), ("train_plus_a", a)):
        n = _link(train, args.out / name / "train")
        if extra:
            n += _link(extra, args.out / name / "train")
        m = _link(b, args.out / name / "val")
        print(f"{args.out / name}: train {n} images, val (half B) {m} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
