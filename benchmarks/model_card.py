"""Write MODEL_CARD.md for a shipped checkpoint from its own metadata and measured reports.

Every number in the card comes from the files given here (the checkpoint header, ``ferkit
evaluate`` report JSONs, a ``bench_classifier.py`` result JSON), so the card cannot drift from
what was measured.

    python benchmarks/model_card.py --checkpoint src/ferkit/weights/default.safetensors \
        --report eval_flip/report.json --report eval_none/report.json \
        --speed benchmarks/results/classifier-DATE.json --train-command "ferkit train ..." \
        --output MODEL_CARD.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ferkit.checkpoint import read_meta
from ferkit.io import atomic_write_text

LIMITS = """\
## Intended use and limitations

- **Intended use**: research, teaching, prototyping and aggregate analysis of expressions in
  media (for example how often smiles appear in a video), on faces roughly frontal and well lit.
- **Not for decisions about people.** Emotion inference from facial expressions is unreliable
  across people, cultures, ages and contexts: an expression is not a feeling, and the same face
  can mean different things in different situations. Do not use this model to make or support
  decisions about individuals, at work, at school, in hiring, insurance, policing or border
  control, and do not use it for surveillance.
- **Training data bias**: FER2013 was collected by web image search; its labels are noisy (human
  agreement is about 65%), its people are not a balanced sample of ages, ethnicities or genders,
  and it has few `disgust` examples (436 of 28,709), so that class is recognised poorly.
- **Input**: 48×48-derived grayscale faces; the model sees only the face crop. Accuracy drops on
  profile views, occlusions, low light and faces much smaller than 48 px.
- **Calibration**: probabilities are temperature-scaled on FER2013 PublicTest; on other data they
  may be over- or under-confident. Use `--min-confidence` to abstain on uncertain faces.
"""


def fmt_pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def report_section(rep: dict) -> list[str]:
    labels = rep["labels"]
    evaluated = Path(rep.get("checkpoint") or "?").name
    data = Path(rep["data"]).name if rep.get("data") else "?"
    if rep.get("held_out") is False:
        raise SystemExit(f"--report {evaluated} on {data}: that model trained on this split, so "
                         "the report is no measurement; pass a held-out report (its parent's, "
                         "or a proxy run's) instead")
    lines = [f"### `{evaluated}` on `{data}` · {rep['split']} split, TTA `{rep['tta']}` "
             f"({rep['num_samples']} images)", "",
             f"accuracy **{fmt_pct(rep['accuracy'])}** · macro-F1 {fmt_pct(rep['macro_f1'])} · "
             f"balanced accuracy {fmt_pct(rep['balanced_accuracy'])} · ECE "
             f"{rep['ece']:.4f} · NLL {rep['nll']:.4f} (temperature {rep['temperature']:.3f})",
             "", "| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name in labels:
        c = rep["per_class"].get(name, {})
        lines.append(f"| {name} | {fmt_pct(c.get('precision'))} | {fmt_pct(c.get('recall'))} | "
                     f"{fmt_pct(c.get('f1'))} | {c.get('support', 0)} |")
    lines += ["", "Confusion matrix (rows = true, columns = predicted):", "",
              "| true \\ pred | " + " | ".join(labels) + " |",
              "|---|" + "---:|" * len(labels)]
    for name, row in zip(labels, rep["confusion_matrix"], strict=True):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return lines + [""]


def _is_model(spec: str, name: str) -> bool:
    """A speed row's model is ``name``: the bundled name itself or a path to one of its files
    (``.../fast.int8.onnx``), not any model whose name merely contains it (``old_fast.int8.onnx``
    benchmarked beside ``fast`` stays out of fast's card)."""
    return spec == name or Path(spec).name.split(".")[0] == name


def speed_section(speed: dict, model_name: str) -> list[str]:
    rows = [r for r in speed.get("rows", speed.get("results", []))
            if _is_model(str(r.get("model", "")), model_name)]
    if not rows:
        return []
    m = speed.get("machine", {})
    lines = ["## Speed (CPU)", "",
             f"From `benchmarks/bench_classifier.py` on {m.get('cpu', '?')}, "
             f"commit `{m.get('git_commit', '?')}`; preprocessing from uint8 crops included.", "",
             "Backend `auto` is how `ferkit predict` runs this model.", "",
             "| file | backend | threads | batch | faces/s |", "|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.get('file', '')} | {r.get('backend')} | {r.get('threads')} | "
                     f"{r.get('batch')} | "
                     f"{r.get('faces_per_s', r.get('faces_per_s_wall', '?')):,.0f} |")
    return lines + [""]


def _quant_note(path: str) -> str:
    import onnx

    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    return props.get("ferkit.quantization", "float32")


def load_meta(path: str):
    """A checkpoint's metadata, or (for a model shipped as INT8 only) its JSON twin's."""
    from ferkit.checkpoint import CheckpointMeta

    if Path(path).suffix == ".json":
        return CheckpointMeta.from_dict(json.loads(Path(path).read_text())), None
    return read_meta(path), Path(path).stat().st_size / 2**20


def trained_on_val(meta) -> bool:
    return meta.extra.get("train_on") == "train+val"


def data_line(meta) -> str:
    """What the model trained on, and so which of the figures below are held out for it."""
    if trained_on_val(meta):
        return ("- data: FER2013 official Training split and PublicTest together (this copy: "
                "28,709 + 3,435 images) in its last training step, so PublicTest is not held out "
                "for this file: its own PublicTest reading is not a measurement and is not shown; "
                "the figures below are of related files, each held out for the file it names "
                "(see Held-out estimates); the held-back PrivateTest is the independent check.")
    return ("- data: FER2013 official Training split (28,709 images); PublicTest (this copy: "
            "3,435 images, 154 surprise images missing) used for model selection and "
            "temperature calibration only — so the PublicTest numbers below are optimistic "
            "by the selection effect; the held-back PrivateTest is the independent check.")


def history_line(hist: list[dict]) -> str:
    if not any(r.get("val_acc") is not None for r in hist):
        return (f"- epochs in this checkpoint's history (last stage): {len(hist)}; no validation "
                "split (trained on it), so the last epoch is the one shipped")
    best = max(hist, key=lambda r: r.get("val_acc") or 0)["epoch"]
    return (f"- epochs in this checkpoint's history (last stage, up to the saved best): "
            f"{len(hist)}; best epoch by val accuracy: {best}")


def estimates_section(meta) -> list[str]:
    """For a model trained on train+val: the held-out figures of other files it carries.

    ``tools/bundle_model.py --heldout`` stores them; each row names the file and data it
    measured, so a reader can see that no row is a reading of this file.
    """
    rows = meta.extra.get("heldout_estimates") or []
    if not rows:
        return []
    lines = ["## Held-out estimates", "",
             "This file trained on PublicTest, so it has no held-out reading here. These are "
             "`ferkit evaluate` reports of related files on data each of them never trained on "
             "(for example its parent on PublicTest, or the same recipe run on train + half A "
             "of PublicTest and measured on the other half B, `tools/proxy_split.py`):", "",
             "| file measured | data | split | TTA | images | accuracy | macro-F1 |",
             "|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| `{r['file']}` | `{Path(r['data']).name}` | {r['split']} | {r['tta']} | "
                     f"{r['num_samples']} | {fmt_pct(r['accuracy'])} | "
                     f"{fmt_pct(r['macro_f1'])} |")
    return lines + [""]


def members_section(meta) -> list[str]:
    """For a merged ``mean_ensemble``: each member, its recipe's stage file and own figures."""
    members = meta.extra.get("members") or []
    if meta.model != "mean_ensemble" or not members:
        return []
    lines = ["## Members", "",
             "The network is the unweighted mean of these models' temperature-scaled "
             "probabilities (`ferkit.models.merged`); each was trained on its own:", "",
             "| member file | network | temperature | its PublicTest accuracy as its training "
             "measured it (the recipe's TTA) |",
             "|---|---|---:|---:|"]
    for m, spec in zip(members, meta.model_kwargs.get("members", []), strict=False):
        acc = (m.get("metrics") or {}).get("val_acc")
        lines.append(f"| `{m['source']}` | `{m['model']}` {spec.get('kwargs', {})} | "
                     f"{spec.get('temperature', 1.0):.3f} | {fmt_pct(acc)} |")
    return lines + [""]


def soup_section(meta) -> list[str]:
    """For a weight soup (``ferkit soup``): its ingredients, their weights and file digests.

    A soup has no training run of its own: the recipe printed under Training is its first
    ingredient's, so the card must say which files were averaged and how much of each.
    """
    soup = meta.extra.get("soup") or []
    if not soup:
        return []
    lines = ["## Soup", "",
             "The weights are the weighted mean of these checkpoints' weights (`ferkit soup`, "
             "WiSE-FT style: fine-tunes of one start); the recipe above is the first "
             "ingredient's:", "",
             "| ingredient | weight | sha256 |", "|---|---:|---|"]
    for ing in soup:
        lines.append(f"| `{ing.get('file')}` | {float(ing.get('weight', 0)):.2f} | "
                     f"`{str(ing.get('sha256', ''))[:16]}…` |")
    return lines + [""]


def build(args: argparse.Namespace) -> str:
    meta, size_mb = load_meta(args.checkpoint)
    reports = [json.loads(Path(p).read_text()) for p in args.report]
    info = meta.info
    hist = meta.history
    batch = meta.config.get("trainer", {}).get("batch_size")
    recipe_label = "recipe (first soup ingredient)" if meta.extra.get("soup") else "recipe"
    lines = [f"# Model card: ferkit `{args.name}` model", "",
             "Generated by `benchmarks/model_card.py` from the checkpoint's metadata and measured "
             "reports; do not edit by hand.", "",
             *([f"**Status: {args.status}**", ""] if args.status else []),
             "## Model", "",
             f"- architecture: `{meta.model}` ({info.reference}); kwargs `{meta.model_kwargs}`",
             f"- input: {info.in_chans}-channel {info.input_size}×{info.input_size} face crop, "
             f"mean {list(info.mean)}, std {list(info.std)}, {info.interpolation} resize",
             f"- labels (output order): {', '.join(info.labels)}",
             f"- initial weights: {info.weights_source or 'random'}"
             + (f" (licence: {info.weights_licence})" if info.weights_licence else ""),
             (f"- file: `{Path(args.checkpoint).name}`, {size_mb:.1f} MB, safetensors"
              if size_mb is not None else
              f"- float checkpoint: not shipped (metadata `{Path(args.checkpoint).name}`); "
              "the INT8 file is the model"),
             *([f"- INT8 file (what `ferkit predict` runs): `{Path(args.onnx).name}`, "
                f"{Path(args.onnx).stat().st_size / 2**20:.1f} MB, {_quant_note(args.onnx)}"]
               if args.onnx else []),
             f"- ferkit {meta.ferkit_version}, git commit `{meta.git_commit}`, seed "
             f"{meta.seed if meta.seed is not None else '— (a soup of seeded runs: see Soup)'}",
             "", "## Training", "",
             data_line(meta),
             f"- data fingerprint `{meta.data_fingerprint}`",
             f"- command: `{args.train_command}`",
             *([history_line(hist)] if hist else []),
             *([f"- {recipe_label}: optimizer `{meta.config.get('optimizer')}`, scheduler "
                f"`{meta.config.get('scheduler')}`, augment `{meta.config.get('augment')}`, "
                f"loss `{meta.config.get('loss')}`, batch {batch}"] if meta.config else
               ["- recipe: none of its own (merged from trained members; see Members)"]),
             f"- hardware: {args.hardware}", "",
             *members_section(meta),
             *soup_section(meta),
             *estimates_section(meta),
             "## Evaluation (FER2013 PublicTest = `val`)", "",
             "Measured with `ferkit evaluate` (commands below)"
             + ("; none of these reports is of this file, which trained on PublicTest (see "
                "Held-out estimates)." if trained_on_val(meta) else "."), ""]
    for cmd in args.eval_command:
        lines.append(f"    {cmd}")
    lines.append("")
    for rep in reports:
        lines += report_section(rep)
    if args.speed:
        lines += speed_section(json.loads(Path(args.speed).read_text()), args.speed_model)
    lines.append(LIMITS)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--onnx", help="the model's shipped INT8 .onnx file")
    ap.add_argument("--report", action="append", required=True, help="ferkit evaluate report.json")
    ap.add_argument("--eval-command", action="append", default=[])
    ap.add_argument("--speed", help="bench_classifier result JSON")
    ap.add_argument("--speed-model", default="default")
    ap.add_argument("--train-command", required=True)
    ap.add_argument("--hardware", default="2-core x86-64 CPU (AMD EPYC), no GPU")
    ap.add_argument("--name", default="default")
    ap.add_argument("--status", default="", help="a status line shown at the top")
    ap.add_argument("--output", default="MODEL_CARD.md")
    args = ap.parse_args()
    text = build(args)
    atomic_write_text(args.output, text)
    print(text)


if __name__ == "__main__":
    main()
