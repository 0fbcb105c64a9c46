"""``run_search(space, data, ...) -> SearchResult``: the library entry point of ``ferkit search``.

Start the same call (or command) in N processes, on one machine or several sharing a database
URL, and they complete one study together; re-running it resumes the study.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferkit.errors import ConfigError
from ferkit.io import atomic_write_json
from ferkit.search import samplers as _samplers  # noqa: F401 - registers samplers and pruners
from ferkit.search import storage as storage_mod
from ferkit.search.objective import TrialSetup, train_trial
from ferkit.search.report import write_best_recipe, write_plots, write_trials_csv
from ferkit.search.space import PRUNERS, SAMPLERS, SearchSpace, load_space, trial_config
from ferkit.search.study import StudyCounts, count_trials, open_study, run_worker


@dataclass
class SearchResult:
    """A study's state after this worker stopped (totals are study-wide, over all workers)."""

    study: str
    storage: str
    output: Path
    sampler: str
    n_trials: int
    counts: StudyCounts
    best_value: float | None
    best_params: dict[str, Any]
    best_trial: int | None
    worker_trials: int
    worker_wall_s: float
    stopped_by: str
    trials_per_hour: float | None
    pruned_fraction: float | None
    files: dict[str, str] = field(default_factory=dict)
    pareto: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        d = to_jsonable(dataclasses.asdict(self))
        d["counts"]["finished"] = self.counts.finished
        return d


def live_csv(output: Path, on_trial=None):
    """A per-trial callback that keeps ``trials.csv`` current while the study runs."""

    def callback(trial, counts) -> None:
        write_trials_csv(trial.study, output / "trials.csv")
        if on_trial is not None:
            on_trial(trial, counts)

    return callback


def default_output(study: str) -> Path:
    return Path("runs") / "search" / study


def _pareto(study) -> list[dict[str, Any]]:
    return [{"number": t.number, "values": list(t.values), "params": dict(t.params)}
            for t in sorted(study.best_trials, key=lambda t: -t.values[0])]


def make_study(space: SearchSpace, study_name: str, storage: str | None, output: Path,
               sampler_name: str, sampler_kwargs: dict[str, Any] | None = None):
    """Open (or create) the study with the space's sampler, pruner, directions and identity."""
    store = storage_mod.open_storage(storage, output)
    sampler = SAMPLERS.get(sampler_name)(space, space.seed, **(sampler_kwargs or {}))
    pruner = PRUNERS.get(space.pruner.name)(space.pruner)
    return open_study(study_name, store, directions=space.directions, sampler=sampler,
                      pruner=pruner, fingerprint=space.fingerprint(), source=space.source)


def summarise(study, space: SearchSpace, *, name: str, storage: str | None, output: Path,
              sampler: str, budget: int, stats, extra: tuple[str, ...] = (),
              data: str | None = None) -> SearchResult:
    """Write trials.csv, plots, best.yaml and summary.json; return the typed result."""
    counts = count_trials(study)
    files = {"trials_csv": str(write_trials_csv(study, output / "trials.csv"))}
    files.update({p.stem: str(p) for p in write_plots(study, output)})
    best_value, best_params, best_trial, pareto = None, {}, None, []
    if counts.complete:
        if space.multi_objective:
            pareto = _pareto(study)
            top = pareto[0]
            best_value, best_params, best_trial = top["values"][0], top["params"], top["number"]
        else:
            best = study.best_trial
            best_value, best_params, best_trial = best.value, dict(best.params), best.number
        cfg = trial_config(space, best_params, extra, data)
        from ferkit.config import to_dict

        base = to_dict(cfg)
        base["output"] = ""
        header = (f"best trial {best_trial} of study {name!r}: val accuracy {best_value:.4f}\n"
                  f"search space: {space.source}\n"
                  "This is the trial's own recipe, schedule included (fixed keys of the space);\n"
                  "raise trainer.epochs / drop data.limit_train for a full training run.")
        files["best_yaml"] = str(write_best_recipe(output / "best.yaml", base, {}, header))
    finished = [t for t in study.get_trials(deepcopy=False) if t.duration is not None
                and t.state.name in ("COMPLETE", "PRUNED")]
    hours = sum(t.duration.total_seconds() for t in finished) / 3600
    result = SearchResult(
        study=name, storage=storage_mod.describe(storage, output), output=output,
        sampler=sampler, n_trials=budget, counts=counts, best_value=best_value,
        best_params=best_params, best_trial=best_trial, worker_trials=stats.ran,
        worker_wall_s=stats.wall_s, stopped_by=stats.stopped_by,
        trials_per_hour=round(len(finished) / hours, 1) if hours > 0 else None,
        pruned_fraction=round(counts.pruned / counts.finished, 3) if counts.finished else None,
        files=files, pareto=pareto, errors=stats.errors)
    atomic_write_json(output / "summary.json", result.to_dict())
    return result


def run_search(space: SearchSpace | str | os.PathLike[str], data: str, *, study: str,
               storage: str | None = None, sampler: str | None = None,
               n_trials: int | None = None, timeout: float | None = None,
               output: str | os.PathLike[str] | None = None,
               overrides: list[str] | tuple[str, ...] = (), prune: bool = True,
               on_trial: Callable[[Any, StudyCounts], None] | None = None) -> SearchResult:
    """Run (or join, or resume) study ``study`` over ``space`` on ``data``.

    ``n_trials`` is the study-wide budget (default: the space's, or the grid's size for grid
    search); ``overrides`` are training-config ``key=value`` applied to every trial.
    """
    if not isinstance(space, SearchSpace):
        space = load_space(space, sampler=sampler)
    elif sampler is not None:
        space = dataclasses.replace(space, sampler=sampler)
    SAMPLERS.get(space.sampler)
    if not data:
        raise ConfigError("no data: pass --data PATH")
    extra = tuple(overrides)
    if extra:
        trial_config(space, {k: p.example() for k, p in space.params.items()}, extra, data)
    grid = space.sampler == "grid"
    budget = n_trials or space.n_trials or (space.grid_size() if grid else None)
    if budget is None:
        raise ConfigError("no trial budget: pass --n-trials N (or set n_trials in the space)")
    if grid and budget > space.grid_size():
        budget = space.grid_size()  # every grid point exactly once, never more
    out = Path(output) if output is not None else default_output(study)
    out.mkdir(parents=True, exist_ok=True)
    optuna_study = make_study(space, study, storage, out, space.sampler)
    setup = TrialSetup(space=space, data=data, output=out, extra=extra, prune=prune)
    stats = run_worker(optuna_study, suggest=lambda t: {k: p.suggest(t) for k, p in
                                                        space.params.items()},
                       objective=lambda t, v: train_trial(setup, t, v), budget=budget,
                       timeout=timeout, grid=grid, on_trial=live_csv(out, on_trial))
    return summarise(optuna_study, space, name=study, storage=storage, output=out,
                     sampler=space.sampler, budget=budget, stats=stats, extra=extra, data=data)
