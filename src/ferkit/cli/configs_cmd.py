"""``ferkit configs``: the training recipes that ship in the package, one line each."""

from __future__ import annotations

import typer


def configs(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List packaged training recipes; use one with 'ferkit train --config NAME'."""
    from ferkit.cli._common import emit_json, out_console
    from ferkit.recipes import DEFAULT_RECIPE, list_recipes

    recipes = list_recipes()
    if as_json:
        emit_json({"default": DEFAULT_RECIPE, "recipes": [
            {"name": r.name, "path": str(r.path), "description": r.description}
            for r in recipes]})
        return
    width = max((len(r.name) for r in recipes), default=0)
    for r in recipes:
        mark = " (default)" if r.name == DEFAULT_RECIPE else ""
        out_console.print(f"{r.name:<{width}}  {r.description or '-'}{mark}", highlight=False,
                          markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("configs")(configs)
