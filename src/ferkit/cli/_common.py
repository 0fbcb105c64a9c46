"""Conventions every command follows.

- ``--json`` prints exactly one JSON document on stdout; logs and progress go to stderr.
- Commands that write files take ``--output DIR``.
- Exit codes: 0 ok, 1 user error (a ``FerkitError``: one line on stderr), 2 usage error.
"""

from __future__ import annotations

import json
import sys
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
