"""Cost of each batched training augmentation stage on one CPU thread.

    .venv/bin/python benchmarks/bench_augment.py                 # 128x1x64x64, 30 repeats

Each stage of ``ferkit.train.augment`` (``STAGE_ORDER``) is built from a representative
``AugmentConfig`` with its probability at 1 (the worst case: every image is altered) and timed
on a float batch in [0, 1] of ``--batch`` x 1 x ``--size`` x ``--size`` (``crop`` gets the
larger stored image it crops from); ``--warmup`` untimed calls, then the median of
``--repeats``. For comparison the script also times torchvision's real JPEG encode/decode
(``transforms.v2.functional.jpeg``, libjpeg, one image at a time, uint8 round trip) on the same
batch, the alternative to the batched 8x8-DCT approximation. Results:
``benchmarks/results/augment-<date>.{md,json}`` with commit and machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, machine_info, median_seconds  # noqa: E402

#: stage → (config used, what it does); probabilities at 1 (worst case)
STAGES = {
    "affine": ({"hflip": 0.5, "rotation": 10, "shift": 0.1, "scale": 0.1},
               "flip + rotation + shift + scale (box jitter), one grid_sample"),
    "crop": ({"random_crop": True}, "random 64 px crop of the 73 px stored image"),
    "photometric": ({"gamma": 0.3, "contrast": 0.3, "brightness": 0.1},
                    "gamma + contrast + brightness"),
    "blur": ({"blur": 1.0, "blur_sigma": (0.3, 1.5)}, "Gaussian blur, sigma 0.3-1.5 px"),
    "downscale": ({"downscale": 1.0, "downscale_range": (0.35, 0.8)},
                  "low-resolution camera: 35-80% of the side and back"),
    "noise": ({"noise": 1.0, "noise_std": (0.01, 0.05)}, "Gaussian noise, std 0.01-0.05"),
    "jpeg": ({"jpeg": 1.0, "jpeg_quality": (30, 90)}, "8x8 DCT quantisation, quality 30-90"),
    "erase": ({"erasing": 1.0}, "random erasing, one rectangle per image"),
    "mix": ({"mixup": 0.2, "cutmix": 1.0}, "mixup or cutmix per batch"),
}


def _median_ms(fn, warmup: int, repeats: int) -> float:
    return median_seconds(fn, warmup, repeats) * 1000.0


def measure(args: argparse.Namespace) -> list[dict]:
    import torch

    from ferkit.ensemble.tta import crop_size_for
    from ferkit.train.augment import STAGE_ORDER, BatchAugmenter
    from ferkit.train.config import AugmentConfig

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    size, n = args.size, args.batch
    x = torch.rand(n, 1, size, size, generator=gen)
    big = torch.rand(n, 1, crop_size_for(size, 0.875), crop_size_for(size, 0.875), generator=gen)
    y = torch.arange(n) % 7
    rows = []
    for name in STAGE_ORDER:
        settings, what = STAGES[name]
        aug = BatchAugmenter(AugmentConfig(**{"hflip": 0.0, **settings}), size, 7, (name,))
        inp = big if name == "crop" else x
        ms = _median_ms(lambda aug=aug, inp=inp: aug(inp, y, gen), args.warmup, args.repeats)
        rows.append({"stage": name, "config": settings, "what": what, "ms_per_batch": round(ms, 3)})
    everything = {k: v for s in STAGES.values() for k, v in s[0].items() if k != "random_crop"}
    aug = BatchAugmenter(AugmentConfig(**everything), size, 7)
    ms = _median_ms(lambda: aug(x, y, gen), args.warmup, args.repeats)
    rows.append({"stage": "all but crop", "config": everything, "what": " → ".join(aug.names),
                 "ms_per_batch": round(ms, 3)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torchvision's codecs → torchcodec
        from torchvision.transforms.v2.functional import jpeg

        u8 = (x * 255).round().to(torch.uint8)
        ms = _median_ms(lambda: jpeg(u8, 60).float().div(255), args.warmup, args.repeats)
    rows.append({"stage": "(torchvision jpeg)", "config": {"quality": 60},
                 "what": "libjpeg encode+decode per image, for comparison",
                 "ms_per_batch": round(ms, 3)})
    return rows


def write_results(rows: list[dict], args: argparse.Namespace) -> Path:
    import torch

    from ferkit.io import atomic_write_json, atomic_write_text

    today = dt.date.today().isoformat()
    out = REPO / "benchmarks" / "results"
    machine = machine_info()
    command = f"python benchmarks/bench_augment.py --batch {args.batch} --size {args.size} " \
              f"--repeats {args.repeats} --warmup {args.warmup}"
    atomic_write_json(out / f"augment-{today}.json",
                      {"benchmark": "augment", "date": today, "command": command,
                       "git_commit": machine["git_commit"], "machine": machine,
                       "batch": [args.batch, 1, args.size, args.size], "results": rows})
    lines = [f"# Training augmentation cost per batch ({today})", "",
             f"`{command}`", "",
             f"commit `{machine['git_commit']}`, {machine['cpu']}, {machine['platform']}, "
             f"torch {torch.__version__}, 1 thread, 1-min load average at start "
             f"{machine['load_average'][0]:.1f} (the CPU is shared: other jobs add noise)", "",
             f"Median of {args.repeats} calls after {args.warmup} warm-up, float batch "
             f"{args.batch}x1x{args.size}x{args.size} in [0,1], each stage with probability 1.",
             "", "| stage | what | ms / batch |", "|---|---|---:|"]
    lines += [f"| {r['stage']} | {r['what']} | {r['ms_per_batch']:.2f} |" for r in rows]
    lines += ["", "The `all but crop` row times the real pipeline as one call; it has cost more "
              "than the sum of the rows above in every run so far (cause not pinned down; the "
              "CPU is shared), so budget by that row."]
    atomic_write_text(out / f"augment-{today}.md", "\n".join(lines) + "\n")
    return out / f"augment-{today}.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    rows = measure(args)
    for r in rows:
        print(f"{r['stage']:>20}  {r['ms_per_batch']:8.2f} ms/batch  {r['what']}")
    print(f"→ {write_results(rows, args)}")


if __name__ == "__main__":
    main()
