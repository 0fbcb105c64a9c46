"""The ``ferkit`` console command.

Each command group lives in its own ``cli/*_cmd.py`` module exposing ``register(app)``; this file
only assembles them and turns user errors into one clean line and exit code 1.
"""

from __future__ import annotations

import importlib
import sys

import typer

from ferkit import __version__
from ferkit.errors import FerkitError

COMMAND_MODULES = (
    "data_cmd", "models_cmd", "train_cmd", "evaluate_cmd", "predict_cmd", "export_cmd",
    "explain_cmd", "ensemble_cmd", "soup_cmd", "search_cmd", "evolve_cmd", "serve_cmd",
    "configs_cmd",
)

app = typer.Typer(
    name="ferkit",
    help="Facial emotion recognition: data, models, training, evaluation and inference.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ferkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """ferkit: facial emotion recognition toolkit."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"ferkit.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; FerkitError → 'error: …' on stderr and exit 1 (an
    ``Interrupted`` run: 130 for SIGINT, 143 for SIGTERM)."""
    from ferkit.cli._common import err_console

    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except FerkitError as exc:  # Interrupted carries 130/143
        _print_error(str(exc))
        return int(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err_console.print("interrupted (Ctrl-C)", highlight=False)
        return 130
    except OSError as exc:  # the file system said no where no check of ours foresaw it
        where = f" {exc.filename!r}" if exc.filename else ""
        _print_error(f"cannot access{where}: {exc.strerror or exc}; check the path and its "
                     "permissions")
        return 1
    return 0


def _print_error(message: str) -> None:
    from rich.markup import escape

    from ferkit.cli._common import err_console

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
