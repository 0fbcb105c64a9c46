"""``ferkit models``: list the model zoo with parameters, MACs, input size and reference."""

from __future__ import annotations

import typer


def models(
    pattern: str = typer.Argument("*", help="Glob over model names; plain text matches anywhere "
                                             "(e.g. 'vgg', 'efficientnet_*')."),
    no_test: bool = typer.Option(False, "--no-test", help="Hide the tiny *_test models."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List registered models: params, MACs at their input size, input size/channels, reference."""
    import dataclasses
    import difflib

    from ferkit.cli._common import emit_json, err_console
    from ferkit.errors import UnknownNameError
    from ferkit.models import MODELS, list_models, summarize

    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    names = list_models(glob, include_test=not no_test)
    if not names:
        close = difflib.get_close_matches(pattern, MODELS.names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownNameError(f"no model name matches {pattern!r}; {hint}"
                               f"run 'ferkit models' to list all {len(MODELS)} models")
    from ferkit.bundled import BUNDLED, bundled_summary

    with err_console.status(f"counting parameters and MACs of {len(names)} models"):
        rows = [summarize(n) for n in names]
    bundled = [bundled_summary(n) for n in BUNDLED.names()]
    if as_json:
        emit_json({"models": [dataclasses.asdict(r) for r in rows], "bundled": bundled})
        return
    _print_table(rows)
    _print_bundled(bundled)


def _print_bundled(bundled: list[dict]) -> None:
    """The shipped, trained models: usable by name wherever a model file is accepted."""
    from ferkit.cli._common import out_console

    out_console.print("bundled trained models (use the name wherever a model file is accepted: "
                      "predict, evaluate, export, ensemble, explain, model.init_from, "
                      "distill.teachers):", highlight=False, markup=False, soft_wrap=True)
    for b in bundled:
        out_console.print(f"  {b['name']:<8} {b['model']} {b['in_chans']}×{b['input_size']}², "
                          f"{len(b['labels'])} classes; {b['description']}", highlight=False,
                          markup=False, soft_wrap=True)


def _print_table(rows) -> None:
    from rich.console import Console
    from rich.table import Table

    from ferkit.cli._common import out_console

    table = Table(title=f"ferkit models ({len(rows)})")
    for col, just in (("name", "left"), ("family", "left"), ("params", "right"),
                      ("MACs", "right"), ("input", "right"), ("weights", "left"),
                      ("reference", "left")):
        table.add_column(col, justify=just, no_wrap=col != "reference", overflow="ellipsis")
    for r in rows:
        table.add_row(r.name, r.family, f"{r.params:,}", f"{r.macs / 1e6:,.1f}M",
                      f"{r.in_chans}×{r.input_size}²", "ImageNet" if r.has_weights else "-",
                      r.reference.split(",")[0])
    # rich assumes 80 columns when piped; the table is unreadable folded that narrow
    console = out_console if out_console.is_terminal else Console(file=out_console.file, width=150)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("models")(models)
