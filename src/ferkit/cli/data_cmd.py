"""``ferkit data``: inspect, convert and list dataset formats (thin shell over ferkit.data).

No torch (and no numpy/OpenCV until a command runs): ``ferkit data info`` must start fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import emit_json, err_console, one_of, out_console, warn

data_app = typer.Typer(help="Inspect and convert FER datasets.", no_args_is_help=True)

#: at most this many skipped files are named on stderr (all of them are in --json)
MAX_SKIPPED_SHOWN = 50


def _show_skipped(skipped: list[dict[str, str]]) -> None:
    for row in skipped[:MAX_SKIPPED_SHOWN]:
        warn(f"skipped {row['file']}: {row['reason']}")
    if len(skipped) > MAX_SKIPPED_SHOWN:
        warn(f"... and {len(skipped) - MAX_SKIPPED_SHOWN} more skipped files (see --json)")


@data_app.command("info")
def info_cmd(
    path: Path = typer.Argument(..., help="Dataset folder or FER2013 CSV."),
    format: str | None = typer.Option(None, "--format", "-f", help="Format name (default: "
                                      "auto-detect; see `ferkit data formats`)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Decode again, ignore the cache."),
) -> None:
    """Format, split x class counts, image sizes, skipped files and imbalance warnings."""
    from ferkit.data import load_dataset
    from ferkit.data.summary import summarize

    summary = summarize(load_dataset(path, format=format, cache=not no_cache))
    _show_skipped(summary.skipped)
    for message in summary.warnings:
        warn(message)
    if json_out:
        emit_json(summary)
        return
    _print_summary(summary)


def _print_summary(s) -> None:
    from rich.table import Table

    table = Table(title=f"{s.path}  ({s.format})")
    table.add_column("class")
    for name in s.splits:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    for c in s.classes:
        row = [s.splits[n].counts[c] for n in s.splits]
        table.add_row(c, *(f"{v:,}" for v in row), f"{sum(row):,}")
    table.add_row("[b]all[/b]", *(f"{sp.total:,}" for sp in s.splits.values()), f"{s.total:,}")
    out_console.print(table)
    sizes = ", ".join(f"{k} ({v:,})" for k, v in sorted(s.source_sizes.items(),
                                                       key=lambda kv: -kv[1]))
    out_console.print(f"images: {s.total:,} as {s.image_size[0]}x{s.image_size[1]} {s.color}; "
                      f"source sizes: {sizes}", highlight=False)
    out_console.print(f"skipped files: {len(s.skipped)}   fingerprint: {s.fingerprint}",
                      highlight=False)


def _targets():
    from ferkit.data.convert import WRITERS

    return WRITERS


@data_app.command("convert")
def convert_cmd(
    src: Path = typer.Argument(..., help="Dataset to convert (any format)."),
    to: str = typer.Option(..., "--to", callback=one_of(_targets),
                           help="Target: csv (FER2013 CSV) or folder (PNGs)."),
    output: Path = typer.Option(..., "--output", "-o", help="Destination file or folder."),
    format: str | None = typer.Option(None, "--format", "-f", help="Source format name."),
    color: str = typer.Option("gray", "--color", help="gray or rgb (folder target only)."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty destination."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Write SRC as a FER2013 CSV or as <split>/<class>/<Usage>_<i>.png folders, atomically."""
    from ferkit.data.convert import convert_dataset

    result = convert_dataset(src, to, output, format=format, force=force, color=color)
    _show_skipped(result.skipped)
    if json_out:
        emit_json(result)
        return
    counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
    err_console.print(f"wrote {result.output} ({result.to}; {counts}) from "
                      f"{result.source_format}", highlight=False)


@data_app.command("formats")
def formats_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """List the registered dataset formats (auto-detection tries them most specific first)."""
    from ferkit.data import list_formats

    rows = list_formats()
    if json_out:
        emit_json([{"name": n, "description": d} for n, d in rows])
        return
    for name, desc in rows:
        out_console.print(f"[b]{name:<15}[/b] {desc}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    app.add_typer(data_app, name="data")
