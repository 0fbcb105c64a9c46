"""Deep evolution (Dufourq & Bassett 2020): NSGA-II places K nose-relative patches.

Genome: ``k`` (the number of patches, evolvable within bounds) and, for each of ``k_max`` slots,
``dx``, ``dy`` (relative to the nose) and ``size`` in input pixels; optional genes pick the shared
CNN's widths, the FC width and the patch resolution. All ``k_max`` slots are always sampled and
only the first ``k`` are used, so the search space stays fixed and Optuna's NSGA-II crossover and
mutation act on every gene (unused slots are carried like recessive genes).

Objectives: validation accuracy (max) and trainable parameters (min). Every genome trains with the
same fixed seed and short schedule through ``ferkit train``'s ``train()``, on the same storage,
study and worker engine as ``ferkit search`` (``ferkit.search.study``).

The nose rule: on aligned 48×48 crops (FER2013) the nose sits at the canonical point the model
records (``ferkit_info.extra['nose']``); on photos ``ferkit predict`` moves each crop so that the
detector's / dlib's nose landmark lands on that point (``ferkit.faces.nose``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferkit.config import read_yaml
from ferkit.errors import ConfigError
from ferkit.io import atomic_write_json
from ferkit.search import storage as storage_mod
from ferkit.search.objective import TrialSetup, train_trial
from ferkit.search.report import write_best_recipe, write_trials_csv
from ferkit.search.space import ParamSpec, PrunerSpec, SearchSpace, trial_config
from ferkit.search.study import StudyCounts, count_trials, run_worker

EVOLVE_KEYS = {"description", "base", "train", "genome", "population", "generations", "seed",
               "select", "retrain", "nose"}
GENOME_KEYS = {"k", "dx", "dy", "size", "step", "widths", "hidden", "patch_size"}
NOSE_RULES = ("canonical", "landmarks")


@dataclass
class Genome:
    """Bounds of the genes (pixels of the model's input, relative to the nose)."""

    k: tuple[int, int] = (1, 4)
    dx: tuple[int, int] = (-16, 16)
    dy: tuple[int, int] = (-18, 14)
    size: tuple[int, int] = (8, 24)
    step: int = 2
    widths: list[list[int]] = field(default_factory=lambda: [[32, 64]])
    hidden: list[int] = field(default_factory=lambda: [128])
    patch_size: list[int] = field(default_factory=lambda: [8])


@dataclass
class EvolveSpace:
    genome: Genome
    train: dict[str, Any]
    retrain: dict[str, Any]
    base: str | None = None
    population: int = 8
    generations: int = 4
    seed: int = 0
    max_param_ratio: float = 0.10  # choose the most accurate genome at <= this x twin params
    nose: str = "canonical"
    description: str = ""
    source: str = ""

    @property
    def input_size(self) -> int:
        return int(self.train.get("model.kwargs.input_size", 48))

    @property
    def nose_xy(self) -> tuple[float, float]:
        """The canonical nose of an aligned crop at the model's input size (FER2013: 24, 28)."""
        return 24.0 * self.input_size / 48, 28.0 * self.input_size / 48

    def search_space(self) -> SearchSpace:
        """The genes as a SearchSpace: gives the study its identity and the trial its config."""
        g = self.genome
        params = {"k": ParamSpec("k", "int", g.k[0], g.k[1])}
        for i in range(g.k[1]):
            params[f"dx{i}"] = ParamSpec(f"dx{i}", "int", g.dx[0], g.dx[1], step=g.step)
            params[f"dy{i}"] = ParamSpec(f"dy{i}", "int", g.dy[0], g.dy[1], step=g.step)
            params[f"size{i}"] = ParamSpec(f"size{i}", "int", g.size[0], g.size[1], step=g.step)
        for name in ("widths", "hidden", "patch_size"):
            choices = [json.dumps(c) if name == "widths" else c for c in getattr(g, name)]
            if len(choices) > 1:
                params[name] = ParamSpec(name, "categorical", choices=tuple(choices))
        return SearchSpace(params=params, base=self.base, fixed=dict(self.train),
                           objectives=("val_acc", "params"), sampler="nsga2",
                           pruner=PrunerSpec("none"), n_trials=self.population * self.generations,
                           seed=self.seed, description=self.description, source=self.source)


def _pair(value: Any, where: str, lo: int | None = None) -> tuple[int, int]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)):
        raise ConfigError(f"{where} must be [min, max] integers, got {value!r}")
    a, b = int(value[0]), int(value[1])
    if a > b:
        raise ConfigError(f"{where}: min {a} is above max {b}")
    if lo is not None and a < lo:
        raise ConfigError(f"{where}: min must be >= {lo}, got {a}")
    return a, b


def _choices(value: Any, where: str, kind: str) -> list:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list of {kind}")
    return value


def parse_genome(raw: Any, where: str = "genome") -> Genome:
    if raw is None:
        return Genome()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    unknown = set(raw) - GENOME_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(sorted(GENOME_KEYS))}")
    g = Genome()
    if "k" in raw:
        k = _pair(raw["k"], f"{where}.k")
        if k[0] < 1:
            raise ConfigError(f"{where}.k: K = {k[0]} patches is impossible; a genome needs at "
                              "least 1 patch (set k: [1, N])")
        if k[1] > 16:
            raise ConfigError(f"{where}.k: at most 16 patches, got {k[1]}")
        g.k = k
    for name in ("dx", "dy"):
        if name in raw:
            setattr(g, name, _pair(raw[name], f"{where}.{name}"))
    if "size" in raw:
        g.size = _pair(raw["size"], f"{where}.size", lo=2)
    if "step" in raw:
        step = raw["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ConfigError(f"{where}.step must be an integer >= 1, got {step!r}")
        g.step = step
    if "widths" in raw:
        g.widths = _choices(raw["widths"], f"{where}.widths", "width lists like [32, 64]")
    if "hidden" in raw:
        g.hidden = _choices(raw["hidden"], f"{where}.hidden", "integers")
    if "patch_size" in raw:
        g.patch_size = _choices(raw["patch_size"], f"{where}.patch_size", "integers")
    return g


def check_fits(g: Genome, input_size: int, nose: tuple[float, float], where: str) -> None:
    """Every genome in the bounds must place its patches' centres inside the input image."""
    if g.size[1] > input_size:
        raise ConfigError(f"{where}.size: max {g.size[1]} px does not fit the {input_size} px "
                          f"input; use at most {input_size}")
    for name, axis in (("dx", 0), ("dy", 1)):
        lo, hi = getattr(g, name)
        if nose[axis] + lo < 0 or nose[axis] + hi > input_size:
            raise ConfigError(
                f"{where}.{name}: [{lo}, {hi}] moves patch centres outside the {input_size} px "
                f"input (nose at {nose[axis]:g}); keep it within [{-nose[axis]:g}, "
                f"{input_size - nose[axis]:g}]")


def load_evolve_space(path: str | os.PathLike[str] | None, *, population: int | None = None,
                      generations: int | None = None) -> EvolveSpace:
    """Read and validate an evolve space (defaults for anything the file leaves out)."""
    if path is not None:
        from ferkit.search.space import resolve_space

        path = resolve_space(path)
    data = read_yaml(path) if path is not None else {}
    where = f"evolve space {path}" if path else "evolve"
    unknown = set(data) - EVOLVE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(sorted(EVOLVE_KEYS))}")
    genome = parse_genome(data.get("genome"), f"{where}: genome")
    pop = population if population is not None else data.get("population", 8)
    gens = generations if generations is not None else data.get("generations", 4)
    if isinstance(pop, bool) or not isinstance(pop, int) or pop < 2:
        raise ConfigError(f"{where}: population must be an integer >= 2 (NSGA-II needs parents "
                          f"to cross), got {pop!r}")
    if isinstance(gens, bool) or not isinstance(gens, int) or gens < 1:
        raise ConfigError(f"{where}: generations must be an integer >= 1, got {gens!r}")
    select = data.get("select") or {}
    ratio = select.get("max_param_ratio", 0.10) if isinstance(select, dict) else None
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
        raise ConfigError(f"{where}: select.max_param_ratio must be in (0, 1], got {ratio!r}")
    nose = data.get("nose", "canonical")
    if nose not in NOSE_RULES:
        raise ConfigError(f"{where}: nose must be one of {', '.join(NOSE_RULES)}, got {nose!r}")
    train = {"model.name": "patch_cnn", **(data.get("train") or {})}
    space = EvolveSpace(genome=genome, train=train, retrain=dict(data.get("retrain") or {}),
                        base=data.get("base"), population=pop, generations=gens,
                        seed=int(data.get("seed", 0)), max_param_ratio=float(ratio), nose=nose,
                        description=str(data.get("description", "")),
                        source=str(path) if path else "")
    check_fits(genome, space.input_size, space.nose_xy, f"{where}: genome")
    return space


def genome_overrides(space: EvolveSpace, values: dict[str, Any]) -> dict[str, Any]:
    """Gene values → the training-config keys of one patch model."""
    g = space.genome
    k = int(values["k"])
    patches = [[values[f"dx{i}"], values[f"dy{i}"], values[f"size{i}"]] for i in range(k)]
    widths = json.loads(values["widths"]) if "widths" in values else g.widths[0]
    return {"model.name": "patch_cnn", "model.kwargs.patches": patches,
            "model.kwargs.widths": widths,
            "model.kwargs.hidden": values.get("hidden", g.hidden[0]),
            "model.kwargs.patch_size": values.get("patch_size", g.patch_size[0])}


def already_evaluated(study, space: EvolveSpace, over: dict[str, Any]):
    """A completed trial whose *expressed* genome (the first k patches and the CNN genes) equals
    ``over``: NSGA-II often breeds a child identical to a parent, and with a fixed seed and
    schedule its evaluation would repeat the parent's exactly, so it is not trained again."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if genome_overrides(space, t.params) == over:
            return t
    return None


def twin_overrides(over: dict[str, Any], input_size: int = 48, drop: float = 0.3
                   ) -> dict[str, Any]:
    """The full-image twin of a genome: the same CNN widths and FC head over the whole face."""
    return {"model.name": "patch_cnn_full", "model.kwargs": {
        "widths": over["model.kwargs.widths"], "hidden": over["model.kwargs.hidden"],
        "input_size": input_size, "drop": drop}}


def twin_params(over: dict[str, Any], input_size: int = 48, num_classes: int = 7) -> int:
    from ferkit.models import count_params, create_model

    return count_params(create_model("patch_cnn_full", num_classes=num_classes,
                                     widths=over["model.kwargs.widths"],
                                     hidden=over["model.kwargs.hidden"], input_size=input_size))


@dataclass
class EvolveResult:
    study: str
    storage: str
    output: Path
    counts: StudyCounts
    generations: list[dict[str, Any]]
    pareto: list[dict[str, Any]]
    chosen: dict[str, Any] | None
    winner: dict[str, Any] | None
    files: dict[str, str] = field(default_factory=dict)
    worker_trials: int = 0
    worker_wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        return to_jsonable(dataclasses.asdict(self))


def _generation(t, population: int) -> int:
    for key, value in t.system_attrs.items():
        if key.endswith(":generation"):
            return int(value)
    return t.number // population


def generation_table(study, population: int) -> list[dict[str, Any]]:
    """Per generation: best accuracy so far and the median parameters of its genomes."""
    import statistics

    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    by_gen: dict[int, list] = {}
    for t in done:
        by_gen.setdefault(_generation(t, population), []).append(t)
    rows, best = [], 0.0
    for gen in sorted(by_gen):
        trials = by_gen[gen]
        best = max(best, max(t.values[0] for t in trials))
        rows.append({"generation": gen, "genomes": len(trials),
                     "best_val_acc": round(best, 4),
                     "gen_best_val_acc": round(max(t.values[0] for t in trials), 4),
                     "median_params": int(statistics.median(t.values[1] for t in trials))})
    return rows


def choose(space: EvolveSpace, pareto: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most accurate front genome with at most ``max_param_ratio`` of its twin's params;
    the most accurate one overall when none is that small."""
    if not pareto:
        return None
    small = [p for p in pareto if p["param_ratio"] <= space.max_param_ratio]
    return max(small or pareto, key=lambda p: (p["val_acc"], -p["params"]))


def run_evolve(space: EvolveSpace | str | os.PathLike[str] | None, data: str, *,
               study: str = "evolve", storage: str | None = None,
               output: str | os.PathLike[str] | None = None,
               population: int | None = None, generations: int | None = None,
               overrides: list[str] | tuple[str, ...] = (), retrain: bool = True,
               on_trial=None) -> EvolveResult:
    """Evolve patch genomes on ``data``, write the front and maps, retrain the chosen genome."""
    if not isinstance(space, EvolveSpace):
        space = load_evolve_space(space, population=population, generations=generations)
    if not data:
        raise ConfigError("no data: pass --data PATH")
    from ferkit.search.run import live_csv, make_study

    out = Path(output) if output is not None else Path("runs") / "evolve" / study
    out.mkdir(parents=True, exist_ok=True)
    sspace = space.search_space()
    extra = tuple(overrides)
    trial_config(sspace, genome_overrides(space, {k: p.example() for k, p in
                                                  sspace.params.items()}), extra, data)
    optuna_study = make_study(sspace, study, storage, out, "nsga2",
                              {"population": space.population})
    setup = TrialSetup(space=sspace, data=data, output=out, extra=extra, prune=False)

    def objective(trial, values):
        over = genome_overrides(space, values)
        same = already_evaluated(trial.study, space, over)
        if same is not None:  # same expressed genome, same seed and schedule: same result
            trial.set_user_attr("ferkit_same_as", same.number)
            trial.set_user_attr("params", same.user_attrs.get("params"))
            return tuple(same.values)
        return train_trial(setup, trial, over)

    stats = run_worker(
        optuna_study, suggest=lambda t: {k: p.suggest(t) for k, p in sspace.params.items()},
        objective=objective,
        budget=space.population * space.generations, on_trial=live_csv(out, on_trial))
    return _finish(space, optuna_study, study, storage, out, data, extra, stats, retrain)


def _front(space: EvolveSpace, study) -> list[dict[str, Any]]:
    rows, seen = [], []
    for t in sorted(study.best_trials, key=lambda t: t.number):
        over = genome_overrides(space, t.params)
        if over in seen:  # the same expressed genome bred twice
            continue
        seen.append(over)
        tp = twin_params(over, space.input_size)
        rows.append({"number": t.number, "val_acc": t.values[0], "params": int(t.values[1]),
                     "twin_params": tp, "param_ratio": round(t.values[1] / tp, 4),
                     "patches": over["model.kwargs.patches"], "genes": dict(t.params)})
    return sorted(rows, key=lambda r: r["params"])


def _finish(space: EvolveSpace, study, name: str, storage: str | None, out: Path, data: str,
            extra: tuple[str, ...], stats, retrain: bool) -> EvolveResult:
    from ferkit.search import evolve_plots

    counts = count_trials(study)
    files = {"trials_csv": str(write_trials_csv(study, out / "trials.csv"))}
    gens = generation_table(study, space.population)
    front = _front(space, study) if counts.complete else []
    chosen = choose(space, front)
    atomic_write_json(out / "pareto.json", {"front": front, "chosen": chosen,
                                            "generations": gens})
    files["pareto_json"] = str(out / "pareto.json")
    files.update(evolve_plots.write_all(study, space, front, chosen, gens, out, data))
    winner = None
    if chosen is not None:
        over = {**genome_overrides(space, chosen["genes"]), **space.retrain}
        cfg = trial_config(space.search_space(), over, extra, data)
        from ferkit.config import to_dict

        recipe = to_dict(cfg)
        recipe["output"] = ""
        header = (f"genome of trial {chosen['number']} (study {name!r}): {len(chosen['patches'])}"
                  f" patches, {chosen['params']:,} parameters ({chosen['param_ratio']:.1%} of its"
                  f" full-image twin),\nval accuracy {chosen['val_acc']:.4f} after the short "
                  "evolution schedule; this recipe uses the retrain schedule.\n"
                  "Train it: ferkit train --config evolved.yaml --data PATH")
        files["recipe"] = str(write_best_recipe(out / "evolved.yaml", recipe, {}, header))
        if retrain:
            winner = retrain_winner(cfg, out / "winner", space.nose)
            files["winner"] = winner["checkpoint"]
    result = EvolveResult(study=name, storage=storage_mod.describe(storage, out), output=out,
                          counts=counts, generations=gens, pareto=front, chosen=chosen,
                          winner=winner, files=files, worker_trials=stats.ran,
                          worker_wall_s=stats.wall_s, errors=stats.errors)
    atomic_write_json(out / "summary.json", result.to_dict())
    return result


def retrain_winner(cfg, run_dir: Path, nose_rule: str) -> dict[str, Any]:
    """Train the chosen genome with the retrain schedule into a normal ferkit checkpoint."""
    import shutil

    from ferkit.train.runner import train

    if run_dir.exists() and not (run_dir / "result.json").exists():
        shutil.rmtree(run_dir)  # an interrupted retrain: start it again
    if (run_dir / "result.json").exists():
        done = json.loads((run_dir / "result.json").read_text())
        return {"checkpoint": str(run_dir / "best.safetensors"),
                "val_acc": done.get("best_val_acc"), "epochs": done.get("epochs")}
    cfg.output = str(run_dir)
    cfg.trainer.progress = False
    result = train(cfg, progress=False)
    _record_nose_rule(result.best_checkpoint, nose_rule)
    return {"checkpoint": str(result.best_checkpoint), "val_acc": result.best_val_acc,
            "epochs": result.epochs, "wall_s": result.wall_time_s}


def _record_nose_rule(path: Path, rule: str) -> None:
    from ferkit.checkpoint import load_model, save_checkpoint

    model, meta = load_model(path)
    meta.extra = {**meta.extra, "nose_rule": rule}
    save_checkpoint(path, model.state_dict(), meta)
