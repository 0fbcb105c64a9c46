"""Put a trained checkpoint into the package as a bundled model (``--model NAME``).

    python tools/bundle_model.py NAME CHECKPOINT --calibration path/to/fer2013

Writes ``src/ferkit/weights/NAME.safetensors`` (float32, with its JSON metadata twin, whatever
precision the source was stored in) and ``NAME.int8.onnx`` (static INT8 with the same code as
``ferkit export --format onnx-int8``, calibrated on 512 training images), then prints the sizes.
The model becomes addressable once ``ferkit/bundled.py`` registers NAME; its model card comes
from ``benchmarks/model_card.py``.

Several checkpoints are merged first into one ``mean_ensemble`` (``ferkit.ensemble.merge``, as
``ferkit ensemble --save`` does); ``--onnx-only`` ships the INT8 file and the metadata JSON but not
the float checkpoint (for models whose float weights would break the package's 30 MB per model):

    python tools/bundle_model.py accurate stages/teacher_lite2_112.fp16.safetensors \
        stages/teacher_lite1_112.fp16.safetensors stages/teacher_lite0_112_long.fp16.safetensors \
        --calibration ../shared/data/fer2013 --onnx-only

A weight soup (``ferkit soup``) leaves with no metrics of its own; ``--metrics`` writes what
``ferkit evaluate`` measured of that very file (its digest is checked) into the bundled metadata:

    python tools/bundle_model.py default soup.safetensors --calibration ../shared/data/fer2013 \
        --metrics eval_soup/report.json

A model whose last step trained on train+val has no held-out split of its own: its PublicTest
reading is not a measurement. ``--heldout`` records evaluation reports of *other* files that
are held-out for them (its parent on PublicTest; the same recipe run on a proxy split and
measured on the unseen half, ``tools/proxy_split.py``) under ``extra["heldout_estimates"]``,
each naming the file and data it measured, so the bundled file never claims them as its own:

    python tools/bundle_model.py default runs/dt16_full/last.safetensors \
        --calibration ../shared/data/fer2013 --heldout parent_int8/report.json \
        --heldout proxy_B_int8/report.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "weights"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("checkpoint", nargs="+", help="one checkpoint, or several to merge (mean)")
    ap.add_argument("--calibration", required=True, help="dataset for INT8 calibration")
    ap.add_argument("--no-onnx", action="store_true", help="ship the checkpoint only")
    ap.add_argument("--onnx-only", action="store_true",
                    help="ship the INT8 file and NAME.json, not the float checkpoint")
    ap.add_argument("--metrics", metavar="REPORT",
                    help="a 'ferkit evaluate' report.json of CHECKPOINT (one checkpoint): its "
                         "figures become the bundled file's metrics (for a soup, which has none)")
    ap.add_argument("--heldout", metavar="REPORT", action="append", default=[],
                    help="for a checkpoint trained on train+val: a 'ferkit evaluate' report.json "
                         "of a related file, held-out for that file (repeatable); recorded as an "
                         "estimate, not as this file's metrics")
    args = ap.parse_args(argv)
    if args.no_onnx and args.onnx_only:
        ap.error("--no-onnx and --onnx-only exclude each other")
    if args.metrics and args.heldout:
        ap.error("--metrics (a report of this very file) and --heldout (reports of other files, "
                 "for a model trained on val) exclude each other")
    measured = _measured_metrics(args.metrics, args.checkpoint) if args.metrics else None
    estimates = _heldout_estimates(args.heldout, args.checkpoint) if args.heldout else None

    import tempfile

    from ferkit.checkpoint import load_model, save_checkpoint, without_storage_notes
    from ferkit.export import export_model
    from ferkit.io import atomic_write_json

    with tempfile.TemporaryDirectory() as tmp:
        source = args.checkpoint[0]
        if len(args.checkpoint) > 1:
            from ferkit.ensemble.merge import merge_checkpoints

            source = str(merge_checkpoints(args.checkpoint, Path(tmp) / "merged.safetensors"))
            print(f"merged {len(args.checkpoint)} checkpoints → mean_ensemble")
        model, meta = load_model(source)
        state = {k: (v.float() if v.is_floating_point() else v)
                 for k, v in model.state_dict().items()}
        meta.extra = without_storage_notes(meta.extra)
        if measured is not None:
            meta.metrics = measured
        if estimates is not None:
            meta.extra["heldout_estimates"] = estimates
        meta.extra["bundled_from"] = [Path(c).name for c in args.checkpoint] if len(
            args.checkpoint) > 1 else Path(source).name
        where = Path(tmp) if args.onnx_only else WEIGHTS
        ckpt = save_checkpoint(where / f"{args.name}.safetensors", state, meta)
        if args.onnx_only:
            atomic_write_json(WEIGHTS / f"{args.name}.json", meta.to_dict())
            print(f"→ {WEIGHTS / f'{args.name}.json'} (metadata; float checkpoint not shipped)")
        else:
            print(f"{source} → {ckpt} ({ckpt.stat().st_size / 1e6:.1f} MB)")
        if not args.no_onnx:
            out = WEIGHTS / f"{args.name}.int8.onnx"
            export_model(str(ckpt), "onnx-int8", out, calibration=args.calibration)
            print(f"→ {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _read_report(flag: str, report: str) -> dict:
    """A report.json as a dict, or exit with one line naming the flag and the file."""
    import json

    try:
        return json.loads(Path(report).read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{flag} {report!r}: not a readable report.json ({e})") from None


def _measured_metrics(report: str, checkpoints: list[str]) -> dict:
    """The figures of an evaluation report, if it measured exactly this checkpoint file.

    A soup leaves training with no metrics (it was never validated as itself); the bundled file
    should still carry what was measured of it, and only that: the report's file digest must be
    the checkpoint's, so a report of another file cannot be pinned on it.
    """
    from ferkit.eval.report import file_digest

    if len(checkpoints) != 1:
        raise SystemExit("--metrics: give one checkpoint (a merged ensemble is measured after)")
    rep = _read_report("--metrics", report)
    digest = file_digest(Path(checkpoints[0]))
    if rep.get("checkpoint_fingerprint") != digest:
        raise SystemExit(f"--metrics {report!r}: it evaluated another file (digest "
                         f"{rep.get('checkpoint_fingerprint')!r}, {checkpoints[0]!r} is "
                         f"{digest!r}); run 'ferkit evaluate --model {checkpoints[0]} ...' "
                         "and pass its report")
    split = rep.get("split", "val")
    return {f"{split}_acc": rep["accuracy"], f"{split}_macro_f1": rep["macro_f1"],
            f"{split}_ece": rep["ece"], f"{split}_nll": rep["nll"], "tta": rep["tta"],
            "num_samples": rep["num_samples"], "measured_by": "ferkit evaluate",
            "data_fingerprint": rep.get("data_fingerprint", "")}


def _heldout_estimates(reports: list[str], checkpoints: list[str]) -> list[dict]:
    """Held-out figures of related files, for a checkpoint that trained on its own val split.

    Only a model whose metadata says ``train_on: train+val`` takes them (any other model has a
    val split of its own: measure it and use ``--metrics``), and a report of the checkpoint
    itself is refused: it would be a reading of images it trained on.
    """
    from ferkit.checkpoint import read_meta
    from ferkit.eval.report import file_digest

    if len(checkpoints) != 1:
        raise SystemExit("--heldout: give one checkpoint")
    ckpt = Path(checkpoints[0])
    train_on = read_meta(ckpt).extra.get("train_on", "train")
    if train_on != "train+val":
        raise SystemExit(f"--heldout: {ckpt} trained on {train_on!r}, so it has a held-out split "
                         "of its own; evaluate it there and pass --metrics REPORT instead")
    digest = file_digest(ckpt)
    out = []
    for report in reports:
        rep = _read_report("--heldout", report)
        try:
            entry = {"file": Path(rep["checkpoint"]).name,
                     "checkpoint_fingerprint": rep["checkpoint_fingerprint"],
                     "data": rep["data"], "data_fingerprint": rep.get("data_fingerprint", ""),
                     "split": rep["split"], "tta": rep["tta"],
                     "num_samples": rep["num_samples"], "accuracy": rep["accuracy"],
                     "macro_f1": rep["macro_f1"], "measured_by": "ferkit evaluate"}
        except (KeyError, TypeError) as e:
            raise SystemExit(f"--heldout {report!r}: not a readable ferkit evaluate report.json "
                             f"({e})") from None
        if entry["checkpoint_fingerprint"] == digest:
            raise SystemExit(f"--heldout {report!r}: it evaluated {ckpt} itself, which trained on "
                             "that split; pass reports of its parent or of a proxy run instead")
        out.append(entry)
    return out


if __name__ == "__main__":
    sys.exit(main())
