"""``ferkit ensemble``: a thin shell over ``ferkit.ensemble.combine.evaluate_ensemble``."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import check_output_dir, emit_json, info, one_of, out_console


def _ttas():
    from ferkit.ensemble.tta import TTAS

    return TTAS


def register(app: typer.Typer) -> None:
    """Add ``ferkit ensemble`` to ``app``."""

    @app.command("ensemble")
    def ensemble_cmd(
        models: list[str] = typer.Option(..., "--model", "-m",
                                         help="A member .safetensors checkpoint or bundled model "
                                         "name (default, fast); repeat, ≥ 2."),
        data: str = typer.Option(..., "--data", "-d", help="Dataset path (any format)."),
        split: str = typer.Option(None, "--split", "-s", help="Labelled split to evaluate on "
                                  "(default: val, else test, else train)."),
        method: str = typer.Option("all", "--method",
                                   help="all | mean | vote | accuracy | expo | class."),
        tta: str = typer.Option("none", "--tta", callback=one_of(_ttas),
                                help="Members' TTA: none|flip|tencrop."),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the cross-fitting folds."),
        output: Path = typer.Option(None, "--output", "-o",
                                    help="Write ensemble.json + confusion matrix here."),
        data_format: str = typer.Option(None, "--format", help="Dataset format (auto)."),
        batch_size: int = typer.Option(256, "--batch-size", min=1),
        json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        save: Path = typer.Option(None, "--save", help="Also write the members' mean as one "
                                  ".safetensors model that predict, evaluate, serve and export "
                                  "run like any other (members must share input size, channels, "
                                  "normalisation and labels)."),
    ) -> None:
        """Combine checkpoints' probabilities; weighted rules are cross-fitted on 2 folds.

        With --save, the unweighted mean (the rule that needs no fitting) becomes one model file.
        """
        from ferkit.ensemble.combine import evaluate_ensemble

        check_output_dir(output)
        if save is not None:
            from ferkit.ensemble.merge import check_mergeable

            check_mergeable(models, save)  # before the evaluation, which may take minutes

        report = evaluate_ensemble(models, data, split, method, output=output, tta=tta, seed=seed,
                                   batch_size=batch_size, data_format=data_format,
                                   log=None if json_out else info)
        saved = None if save is None else _save_mean(models, save, report, tta)
        if json_out:
            doc = report.to_dict()
            if saved is not None:
                doc["saved"] = str(saved)
            emit_json(doc)
            return
        for m in report.members:
            out_console.print(f"member {m.model} ({m.name}): accuracy {m.accuracy:.4f} "
                              f"macro-F1 {m.macro_f1:.4f}",
                              highlight=False, soft_wrap=True, markup=False)
        for r in report.methods:
            how = f"cross-fitted on {report.n_folds} folds" if r.cross_fitted else "no fitting"
            out_console.print(f"method {r.method}: accuracy {r.accuracy:.4f} macro-F1 "
                              f"{r.macro_f1:.4f} ({how})",
                              highlight=False, soft_wrap=True, markup=False)
        out_console.print(f"best: {report.best_method} [{report.split}, n={report.num_samples}, "
                          f"labels: {', '.join(report.labels)}]",
                          highlight=False, markup=False)
        if output is not None:
            info(f"ensemble.json and confusion matrix written to {output}")
        if saved is not None:
            info(f"the members' mean written to {saved} (run it with --model {saved})")


def _save_mean(models, save: Path, report, tta: str) -> Path:
    """Merge the members and record the mean rule's measured figures in the new file."""
    from ferkit.ensemble.merge import merge_checkpoints

    mean = next((r for r in report.methods if r.method == "mean"), None)
    metrics = {} if mean is None else {
        "ensemble_mean_accuracy": mean.accuracy, "ensemble_mean_macro_f1": mean.macro_f1,
        "ensemble_split": report.split, "ensemble_num_samples": report.num_samples,
        "ensemble_tta": tta}
    return merge_checkpoints(models, save, metrics=metrics)
