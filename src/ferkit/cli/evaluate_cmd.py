"""``ferkit evaluate``: a thin shell over ``ferkit.eval.evaluate`` / ``evaluate_many``."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import check_output_dir, emit_json, info, one_of, out_console


def _ttas():
    from ferkit.ensemble.tta import TTAS

    return TTAS


def register(app: typer.Typer) -> None:
    """Add ``ferkit evaluate`` to ``app``."""

    @app.command("evaluate")
    def evaluate_cmd(
        model: Path = typer.Option(..., "--model", "-m", help="A .safetensors checkpoint, an .onnx "
                                   "file (e.g. INT8) or a bundled model name (default, fast)."),
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
        reports = evaluate_many(str(model), list(data), output=output, split=split, tta=tta,
                                tsne=tsne, format=data_format, batch_size=batch_size,
                                device=device, progress=not json_out,
                                unknown_classes=unknown_classes,
                                label_map=parse_label_map(label_map), detect=detect)
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


def _print_report(report) -> None:
    how = f", detect={report.detector}" if report.detector else ""
    out_console.print(
        f"{report.source} ({report.model}) on {report.data} [{report.split}, tta={report.tta}"
        f"{how}, n={report.num_samples}]: accuracy {report.accuracy:.4f}  macro-F1 "
        f"{report.macro_f1:.4f}  balanced acc {report.balanced_accuracy:.4f}  "
        f"ECE {report.ece:.4f}", highlight=False, soft_wrap=True, markup=False)
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
    # rich assumes 80 columns when piped; the table is unreadable folded that narrow
    from rich.console import Console

    console = out_console if out_console.is_terminal else Console(file=out_console.file,
                                                                  width=150)
    console.print(table)
