"""Search-space and evolve-space files: the shipped spaces load, bad ones fail in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ferkit.errors import ConfigError, FerkitError
from ferkit.models import count_params, create_model
from ferkit.search.evolve import load_evolve_space
from ferkit.search.space import load_space

SPACES = sorted((Path(__file__).resolve().parents[2] / "configs" / "search").glob("*.yaml"))
SEARCH_SPACES = [p for p in SPACES if not p.name.startswith("evolve")]
EVOLVE_SPACES = [p for p in SPACES if p.name.startswith("evolve")]

BASE = {"fixed": {"model.name": "tinycnn_test"},
        "params": {"optimizer.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("path", SEARCH_SPACES, ids=lambda p: p.stem)
def test_shipped_search_spaces_load(path):
    space = load_space(path)
    assert space.params and space.default
    assert set(space.default) <= set(space.params)


@pytest.mark.parametrize("path", EVOLVE_SPACES, ids=lambda p: p.stem)
def test_shipped_evolve_spaces_load(path):
    space = load_evolve_space(path)
    assert space.population >= 2 and space.genome.k[0] >= 1


def test_bokanyi_grid_has_27_points():
    path = next(p for p in SEARCH_SPACES if p.stem == "bokanyi_grid")
    assert load_space(path).grid_size() == 27


def test_vulpe_space_paper_member_has_the_published_count():
    path = next(p for p in SEARCH_SPACES if p.stem == "vulpe_random")
    space = load_space(path)
    kwargs = {k.split(".")[-1]: v for k, v in space.default.items()}
    assert count_params(create_model("vulpe_family", **kwargs)) == 5_170_503
    assert count_params(create_model("vulpe_family")) == 5_170_503


@pytest.mark.parametrize("change, message", [
    ({"params": {"optimizer.lr": {"type": "float", "low": 0.1, "high": 0.01}}}, "empty range"),
    ({"params": {"optimizer.lr": {"type": "float", "low": 0.1, "high": 0.1}}}, "empty range"),
    ({"params": {"optimizer.lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}},
     "log range must be > 0"),
    ({"params": {"optimizer.lr": {"type": "float", "low": 0.01, "hihg": 0.1}}}, "unknown key"),
    ({"params": {"optimizer.lr": {"type": "gaussian"}}}, "unknown type"),
    ({"params": {"optimizer.lr": {"type": "categorical", "choices": []}}}, "non-empty"),
    ({"params": {"optimizer.lrr": [0.1, 0.2]}}, "optimizer.lrr"),
    ({"params": {"model.kwargs.nosuch": [1, 2]}}, "unknown argument"),
    ({"parms": {}}, "did you mean 'params'"),
    ({"params": {}}, "at least one parameter"),
    ({"sampler": "anneal"}, "unknown sampler"),
    ({"objectives": ["params"]}, "objectives"),
    ({"pruner": {"name": "hyperband2"}}, "unknown pruner"),
    ({"n_trials": 0}, "n_trials"),
    ({"default": {"optimizer.momentum": 0.5}}, "not searched"),
])
def test_bad_spaces_are_one_line_config_errors(tmp_path, change, message):
    with pytest.raises(FerkitError, match=message) as info:
        load_space(_write(tmp_path, {**BASE, **change}))
    assert "\n" not in str(info.value)


def test_grid_sampler_needs_lists(tmp_path):
    space = load_space(_write(tmp_path, BASE))
    with pytest.raises(ConfigError, match="grid"):
        space.grid()


@pytest.mark.parametrize("genome, extra, message", [
    ({"k": [0, 3]}, {}, "K = 0"),
    ({"size": [8, 60]}, {}, "does not fit the 48 px input"),
    ({"dx": [-30, 8]}, {}, "outside the 48 px input"),
    ({"k": [3, 1]}, {}, "above max"),
    ({"colour": 1}, {}, "unknown key"),
    ({}, {"population": 1}, "population must be an integer >= 2"),
    ({}, {"generations": 0}, "generations"),
    ({}, {"nose": "chin"}, "nose must be one of"),
])
def test_bad_evolve_spaces(tmp_path, genome, extra, message):
    path = tmp_path / "evolve.yaml"
    path.write_text(yaml.safe_dump({"genome": genome, **extra}))
    with pytest.raises(ConfigError, match=message):
        load_evolve_space(path)


def test_shipped_spaces_load_by_name():
    assert load_space("fast_cpu").params
    assert load_evolve_space("evolve_fer2013").genome.k[0] == 1
    with pytest.raises(ConfigError, match="did you mean 'fast_cpu'"):
        load_space("fast_cpuu")
