"""``ferkit evolve``: a thin shell over ``ferkit.search.run_evolve``."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import emit_json, info, out_console


def register(app: typer.Typer) -> None:
    """Add ``ferkit evolve`` to ``app``."""

    @app.command("evolve")
    def evolve_cmd(
        data: str = typer.Option(..., "--data", "-d", help="Dataset path (any format)."),
        space: Path = typer.Option(None, "--space",
                                   help="Evolve-space YAML (configs/search/evolve_*.yaml)."),
        generations: int = typer.Option(None, "--generations", "-g",
                                        help="Generations (overrides the space's)."),
        population: int = typer.Option(None, "--population", "-p",
                                       help="Genomes per generation (>= 2)."),
        study: str = typer.Option("evolve", "--study", help="Study name (shared by workers)."),
        storage: str = typer.Option(None, "--storage",
                                    help="Database URL or journal:PATH (default: a journal "
                                         "file in --output)."),
        output: Path = typer.Option(None, "--output", "-o",
                                    help="Folder for the front, maps, recipe and winner."),
        no_retrain: bool = typer.Option(False, "--no-retrain",
                                        help="Skip the full retrain of the chosen genome."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON summary."),
        overrides: list[str] = typer.Argument(None, help="Training key=value for every genome."),
    ) -> None:
        """Evolve nose-relative patches (NSGA-II: accuracy vs parameters), retrain the winner."""
        from ferkit.cli.search_cmd import study_progress
        from ferkit.search.evolve import load_evolve_space, run_evolve

        spec = load_evolve_space(space, population=population, generations=generations)
        progress, on_trial = study_progress(spec.population * spec.generations,
                                            enabled=not json_out)
        with progress:
            result = run_evolve(spec, data, study=study, storage=storage, output=output,
                                overrides=overrides or (), retrain=not no_retrain,
                                on_trial=on_trial)
        if json_out:
            emit_json(result.to_dict())
            return
        c = result.counts
        out_console.print(f"study {result.study}: {c.complete} genomes evaluated, {c.failed} "
                          f"failed; Pareto front of {len(result.pareto)}", highlight=False,
                          markup=False, soft_wrap=True)
        if result.chosen:
            ch = result.chosen
            out_console.print(
                f"chosen: {len(ch['patches'])} patches {ch['patches']}, {ch['params']:,} params "
                f"({ch['param_ratio']:.1%} of the full-image twin), val acc {ch['val_acc']:.4f}",
                highlight=False, markup=False, soft_wrap=True)
        if result.winner:
            out_console.print(f"winner retrained: {result.winner['checkpoint']} (val acc "
                              f"{result.winner['val_acc']:.4f})", highlight=False, markup=False,
                              soft_wrap=True)
        info(f"results in {result.output} (pareto_front.png, generations.png, attention_map.png,"
             " evolved.yaml, trials.csv)")
