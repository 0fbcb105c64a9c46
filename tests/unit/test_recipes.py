"""Packaged recipes: --config NAME, 'ferkit configs', the default fine-tuning recipe."""

from __future__ import annotations

import json

import pytest

from ferkit.errors import ConfigError
from ferkit.recipes import DEFAULT_RECIPE, RECIPES_DIR, list_recipes, resolve_recipe
from ferkit.train import load_train_config


def test_recipes_ship_inside_the_package():
    names = {r.name for r in list_recipes()}
    assert RECIPES_DIR.parent.name == "ferkit"
    assert {"default_lite0_64", "fast_cpu", DEFAULT_RECIPE, "experiments/fast_lite0_56"} <= names
    assert all(r.description for r in list_recipes())


def test_search_spaces_and_other_yaml_are_not_recipes(tmp_path):
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "lite0.yaml").write_text("model: {name: x}\nparams: {lr: [1, 2]}\n")
    (tmp_path / "notes.yaml").write_text("hello: world\n")
    (tmp_path / "r.yaml").write_text("description: a recipe\nmodel: {name: tinycnn_test}\n")
    assert [r.name for r in list_recipes(tmp_path)] == ["r"]


def test_config_by_name_or_path():
    by_name = load_train_config("default_lite0_64", ["data.path=x"])
    assert by_name.model.name == "efficientnet_lite0"
    assert resolve_recipe("configs/fast_cpu.yaml").name == "fast_cpu.yaml"
    with pytest.raises(ConfigError, match="did you mean 'default_lite0_64'"):
        resolve_recipe("default_lite0_46")


def test_default_recipe_fine_tunes_the_bundled_model():
    from ferkit.bundled import bundled_summary

    cfg = load_train_config(DEFAULT_RECIPE, ["data.path=x"])
    shipped = bundled_summary("default")["model"]
    assert cfg.model.init_from == "default" and cfg.model.name == shipped


def test_configs_cli_one_line_each(cli):
    code, out, _ = cli("configs")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(list_recipes())
    assert any(line.startswith(DEFAULT_RECIPE) and "(default)" in line for line in lines)
    code, out, _ = cli("configs", "--json")
    assert json.loads(out)["default"] == DEFAULT_RECIPE
