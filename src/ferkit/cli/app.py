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
    "explain_cmd", "ensemble_cmd",
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
    """Entry point: run the app; FerkitError → 'error: …' on stderr and exit 1."""
    from ferkit.cli._common import err_console

    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except FerkitError as exc:
        from rich.markup import escape  # "pip install 'ferkit[dlib]'" is not markup

        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        return 130
    return 0


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
