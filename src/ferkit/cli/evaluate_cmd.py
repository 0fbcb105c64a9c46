"""``ferkit evaluate``: a thin shell over ``ferkit.eval.evaluate``."""

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
        data: str = typer.Option(..., "--data", "-d", help="Dataset path (any format)."),
        split: str = typer.Option("val", "--split", "-s", help="Split to evaluate on."),
        tta: str = typer.Option("none", "--tta", callback=one_of(_ttas),
                                help="Test-time augmentation: none|flip|tencrop."),
        output: Path = typer.Option(None, "--output", "-o", help="Write report + plots here."),
        tsne: bool = typer.Option(False, "--tsne", help="Also plot a t-SNE of the features."),
        data_format: str = typer.Option(None, "--format", help="Dataset format (auto)."),
        batch_size: int = typer.Option(256, "--batch-size", min=1),
        device: str = typer.Option("cpu", "--device", help="torch device, e.g. cpu or cuda."),
        json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Accuracy, macro-F1, per-class metrics, confusion matrix and calibration of a model."""
        from ferkit.eval import evaluate

        check_output_dir(output)

        report = evaluate(model, data, split=split, tta=tta, output=output, tsne=tsne,
                          format=data_format, batch_size=batch_size, device=device,
                          progress=not json_out)
        if json_out:
            emit_json(report.to_dict())
            return
        out_console.print(
            f"{report.model} on {report.data} [{report.split}, tta={report.tta}, "
            f"n={report.num_samples}]: accuracy {report.accuracy:.4f}  macro-F1 "
            f"{report.macro_f1:.4f}  balanced acc {report.balanced_accuracy:.4f}  "
            f"ECE {report.ece:.4f}", highlight=False, soft_wrap=True, markup=False)
        if report.absent_classes:
            info(f"classes absent from the data: {', '.join(report.absent_classes)}")
        if output is not None:
            info(f"report and plots written to {output}")
