"""``ferkit export``: a checkpoint → a deployable file (ONNX) with metadata and a parity check."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    checkpoint: Path = typer.Argument(..., help="ferkit .safetensors checkpoint."),
    format: str = typer.Option("onnx", "--format", "-f", help="Export format (registered name)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Output file (default: checkpoint path, new suffix)."),
    opset: int | None = typer.Option(None, "--opset", help="ONNX opset (default 17)."),
    no_check: bool = typer.Option(False, "--no-check",
                                  help="Skip the torch-vs-runtime parity check."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Export CHECKPOINT; the model input is the normalised tensor from ferkit.preprocess."""
    from ferkit.cli._common import emit_json, out_console
    from ferkit.export import export_model

    options: dict = {"check": not no_check}
    if opset is not None:
        options["opset"] = opset
    result = export_model(checkpoint, format, output, **options)
    if as_json:
        emit_json(result.to_dict())
        return
    parity = ("skipped" if result.max_abs_diff is None
              else f"max abs diff {result.max_abs_diff:.2g} (atol {result.atol:g})")
    out_console.print(f"exported {result.model} → {result.path} ({result.format}, opset "
                      f"{result.opset}, {result.size_bytes / 1e6:.2f} MB); parity: {parity}",
                      highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("export")(export)
