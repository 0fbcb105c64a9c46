"""``ferkit train``: a thin shell over ``ferkit.train.train``."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import emit_json, info, warn


def register(app: typer.Typer) -> None:
    """Add ``ferkit train`` to ``app``."""

    @app.command("train", context_settings={"allow_extra_args": False})
    def train_cmd(
        overrides: list[str] = typer.Argument(None, help="Config overrides: key=value ..."),
        model: str = typer.Option(None, "--model", "-m", help="Registered model name."),
        data: str = typer.Option(None, "--data", "-d", help="Dataset path (any format)."),
        config: str = typer.Option(None, "--config", "-c", help="Recipe: a YAML file or a "
                                   "packaged recipe name ('ferkit configs' lists them). "
                                   "Default without --model: fine-tune the bundled model."),
        output: Path = typer.Option(None, "--output", "-o", help="Run directory."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run in --output "
                                    "(stopped by Ctrl-C, SIGTERM or a crash) where it stopped."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Train a model (Lightning; CPU, GPU or DDP) and write a run directory."""
        from ferkit.errors import ConfigError
        from ferkit.recipes import DEFAULT_RECIPE
        from ferkit.train import load_train_config, train
        from ferkit.train.crossval import CrossValResult
        from ferkit.train.runner import is_child_rank, load_resume_config

        overrides = list(overrides or [])
        if resume:
            if output is None:
                raise ConfigError("--resume needs --output RUN_DIR (the run to continue)")
            if config is not None:
                raise ConfigError("--resume uses the run's own RUN_DIR/config.yaml; drop "
                                  f"--config {str(config)!r}")
            cfg = load_resume_config(output, overrides, model=model, data=data)
        else:
            names_model = any(o.split("=", 1)[0].strip() == "model.name" for o in overrides)
            if config is None and model is None and not names_model:
                config = DEFAULT_RECIPE
                if not is_child_rank():
                    info(f"no --model/--config: fine-tuning the bundled default model (recipe "
                         f"{DEFAULT_RECIPE!r}; see 'ferkit configs')")
            cfg = load_train_config(config, overrides, **{
                "model.name": model, "data.path": data,
                "output": str(output) if output else None})
        result = train(cfg, resume=resume, log_fn=info, warn_fn=warn)
        if is_child_rank():  # DDP worker processes: rank 0 reports
            return
        if json_out:
            emit_json(result.to_dict())
            return
        if isinstance(result, CrossValResult):
            info(result.summary())
            return
        acc = "-" if result.best_val_acc is None else f"{result.best_val_acc:.4f}"
        ips = "-" if result.images_per_s is None else f"{result.images_per_s:.0f}"
        info(f"done in {result.wall_time_s:.1f}s: best val_acc {acc} (epoch {result.best_epoch})"
             f", {ips} train images/s, T={result.temperature:.3f} → {result.best_checkpoint}")
