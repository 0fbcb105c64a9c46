"""Conventions every command follows.

- ``--json`` prints exactly one JSON document on stdout; logs and progress go to stderr.
- Commands that write files take ``--output DIR``.
- Exit codes: 0 ok, 1 user error (a ``FerkitError``: one line on stderr), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console

#: people-facing messages and progress bars: stderr, so stdout stays clean for --json
err_console = Console(stderr=True)
#: human-readable results (tables) go to stdout
out_console = Console()


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (the only thing a --json command prints there)."""
    from ferkit.io import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    from rich.markup import escape

    err_console.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False,
                      soft_wrap=True)


def info(message: str) -> None:
    err_console.print(message, highlight=False, soft_wrap=True)


def one_of(names: Callable[[], Any]) -> Callable[[Any], Any]:
    """A typer option callback: the value must be in ``names()`` (a Registry or a sequence,
    loaded lazily so ``--help`` stays fast); otherwise a usage error (exit 2) that lists them."""
    import typer

    def check(value: Any) -> Any:
        if value is None:
            return value
        valid = names()
        if hasattr(valid, "get"):  # a Registry: its did-you-mean message
            from ferkit.errors import UnknownNameError

            try:
                valid.get(value)
            except UnknownNameError as exc:
                raise typer.BadParameter(str(exc)) from None
        elif value not in valid:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(valid)}")
        return value

    return check


def check_output_dir(path: Any, what: str = "--output") -> None:
    """One-line error before any work when ``--output`` cannot become a folder."""
    if path is not None:
        from ferkit.io import check_writable_dir

        check_writable_dir(path, what)
