"""Search outputs shared by ``search`` and ``evolve``: trials.csv, plots, best recipe.

Plots come from ``optuna.visualization.matplotlib`` (history, importances, slices, parallel
coordinates, Pareto front); figures are saved as PNG and closed, never shown.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

from ferkit.io import atomic_path, atomic_write_text

STATE_NAMES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed",
               "RUNNING": "running", "WAITING": "waiting"}


def trial_rows(study) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        state = STATE_NAMES.get(t.state.name, t.state.name.lower())
        if t.user_attrs.get("ferkit_discarded"):
            state = "discarded"
        row: dict[str, Any] = {"number": t.number, "state": state}
        values = t.values or []
        for i, v in enumerate(values):
            row["value" if i == 0 else f"value_{i}"] = v
        if len(values) < len(study.directions):
            for i in range(len(values), len(study.directions)):
                row["value" if i == 0 else f"value_{i}"] = ""
        row["epochs"] = t.user_attrs.get("epochs", len(t.intermediate_values) or "")
        row["duration_s"] = (round(t.duration.total_seconds(), 2) if t.duration else "")
        row["params_count"] = t.user_attrs.get("params", "")
        for k, v in sorted(t.params.items()):
            row[f"param:{k}"] = v
        row["retry_of"] = t.user_attrs.get("ferkit_retry_of", "")
        row["note"] = t.user_attrs.get("ferkit_failed") or t.user_attrs.get(
            "ferkit_discarded") or ""
        rows.append(row)
    return rows


def write_trials_csv(study, path: Path) -> Path:
    rows = trial_rows(study)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns or ["number"], restval="")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def _save(ax_or_fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig = getattr(ax_or_fig, "figure", None) or ax_or_fig
    if hasattr(ax_or_fig, "flat"):  # an array of axes
        fig = ax_or_fig.flat[0].figure
    fig.set_size_inches(max(fig.get_size_inches()[0], 7), max(fig.get_size_inches()[1], 4.5))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_plots(study, output: Path, *, target_name: str = "val accuracy") -> list[Path]:
    """History, importances, slices and parallel coordinates (single objective) or the Pareto
    front (two objectives); a plot Optuna cannot draw yet (too few trials) is skipped."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as ovm

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return []
    out: list[Path] = []
    multi = len(study.directions) > 1
    jobs: list[tuple[str, Any]] = []
    if multi:
        jobs.append(("pareto_front.png", lambda: ovm.plot_pareto_front(
            study, target_names=[target_name, "parameters"])))
        first = {"target": lambda t: t.values[0], "target_name": target_name}
    else:
        first = {"target_name": target_name}
        jobs.append(("history.png", lambda: ovm.plot_optimization_history(study, **first)))
    if len(done) >= 3:
        jobs.append(("importances.png", lambda: ovm.plot_param_importances(study, **first)))
        jobs.append(("slices.png", lambda: ovm.plot_slice(study, **first)))
        jobs.append(("parallel.png", lambda: ovm.plot_parallel_coordinate(study, **first)))
    for name, make in jobs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning on these plots
                out.append(_save(make(), output / name))
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
            continue  # e.g. importances with a single distinct value: nothing to show
    return out


def write_best_recipe(path: Path, base: dict[str, Any], best: dict[str, Any], header: str
                      ) -> Path:
    """The base recipe with the best values set: ``ferkit train --config best.yaml`` runs it."""
    import yaml

    from ferkit.config import deep_merge, parse_overrides

    merged = deep_merge(base, parse_overrides([f"{k}={json.dumps(v)}" for k, v in best.items()]))
    comment = "".join(f"# {line}\n" for line in header.strip().splitlines())
    body = yaml.safe_dump(merged, sort_keys=False, default_flow_style=None)
    return atomic_write_text(path, comment + body)
