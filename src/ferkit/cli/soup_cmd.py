"""``ferkit soup``: a thin shell over ``ferkit.ensemble.soup.make_soup``."""

from __future__ import annotations

from pathlib import Path

import typer


def soup(
    checkpoints: list[str] = typer.Argument(..., help="Fine-tunes of one start: .safetensors "
                                            "checkpoints or bundled model names; ≥ 2."),
    output: Path = typer.Option(..., "--output", "-o", help="The soup checkpoint "
                                "(.safetensors)."),
    weight: list[float] = typer.Option(None, "--weight", "-w", help="One weight per checkpoint, "
                                       "in order (repeat); default: uniform."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Average the weights of CHECKPOINTS into one model (a model soup).

    For fine-tunes that share a starting point (e.g. runs started with model.init_from the same
    checkpoint, or a fine-tune and its start): the soup often scores like their ensemble at the
    cost of one model. Check it with 'ferkit evaluate'; export it like any checkpoint.
    """
    from ferkit.cli._common import emit_json, out_console
    from ferkit.ensemble.soup import make_soup

    result = make_soup(checkpoints, output, weight or None)
    if as_json:
        emit_json(result.to_dict())
        return
    parts = ", ".join(f"{c} × {w:.3g}" for c, w in zip(result.ingredients, result.weights,
                                                         strict=True))
    out_console.print(f"soup of {len(result.ingredients)} {result.model} checkpoints ({parts}) → "
                      f"{result.path}; evaluate it: ferkit evaluate --model {result.path} "
                      "--data DATA", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("soup")(soup)
