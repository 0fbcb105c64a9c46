"""Hyperparameter/architecture search and deep evolution on Optuna (one engine, two front-ends).

``run_search`` (``ferkit search``) and ``run_evolve`` (``ferkit evolve``) share the storage,
study, worker, trial-training and report code in this package.
"""

from ferkit.search.evolve import EvolveResult, run_evolve
from ferkit.search.run import SearchResult, run_search
from ferkit.search.space import SearchSpace, load_space

__all__ = ["EvolveResult", "SearchResult", "SearchSpace", "load_space", "run_evolve",
           "run_search"]
