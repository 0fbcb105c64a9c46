"""Search spaces: a YAML file naming a base training recipe and the parameters to search.

```yaml
description: Vulpe-Grigorași random space, CPU scale
base: configs/vulpe_grigorasi.yaml      # a recipe file or a packaged recipe name
fixed:                                  # applied to every trial (the trial schedule)
  model.name: vulpe_family
  trainer.epochs: 3
  data.limit_train: 6000
params:
  optimizer.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  model.kwargs.first: {type: int, low: 32, high: 256, step: 32}
  model.kwargs.act: {type: categorical, choices: [relu, elu]}
  optimizer.weight_decay: {type: grid, values: [1.0e-8, 1.0e-7, 1.0e-6]}
objectives: [val_acc]                   # or [val_acc, params] / [val_acc, latency]
sampler: tpe                            # grid | random | tpe | cmaes | nsga2
pruner: {name: median, startup_trials: 4, warmup_epochs: 1}
n_trials: 30
seed: 0
```

Every parameter key is a training-config key, architecture options included
(``model.kwargs.depth``), so one file states a paper's search as written. Validation happens on
load: unknown keys, empty ranges, log ranges touching 0 and keys the training config or the model
builder rejects are one-line ``ConfigError``s before any trial runs.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferkit.config import parse_overrides, read_yaml
from ferkit.errors import ConfigError
from ferkit.registry import Registry

PARAM_TYPES = ("float", "int", "categorical", "grid")
OBJECTIVES = {"val_acc": "maximize", "params": "minimize", "latency": "minimize"}
SPACE_KEYS = {"description", "base", "fixed", "params", "objectives", "sampler", "pruner",
              "n_trials", "seed", "default"}
PARAM_KEYS = {"float": {"type", "low", "high", "log", "step"},
              "int": {"type", "low", "high", "log", "step"},
              "categorical": {"type", "choices"}, "grid": {"type", "values"}}

#: named Optuna samplers; each factory takes (space, seed)
SAMPLERS: Registry = Registry("sampler")
#: named Optuna pruners; each factory takes (PrunerSpec)
PRUNERS: Registry = Registry("pruner")


@dataclass(frozen=True)
class ParamSpec:
    """One searched parameter: a training-config key and its distribution."""

    key: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial) -> Any:
        """Ask an Optuna trial for a value (grid params are categorical outside grid search)."""
        if self.type == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_categorical(self.key, list(self.choices))

    def example(self) -> Any:
        """A valid value (the low end or first choice), used to validate the key on load."""
        if self.type == "float":
            return float(self.low)
        if self.type == "int":
            return int(self.low)
        return self.choices[0]


@dataclass(frozen=True)
class PrunerSpec:
    name: str = "median"  # median | halving | none
    startup_trials: int = 4  # trials that always run to the end before pruning starts
    warmup_epochs: int = 1  # epochs a trial always gets before it can be pruned


@dataclass
class SearchSpace:
    """A validated search space; ``fixed`` and ``params`` are training-config keys."""

    params: dict[str, ParamSpec]
    base: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    objectives: tuple[str, ...] = ("val_acc",)
    sampler: str = "tpe"
    pruner: PrunerSpec = field(default_factory=PrunerSpec)
    n_trials: int | None = None
    seed: int = 0
    description: str = ""
    source: str = ""
    default: dict[str, Any] = field(default_factory=dict)  # the hand-set values to beat

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVES[o] for o in self.objectives]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def grid(self) -> dict[str, list[Any]]:
        """The grid for GridSampler: every parameter must be a grid or categorical list."""
        bad = [p.key for p in self.params.values() if p.type not in ("grid", "categorical")]
        if bad:
            raise ConfigError(f"--sampler grid needs every parameter as 'grid' or 'categorical' "
                              f"values; {', '.join(bad)} are ranges: use another sampler")
        return {p.key: list(p.choices) for p in self.params.values()}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())

    def fingerprint(self) -> str:
        """What makes two runs the same study: base, fixed keys, params, objectives."""
        blob = json.dumps({"base": self.base, "fixed": self.fixed,
                           "params": {k: _spec_dict(p) for k, p in sorted(self.params.items())},
                           "objectives": list(self.objectives)}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def overrides(self, values: dict[str, Any]) -> list[str]:
        """``key=value`` overrides for one trial: the fixed settings, then the sampled ones."""
        merged = {**self.fixed, **values}
        return [f"{k}={json.dumps(v)}" for k, v in merged.items()]


def _spec_dict(p: ParamSpec) -> dict[str, Any]:
    return {"type": p.type, "low": p.low, "high": p.high, "log": p.log, "step": p.step,
            "choices": list(p.choices)}


def _where(source: str, key: str) -> str:
    return f"search space {source}: {key}" if source else key


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    return float(value)


def parse_param(key: str, raw: Any, source: str = "") -> ParamSpec:
    """One ``params`` entry → ParamSpec, with every range rule checked."""
    where = _where(source, f"params.{key}")
    if isinstance(raw, list):  # shorthand: a plain list is a grid
        raw = {"type": "grid", "values": raw}
    if not isinstance(raw, dict) or "type" not in raw:
        raise ConfigError(f"{where} must be a mapping with a 'type' ({', '.join(PARAM_TYPES)}) "
                          "or a list of grid values")
    kind = raw["type"]
    if kind not in PARAM_TYPES:
        raise ConfigError(f"{where}: unknown type {kind!r}; use one of {', '.join(PARAM_TYPES)}")
    unknown = set(raw) - PARAM_KEYS[kind]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} for type "
                          f"{kind!r}; allowed: {', '.join(sorted(PARAM_KEYS[kind]))}")
    if kind in ("categorical", "grid"):
        values = raw.get("choices" if kind == "categorical" else "values")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: needs a non-empty list of "
                              f"{'choices' if kind == 'categorical' else 'values'}")
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            raise ConfigError(f"{where}: the list {values!r} repeats a value")
        return ParamSpec(key, kind, choices=tuple(values))
    for name in ("low", "high"):
        if name not in raw:
            raise ConfigError(f"{where}: type {kind!r} needs 'low' and 'high'")
    low, high = _number(raw["low"], f"{where}.low"), _number(raw["high"], f"{where}.high")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log must be true or false, got {log!r}")
    step = raw.get("step")
    if step is not None and _number(step, f"{where}.step") <= 0:
        raise ConfigError(f"{where}.step must be > 0, got {step!r}")
    if not low < high:
        raise ConfigError(f"{where}: empty range low={raw['low']!r} >= high={raw['high']!r}; "
                          "low must be below high")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range must be > 0, got low={raw['low']!r}; raise "
                          "low or drop log: true")
    if log and step is not None:
        raise ConfigError(f"{where}: log and step cannot be combined (Optuna's rule); drop one")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()
                              and (step is None or float(step).is_integer())):
        raise ConfigError(f"{where}: an int range needs integer low/high/step")
    return ParamSpec(key, kind, low, high, log, None if step is None else float(step))


def _flat(mapping: Any, where: str) -> dict[str, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a mapping of config.key: value")
    return {str(k): v for k, v in mapping.items()}


def parse_space(data: dict[str, Any], source: str = "") -> SearchSpace:
    """A loaded YAML mapping → SearchSpace (structure checks; keys are checked by ``validate``)."""
    import ferkit.search.samplers  # noqa: F401 - fills SAMPLERS and PRUNERS
    unknown = set(data) - SPACE_KEYS
    if unknown:
        import difflib

        key = sorted(unknown)[0]
        close = difflib.get_close_matches(key, SPACE_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{_where(source, key)}: unknown key{hint}; allowed: "
                          f"{', '.join(sorted(SPACE_KEYS))}")
    raw_params = data.get("params")
    if not isinstance(raw_params, dict) or not raw_params:
        raise ConfigError(f"{_where(source, 'params')}: a space needs at least one parameter")
    params = {str(k): parse_param(str(k), v, source) for k, v in raw_params.items()}
    objectives = data.get("objectives", ["val_acc"])
    if isinstance(objectives, str):
        objectives = [objectives]
    if (not isinstance(objectives, list) or not objectives or objectives[0] != "val_acc"
            or any(o not in OBJECTIVES for o in objectives) or len(set(objectives)) != len(
                objectives) or len(objectives) > 2):
        raise ConfigError(f"{_where(source, 'objectives')} must be [val_acc] or [val_acc, "
                          f"params] or [val_acc, latency], got {objectives!r}")
    pruner = data.get("pruner") or {}
    if isinstance(pruner, str):
        pruner = {"name": pruner}
    if not isinstance(pruner, dict) or set(pruner) - {"name", "startup_trials", "warmup_epochs"}:
        raise ConfigError(f"{_where(source, 'pruner')} must be a name or a mapping with name, "
                          "startup_trials, warmup_epochs")
    spec = PrunerSpec(**{**PrunerSpec().__dict__, **pruner})
    PRUNERS.get(spec.name)
    for name in ("startup_trials", "warmup_epochs"):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{_where(source, 'pruner.' + name)} must be an integer >= 0")
    n_trials = data.get("n_trials")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                 or n_trials < 1):
        raise ConfigError(f"{_where(source, 'n_trials')} must be an integer >= 1")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{_where(source, 'seed')} must be an integer >= 0")
    sampler = str(data.get("sampler", "tpe"))
    SAMPLERS.get(sampler)
    base = data.get("base")
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"{_where(source, 'base')} must be a recipe path or name")
    return SearchSpace(params=params, base=base, fixed=_flat(data.get("fixed"), "fixed"),
                       objectives=tuple(objectives), sampler=sampler, pruner=spec,
                       n_trials=n_trials, seed=seed, description=str(data.get("description", "")),
                       source=source, default=_flat(data.get("default"), "default"))


def resolve_base(space: SearchSpace) -> Path | None:
    """The base recipe file: a path (relative to the space file first) or a recipe name."""
    if not space.base:
        return None
    candidates = [Path(space.base)]
    if space.source:
        candidates.insert(0, Path(space.source).parent / space.base)
    for c in candidates:
        if c.is_file():
            return c
    from ferkit.recipes import resolve_recipe

    try:
        return resolve_recipe(space.base)  # a packaged recipe name
    except ConfigError:
        raise ConfigError(f"search space {space.source or ''}: base recipe {space.base!r} not "
                          "found (give a training config YAML or a packaged recipe name)"
                          ) from None


def resolve_space(path: str | Path) -> Path:
    """A space file: an existing path, or the name of a space shipped in the package
    (``fast_cpu``, ``vulpe_random``, ``bokanyi_grid``, ``evolve_fer2013``)."""
    import difflib

    from ferkit.recipes import RECIPES_DIR

    p = Path(path).expanduser()
    if p.is_file():
        return p
    name = str(path).removesuffix(".yaml").removeprefix("configs/").removeprefix("search/")
    shipped = {q.stem: q for q in sorted((RECIPES_DIR / "search").glob("*.yaml"))}
    if name in shipped:
        return shipped[name]
    close = difflib.get_close_matches(name, list(shipped), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"search space {str(path)!r} is neither a file nor a shipped space; "
                      f"{hint}shipped: {', '.join(shipped) or 'none'}")


def trial_config(space: SearchSpace, values: dict[str, Any], extra: list[str] | tuple[str, ...]
                 = (), data: str | None = None):
    """The TrainConfig one trial trains: base ← fixed ← sampled values ← CLI ``key=value``."""
    from ferkit.train.config import load_train_config

    overrides = space.overrides(values) + list(extra)
    parse_overrides(overrides)  # syntax errors first, with the override named
    return load_train_config(resolve_base(space), overrides, **({"data.path": data} if data
                                                                 else {}))


def validate(space: SearchSpace, extra: list[str] | tuple[str, ...] = ()) -> None:
    """Build one trial's config and model from example values: bad keys fail here, not later."""
    from ferkit.models import create_model

    values = {k: p.example() for k, p in space.params.items()}
    try:
        if space.default:
            unknown = sorted(set(space.default) - set(space.params))
            if unknown:
                raise ConfigError(f"default sets {', '.join(unknown)}, which are not searched "
                                  "parameters; put fixed settings under 'fixed'")
            trial_config(space, {**values, **space.default}, extra)
        cfg = trial_config(space, values, extra)
    except ConfigError as exc:
        raise ConfigError(f"search space {space.source}: {exc}") from None
    kwargs = dict(cfg.model.kwargs)
    try:
        create_model(cfg.model.name, num_classes=2, in_chans=cfg.model.in_chans or 1,
                     pretrained=False, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"search space {space.source}: model {cfg.model.name!r} rejects "
                          f"these options ({exc}); check the model.kwargs.* keys") from None
    except ConfigError as exc:
        raise ConfigError(f"search space {space.source}: {exc}") from None


def load_space(path: str | Path, *, sampler: str | None = None) -> SearchSpace:
    """Read and validate a search-space YAML file (or a shipped space's name)."""
    path = resolve_space(path)
    data = read_yaml(path)
    if sampler is not None:
        data = {**data, "sampler": sampler}
    space = parse_space(data, str(path))
    validate(space)
    return space
