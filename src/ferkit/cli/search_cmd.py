"""``ferkit search``: a thin shell over ``ferkit.search.run_search``."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import emit_json, err_console, info, one_of, out_console


def _samplers():
    import ferkit.search.samplers  # noqa: F401 - fills the registry
    from ferkit.search.space import SAMPLERS

    return SAMPLERS


def study_progress(total: int, enabled: bool):
    """A Rich progress bar on stderr (trial n/N, best so far) and its per-trial callback.

    The bar appears with the first finished trial, so an error while opening the study is the
    only line a user sees.
    """
    import contextlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[best]}"), TimeElapsedColumn(),
                        console=err_console, disable=not enabled, transient=False)
    task = progress.add_task("search", total=total, best="")
    started = []

    @contextlib.contextmanager
    def shown():
        try:
            yield
        finally:
            if started:
                progress.stop()

    def on_trial(trial, counts) -> None:
        if not started:
            started.append(True)
            progress.start()
        study = trial.study
        try:
            best = f"best {study.best_value:.4f}" if len(study.directions) == 1 else ""
        except ValueError:
            best = ""
        progress.update(task, completed=min(counts.finished, total),
                        best=f"{best} · pruned {counts.pruned} · failed {counts.failed}")

    return shown(), on_trial


def register(app: typer.Typer) -> None:
    """Add ``ferkit search`` to ``app``."""

    @app.command("search", context_settings={"allow_extra_args": False})
    def search_cmd(
        space: Path = typer.Option(..., "--space", help="Search-space YAML (configs/search/)."),
        data: str = typer.Option(..., "--data", "-d", help="Dataset path (any format)."),
        study: str = typer.Option(..., "--study", help="Study name (shared by all workers)."),
        storage: str = typer.Option(None, "--storage",
                                    help="Database URL or journal:PATH (default: a journal "
                                         "file in --output)."),
        sampler: str = typer.Option(None, "--sampler", callback=one_of(_samplers),
                                    help="grid | random | tpe | cmaes (default: the space's)."),
        n_trials: int = typer.Option(None, "--n-trials", min=1,
                                     help="Study-wide trial budget (all workers together)."),
        timeout: float = typer.Option(None, "--timeout", min=1,
                                      help="Stop starting new trials after S seconds."),
        output: Path = typer.Option(None, "--output", "-o",
                                    help="Folder for trials, plots, best.yaml (default "
                                         "runs/search/STUDY)."),
        no_prune: bool = typer.Option(False, "--no-prune", help="Run every trial to the end."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON summary."),
        overrides: list[str] = typer.Argument(None, help="Training key=value for every trial."),
    ) -> None:
        """Search training/architecture options with Optuna; many workers can share a study."""
        from ferkit.search.run import run_search
        from ferkit.search.space import load_space

        spec = load_space(space, sampler=sampler)
        total = n_trials or spec.n_trials or (spec.grid_size() if spec.sampler == "grid" else 0)
        progress, on_trial = study_progress(total or 1, enabled=not json_out)
        with progress:
            result = run_search(spec, data, study=study, storage=storage, n_trials=n_trials,
                                timeout=timeout, output=output, overrides=overrides or (),
                                prune=not no_prune, on_trial=on_trial)
        if json_out:
            emit_json(result.to_dict())
            return
        c = result.counts
        out_console.print(
            f"study {result.study}: {c.finished}/{result.n_trials} finished ({c.complete} "
            f"complete, {c.pruned} pruned), {c.failed} failed, {c.running} still running "
            f"elsewhere; this worker ran {result.worker_trials} in {result.worker_wall_s:.0f} s",
            highlight=False, soft_wrap=True, markup=False)
        if result.best_value is not None:
            out_console.print(f"best trial {result.best_trial}: val accuracy "
                              f"{result.best_value:.4f} with {result.best_params}",
                              highlight=False, soft_wrap=True, markup=False)
        for err in result.errors[:5]:
            info(f"failed {err}")
        info(f"results in {result.output} (trials.csv, summary.json, best.yaml, plots)")
