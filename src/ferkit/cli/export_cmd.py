"""``ferkit export``: a checkpoint → a deployable file (ONNX) with metadata and a parity check."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import one_of


def _formats():
    from ferkit.export import EXPORT_FORMATS

    return EXPORT_FORMATS


def _calibration_methods():
    from ferkit.export.quantize import CALIBRATION_METHODS

    return CALIBRATION_METHODS


def export(
    checkpoint: Path = typer.Argument(..., help="ferkit .safetensors checkpoint or a bundled "
                                      "model name (default, fast)."),
    format: str = typer.Option("onnx", "--format", "-f", callback=one_of(_formats),
                               help="Export format (registered name)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Output file (default: checkpoint path, new suffix; "
                                       "./NAME.onnx for a bundled model)."),
    opset: int | None = typer.Option(None, "--opset", help="ONNX opset (default 17)."),
    no_check: bool = typer.Option(False, "--no-check",
                                  help="Skip the torch-vs-runtime parity check."),
    calibration: str | None = typer.Option(
        None, "--calibration", help="onnx-int8: dataset whose images calibrate the INT8 ranges."),
    calibration_split: str = typer.Option("train", "--calibration-split",
                                          help="onnx-int8: split to draw calibration images from."),
    calibration_size: int = typer.Option(512, "--calibration-size", min=2,
                                         help="onnx-int8: number of calibration images."),
    calibration_method: str = typer.Option("minmax", "--calibration-method",
                                           callback=one_of(_calibration_methods),
                                           help="onnx-int8: minmax (default), percentile (clips at "
                                                "99.999%) or entropy (ONNX Runtime's 128-bin "
                                                "version, which keeps minmax's ranges: "
                                                "measured identical)."),
    full_range: bool = typer.Option(False, "--full-range", help="onnx-int8: 8-bit weights "
                                    "instead of 7; only for files that run on CPUs with VNNI "
                                    "(elsewhere the integer kernels saturate and lose accuracy)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Export CHECKPOINT; the model input is the normalised tensor from ferkit.preprocess.

    --format onnx-int8 writes a statically quantized model (2-3x faster on CPUs with VNNI),
    calibrated on --calibration DATA and compared with the float model on held-out images.
    """
    from ferkit.cli._common import emit_json, out_console, warn
    from ferkit.export import export_model

    if full_range and format != "onnx-int8":
        from ferkit.errors import ConfigError

        raise ConfigError("--full-range is for --format onnx-int8 (it sets the INT8 weights' "
                          "range)")
    options: dict = {"check": not no_check}
    if opset is not None:
        options["opset"] = opset
    if calibration is not None:
        options.update(calibration=calibration, calibration_split=calibration_split,
                       calibration_size=calibration_size, calibration_method=calibration_method,
                       reduce_range=not full_range)
    result = export_model(checkpoint, format, output, **options)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.format == "onnx-int8":
        out_console.print(
            f"quantized {result.model} → {result.path} (INT8, {result.size_bytes / 1e6:.2f} MB "
            f"vs {result.float_size_bytes / 1e6:.2f} MB float); top-1 agreement with float "
            f"{result.agreement:.1%} on {result.calibration['held_out']} held-out calibration "
            f"images, max prob diff {result.max_prob_diff:.3f}", highlight=False, soft_wrap=True)
        if result.agreement < 0.95:
            warn("INT8 agreement with the float model is below 95%; evaluate both with "
                 "'ferkit evaluate' before shipping the INT8 file")
        return
    parity = ("skipped" if result.max_abs_diff is None
              else f"max abs diff {result.max_abs_diff:.2g} (atol {result.atol:g})")
    out_console.print(f"exported {result.model} → {result.path} ({result.format}, opset "
                      f"{result.opset}, {result.size_bytes / 1e6:.2f} MB); parity: {parity}",
                      highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("export")(export)
