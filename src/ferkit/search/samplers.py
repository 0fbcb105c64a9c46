"""Optuna samplers and pruners by name (registries, so the CLI never dispatches with if/elif).

Samplers are wrapped in ``PerTrialSeed``: the inner sampler is re-created for every trial with a
seed derived from the space's seed and the trial's number. Two workers started with the same
space then never draw the same parameters (their trials have different numbers), while one worker
re-run with the same seed draws the same sequence. This relies on Optuna's samplers keeping their
state in the study's storage, not in the object (true of random, TPE, grid, CMA-ES and NSGA-II).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferkit.search.space import PRUNERS, SAMPLERS, PrunerSpec, SearchSpace


def per_trial_seed(seed: int, number: int) -> int:
    return (seed * 1_000_003 + number * 7_919 + 17) % (2**31 - 1)


def seeded(factory: Callable[[int], Any], seed: int, reseed: bool = True):
    """An Optuna sampler that re-creates ``factory(seed_for_trial)`` before each trial.

    ``reseed=False`` keeps one inner sampler (GridSampler: its seeded shuffle maps trial number
    ``n`` to grid point ``n``, which already keeps workers apart).
    """
    import optuna

    class PerTrialSeed(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._inner = factory(seed)

        def infer_relative_search_space(self, study, trial):
            return self._inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._inner.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._inner.sample_independent(study, trial, param_name, param_distribution)

        def before_trial(self, study, trial) -> None:
            if reseed:
                self._inner = factory(per_trial_seed(seed, trial.number))
            self._inner.before_trial(study, trial)

        def after_trial(self, study, trial, state, values) -> None:
            try:
                self._inner.after_trial(study, trial, state, values)
            except RuntimeError as exc:  # GridSampler calls study.stop() when the grid is used
                if "Study.stop" not in str(exc):  # up; ferkit's worker stops on its budget
                    raise

        def reseed_rng(self) -> None:
            self._inner.reseed_rng()

    return PerTrialSeed()


@SAMPLERS.register("grid")
def grid_sampler(space: SearchSpace, seed: int):
    import optuna

    return seeded(lambda s: optuna.samplers.GridSampler(space.grid(), seed=s), seed, reseed=False)


@SAMPLERS.register("random")
def random_sampler(space: SearchSpace, seed: int):
    import optuna

    return seeded(lambda s: optuna.samplers.RandomSampler(seed=s), seed)


@SAMPLERS.register("tpe")
def tpe_sampler(space: SearchSpace, seed: int):
    import optuna

    # multivariate TPE models interactions (depth × width) that the independent one ignores
    return seeded(lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True,
                                                       n_startup_trials=8), seed)


@SAMPLERS.register("cmaes")
def cmaes_sampler(space: SearchSpace, seed: int):
    import optuna

    # categorical parameters fall back to random sampling inside CMA-ES (Optuna's rule)
    return seeded(lambda s: optuna.samplers.CmaEsSampler(seed=s, warn_independent_sampling=False),
                  seed)


@SAMPLERS.register("nsga2")
def nsga2_sampler(space: SearchSpace, seed: int, population: int = 8):
    import optuna

    return seeded(lambda s: optuna.samplers.NSGAIISampler(seed=s, population_size=population),
                  seed)


@PRUNERS.register("median")
def median_pruner(spec: PrunerSpec):
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials,
                                       n_warmup_steps=spec.warmup_epochs)


@PRUNERS.register("halving")
def halving_pruner(spec: PrunerSpec):
    import optuna

    # successive halving from epoch ``warmup_epochs``: keeps the top third at each rung
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, spec.warmup_epochs),
                                                  reduction_factor=3)


@PRUNERS.register("none")
def no_pruner(spec: PrunerSpec):
    import optuna

    return optuna.pruners.NopPruner()
