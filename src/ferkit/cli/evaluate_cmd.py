"""``ferkit evaluate``: a thin shell over ``ferkit.eval.evaluate`` / ``evaluate_many``."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import check_output_dir, emit_json, info, one_of, out_console, warn


def _ttas():
    from ferkit.ensemble.tta import TTAS

    return TTAS


def register(app: typer.Typer) -> None:
    """Add ``ferkit evaluate`` to ``app``."""

    @app.command("evaluate")
    def evaluate_cmd(
        model: Path = typer.Option(..., "--model", "-m", help="A .safetensors checkpoint, an .onnx "
                                   "file (e.g. INT8) or a bundled model name (default, fast, "
                                   "accurate)."),
        data: list[str] = typer.Option(..., "--data", "-d", help="Dataset path (any format); "
                                       "repeat for a cross-dataset table."),
        split: str = typer.Option(None, "--split", "-s", help="Split to evaluate on (default: "
                                  "val, else test, else train)."),
        tta: str = typer.Option("none", "--tta", callback=one_of(_ttas),
                                help="Test-time augmentation: none|flip|tencrop."),
        unknown_classes: str = typer.Option(
            "error", "--unknown-classes", callback=one_of(lambda: ("error", "drop")),
            help="Data classes the model lacks (e.g. CK+'s contempt): error, or drop (left out "
            "and counted in the report)."),
        label_map: list[str] = typer.Option(None, "--map", help="DATA_CLASS=MODEL_LABEL, e.g. "
                                            "joy=happy (repeatable)."),
        detect: str = typer.Option(None, "--detect", help="Detect and crop faces first with this "
                                   "detector (e.g. haar), as predict does; for full photos."),
        shift: list[str] = typer.Option(None, "--shift", help="Evaluate again with the images "
                                        "changed as another camera would: none, blur, jpeg, "
                                        "lowres, noise, dark, bright, contrast, box, or all "
                                        "(repeatable or comma-separated; a table compares them)."),
        output: Path = typer.Option(None, "--output", "-o", help="Write report + plots here."),
        tsne: bool = typer.Option(False, "--tsne", help="Also plot a t-SNE of the features."),
        data_format: str = typer.Option(None, "--format", help="Dataset format (auto)."),
        batch_size: int = typer.Option(256, "--batch-size", min=1),
        device: str = typer.Option("cpu", "--device", help="torch device, e.g. cpu or cuda."),
        json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Accuracy, macro-F1, per-class metrics, confusion matrix and calibration of a model."""
        from ferkit.eval.crossdata import parse_label_map
        from ferkit.eval.report import evaluate_many

        check_output_dir(output)
        common = dict(split=split, tta=tta, format=data_format, batch_size=batch_size,
                      device=device, progress=not json_out, unknown_classes=unknown_classes,
                      label_map=parse_label_map(label_map))
        if shift:
            _shift_cmd(str(model), list(data), shift, output, json_out, detect, tsne, common)
            return
        reports = evaluate_many(str(model), list(data), output=output, tsne=tsne,
                                detect=detect, **common)
        if json_out:
            emit_json(reports[0].to_dict() if len(reports) == 1
                      else {"reports": [r.to_dict() for r in reports]})
            return
        for report in reports:
            _print_report(report)
            if split is None and report.split == "train":
                info(f"{report.data} has no val or test split: evaluated on its train split")
        if len(reports) > 1:
            _print_table(reports)
        if output is not None:
            info(f"report and plots written to {output}")


def _shift_cmd(model: str, data: list[str], shift: list[str], output: Path | None,
               json_out: bool, detect: str | None, tsne: bool, common: dict) -> None:
    """``--shift``: one table of accuracy per camera shift for each dataset."""
    from ferkit.errors import ConfigError
    from ferkit.eval.report import evaluate_shifts, shift_table
    from ferkit.eval.shifts import parse_shifts

    names = ["none", *[n for n in parse_shifts(shift) if n != "none"]]
    if detect or tsne:
        raise ConfigError("--shift changes dataset crops: it cannot be combined with "
                          f"{'--detect' if detect else '--tsne'}")
    tables = []
    for i, path in enumerate(data):
        out = None if output is None else (
            output if len(data) == 1 else output / f"{i}-{Path(path).name or f'data{i}'}")
        reports = evaluate_shifts(model, path, names, output=out, **common)
        tables.append((reports, shift_table(reports)))
    if json_out:
        docs = [{"source": r[0].source, "data": r[0].data, "split": r[0].split, "tta": r[0].tta,
                 "rows": rows} for r, rows in tables]
        emit_json(docs[0] if len(docs) == 1 else {"datasets": docs})
        return
    from rich.markup import escape
    from rich.table import Table

    for reports, rows in tables:
        first = reports[0]
        table = Table(title=escape(f"{first.source} on {first.data} [{first.split}, "
                                   f"tta={first.tta}, n={first.num_samples}] under camera "
                                   "shifts"))
        for col in ("shift", "accuracy", "macro-F1", "Δ accuracy", "what it mimics"):
            table.add_column(col, justify="left" if col in ("shift", "what it mimics")
                             else "right")
        from ferkit.eval.shifts import SHIFTS

        for row in rows:
            delta = "" if row["shift"] == "none" else f"{100 * row['delta']:+.2f}"
            table.add_row(row["shift"], f"{row['accuracy']:.4f}", f"{row['macro_f1']:.4f}",
                          delta, SHIFTS.meta(row["shift"]).get("what", ""))
        shifted = [r["accuracy"] for r in rows if r["shift"] != "none"]
        _wide().print(table)
        if shifted:
            out_console.print(f"mean over {len(shifted)} shift(s): "
                              f"{sum(shifted) / len(shifted):.4f}", highlight=False)
    if output is not None:
        info(f"reports, shifts.json and shifts.png written to {output}")


def _wide():
    """rich assumes 80 columns when piped; wide tables are unreadable folded that narrow."""
    from rich.console import Console

    return out_console if out_console.is_terminal else Console(file=out_console.file, width=150)


def _print_report(report) -> None:
    how = f", detect={report.detector}" if report.detector else ""
    out_console.print(
        f"{report.source} ({report.model}) on {report.data} [{report.split}, tta={report.tta}"
        f"{how}, n={report.num_samples}]: accuracy {report.accuracy:.4f}  macro-F1 "
        f"{report.macro_f1:.4f}  balanced acc {report.balanced_accuracy:.4f}  "
        f"ECE {report.ece:.4f}", highlight=False, soft_wrap=True, markup=False)
    if not report.held_out:
        why = "" if report.split == "train" else " (its last step used data.train_on=train+val)"
        warn(f"{report.source} trained on this split{why}: the figures above are not held out; "
             "quote a split it never saw (or, for train+val, its parent's or a proxy run's)")
    if report.dropped:
        counts = ", ".join(f"{k} {v}" for k, v in report.dropped.items())
        info(f"dropped {sum(report.dropped.values())} images of classes the model lacks "
             f"({counts}); metrics cover the shared classes")
    if report.faces_not_found:
        counts = ", ".join(f"{k} {v}" for k, v in report.faces_not_found.items())
        info(f"no face found in {sum(report.faces_not_found.values())} images ({counts}); "
             "counted as errors")
    if report.label_map:
        info("label map: " + ", ".join(f"{k}→{v}" for k, v in report.label_map.items()))
    if report.absent_classes:
        info(f"classes absent from the data: {', '.join(report.absent_classes)}")


def _print_table(reports) -> None:
    from rich.table import Table

    from ferkit.eval.crossdata import cross_table

    table = Table(title=f"cross-dataset evaluation of {reports[0].source}")
    for col in ("data", "format", "split", "n", "accuracy", "macro-F1", "bal. acc",
                "dropped", "no face"):
        table.add_column(col, justify="left" if col in ("data", "format", "split") else "right")
    for row in cross_table(reports):
        table.add_row(row["data"], row["format"], row["split"], str(row["n"]),
                      f"{row['accuracy']:.4f}", f"{row['macro_f1']:.4f}",
                      f"{row['balanced_accuracy']:.4f}", str(row["dropped"]),
                      str(row["faces_not_found"]))
    _wide().print(table)
