"""Training recipes that ship inside the package: ``--config NAME`` and ``ferkit configs``.

The YAML recipes live in the repository's ``configs/`` folder, the single copy; the package
reaches them through ``ferkit/configs`` (a link to that folder in a checkout, real files in an
installed wheel, see ``package-data`` in pyproject.toml), so ``--config default_lite0_64`` works
anywhere and a recipe is never kept twice. Only training recipes are listed: YAML files in
``search/`` (search spaces) or whose top-level keys are not ``TrainConfig`` fields are skipped.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from ferkit.errors import ConfigError

RECIPES_DIR = Path(__file__).resolve().parent / "configs"
#: what ``ferkit train --data DATA`` runs without --model/--config: fine-tune the bundled model
DEFAULT_RECIPE = "finetune_default"
#: sub-folders holding YAML that is not a training recipe
NOT_RECIPES = frozenset({"search"})


@dataclass(frozen=True)
class Recipe:
    name: str  # path under configs/ without .yaml, e.g. "experiments/fast_lite0_56"
    path: Path
    description: str


def _train_keys() -> frozenset[str]:
    from ferkit.train.config import TrainConfig

    return frozenset(f.name for f in dataclasses.fields(TrainConfig))


def _read(path: Path) -> dict | None:
    """The YAML mapping of a training recipe, or None for anything else."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or "model" not in data or not set(data) <= _train_keys():
        return None
    return data


def list_recipes(root: Path | None = None) -> list[Recipe]:
    """Every packaged training recipe, sorted by name (top level first)."""
    base = root or RECIPES_DIR
    if not base.is_dir():
        return []
    out = []
    for path in base.rglob("*.yaml"):
        rel = path.relative_to(base)
        if rel.parts[0] in NOT_RECIPES:
            continue
        data = _read(path)
        if data is None:
            continue
        name = rel.with_suffix("").as_posix()
        out.append(Recipe(name, path, str(data.get("description") or "").strip()))
    return sorted(out, key=lambda r: (r.name.count("/"), r.name))


def resolve_recipe(config: str | os.PathLike[str]) -> Path:
    """An existing YAML path, or the name of a packaged recipe (``default_lite0_64``)."""
    path = Path(config).expanduser()
    if path.is_file():
        return path
    name = str(config).removesuffix(".yaml").removesuffix(".yml")
    name = name.removeprefix("configs/")
    recipes = {r.name: r for r in list_recipes()}
    if name in recipes:
        return recipes[name].path
    close = difflib.get_close_matches(name, list(recipes), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"config {str(config)!r} is neither a file nor a packaged recipe; {hint}"
                      f"run 'ferkit configs' to list the {len(recipes)} packaged recipes")


def default_recipe() -> Path:
    return resolve_recipe(DEFAULT_RECIPE)
