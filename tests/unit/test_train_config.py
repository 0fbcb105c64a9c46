"""TrainConfig: strict keys, range checks, recipes, and the CLI's one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferkit.errors import CheckpointError, ConfigError, UnknownNameError
from ferkit.models import MODELS
from ferkit.recipes import NOT_RECIPES, list_recipes
from ferkit.train import TrainConfig, load_train_config
from ferkit.train.optim import OPTIMIZERS, SCHEDULERS

# every shipped recipe and every configs/experiments/ record must stay loadable (configs/search/
# holds search spaces, not training recipes)
_ROOT = Path(__file__).resolve().parents[2] / "configs"
CONFIGS = sorted(p for p in _ROOT.rglob("*.yaml")
                 if p.relative_to(_ROOT).parts[0] not in NOT_RECIPES)


def test_defaults_are_valid():
    cfg = load_train_config(None, ["data.path=x"])
    assert isinstance(cfg, TrainConfig)
    assert cfg.trainer.epochs >= 1 and cfg.optimizer.lr > 0


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(ConfigError, match=r"did you mean 'trainer\.epochs'"):
        load_train_config(None, ["trainer.epoch=3"])


@pytest.mark.parametrize("override", [
    "optimizer.lr=0", "optimizer.lr=-1", "trainer.epochs=0", "augment.hflip=1.5",
    "augment.erasing=-0.1", "loss.label_smoothing=1", "scheduler.factor=1.5",
    "trainer.batch_size=0", "trainer.precision=8-bit", "augment.erasing_area=[0.5,0.1]",
    "data.train_on=everything", "seed=-1", "model.in_chans=2",
])
def test_out_of_range_values_are_rejected(override):
    with pytest.raises(ConfigError):
        load_train_config(None, [override])


def test_unknown_names_are_rejected_with_suggestions():
    with pytest.raises(UnknownNameError, match="did you mean"):
        load_train_config(None, ["model.name=tinycnn_tset"])
    with pytest.raises(UnknownNameError, match="did you mean 'adam'"):
        load_train_config(None, ["optimizer.name=adamx"])
    with pytest.raises(UnknownNameError):
        load_train_config(None, ["scheduler.name=cosine_annealing_forever"])


def test_crop_modes_are_exclusive():
    with pytest.raises(ConfigError, match="exclusive"):
        load_train_config(None, ["augment.tencrop=true", "augment.random_crop=true"])


def test_every_recipe_file_is_listed_by_ferkit_configs():
    assert {p.resolve() for p in CONFIGS} == {r.path.resolve() for r in list_recipes()}


def test_there_are_recipes():
    names = {p.stem for p in CONFIGS}
    assert {"fast_cpu", "khaireddin_vgg", "khaireddin_vgg_finetune", "alizadeh_shallow",
            "alizadeh_deep", "agrawal", "vulpe_grigorasi", "mobilenetv2_style",
            "efficientnet_frozen", "efficientnet_finetune"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_recipe_loads_and_names_registered_things(path):
    cfg = load_train_config(path, ["data.path=somewhere"])
    assert cfg.model.name in MODELS
    assert cfg.optimizer.name in OPTIMIZERS
    assert cfg.scheduler.name in SCHEDULERS


def test_khaireddin_recipe_matches_the_paper():
    cfg = load_train_config(CONFIGS[0].parent / "khaireddin_vgg.yaml", [])
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.optimizer.nesterov) == ("sgd", 0.01, True)
    assert cfg.optimizer.weight_decay == 1e-4 and cfg.trainer.batch_size == 64
    assert (cfg.scheduler.name, cfg.scheduler.factor, cfg.scheduler.patience) == ("plateau",
                                                                                    0.75, 5)
    assert cfg.augment.tencrop and cfg.augment.erasing == 0.5 and cfg.trainer.epochs == 300


# ---- CLI: bad input → one clear line, exit 1, no traceback -------------------------------------

def _one_line_error(code: int, err: str) -> None:
    assert code == 1
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err


def test_cli_unknown_model(cli, tmp_path):
    code, out, err = cli("train", "--model", "no_such_net", "--data", str(tmp_path))
    _one_line_error(code, err)
    assert "unknown model 'no_such_net'" in err


def test_cli_unknown_config_key(cli, tmp_path):
    code, out, err = cli("train", "--model", "tinycnn_test", "--data", str(tmp_path),
                         "optimizer.weight_decy=0.1")
    _one_line_error(code, err)
    assert "unknown config key" in err and "did you mean" in err


def test_cli_recipe_value_out_of_range(cli, tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("model: {name: tinycnn_test}\noptimizer: {lr: -0.5}\n")
    code, out, err = cli("train", "--config", str(recipe), "--data", str(tmp_path))
    _one_line_error(code, err)
    assert "optimizer.lr" in err and "out of range" in err


def test_cli_missing_data(cli, tmp_path):
    code, out, err = cli("train", "--model", "tinycnn_test", "--data",
                         str(tmp_path / "missing"), "--output", str(tmp_path / "run"))
    _one_line_error(code, err)


@pytest.mark.parametrize(("override", "message"), [
    ("distill.student_augment={downscal: 0.3}", "did you mean 'downscale'"),
    ("distill.student_augment={hflip: 0.5}", "flips, geometry"),
    ("distill.student_augment={noise: 2.0}", "distill.student_augment.noise"),
    ("distill.student_augment={jpeg_quality: [90, 30]}", "distill.student_augment.jpeg_quality"),
])
def test_student_augment_takes_camera_changes_only(override, message):
    with pytest.raises(ConfigError, match=message):
        load_train_config(None, ["distill.teachers=[default]", override])


def test_student_augment_needs_teachers():
    with pytest.raises(ConfigError, match="needs distill.teachers"):
        load_train_config(None, ["distill.student_augment={downscale: 0.3}"])
    cfg = load_train_config(None, ["distill.teachers=[default]",
                                   "distill.student_augment={downscale: 0.3, noise_std: [0, 0.1]}"])
    aug = cfg.distill.student_augment_config()
    assert aug.downscale == 0.3 and aug.noise_std == (0.0, 0.1) and aug.hflip == 0.0
    assert load_train_config(None, []).distill.student_augment_config() is None


def test_view_offset_belongs_to_a_cached_distillation():
    with pytest.raises(ConfigError, match="view_offset moves the schedule of cached"):
        load_train_config(None, ["distill.teachers=[default]", "distill.view_offset=8"])
    with pytest.raises(ConfigError, match="distill.view_offset"):
        load_train_config(None, ["distill.teachers=[default]", "distill.cache=true",
                                 "distill.view_offset=-1"])
    cfg = load_train_config(None, ["distill.teachers=[default]", "distill.cache=true",
                                   "distill.view_offset=8"])
    assert cfg.distill.view_offset == 8


def test_from_init_builds_the_network_the_bundled_model_holds():
    from ferkit.bundled import bundled_summary

    for name in ("default", "fast"):
        cfg = load_train_config("finetune_default", [f"model.init_from={name}"])
        assert cfg.model.name == bundled_summary(name)["model"]
    assert load_train_config("finetune_default").model.init_from == "default"


def test_from_init_resolves_for_python_callers_too():
    from ferkit.bundled import bundled_summary
    from ferkit.train.config import ModelConfig

    cfg = TrainConfig(model=ModelConfig(name="from_init", init_from="fast"))
    cfg.validate_names()  # what train() runs first
    assert cfg.model.name == bundled_summary("fast")["model"]


def test_from_init_needs_an_init_from():
    with pytest.raises(ConfigError, match=r"model\.name='from_init' needs model\.init_from"):
        load_train_config(None, ["model.name=from_init"])


def test_from_init_names_a_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="nope.safetensors.*does not exist"):
        load_train_config(None, ["model.name=from_init",
                                 f"model.init_from={tmp_path / 'nope.safetensors'}"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_committed_input_a_recipe_names_is_in_the_repo(path):
    """A fresh checkout must be able to run every recipe: the stage checkpoints, teachers and
    teacher caches it reads from ``stages/`` (``model.init_from``, ``distill.teachers``,
    ``distill.cache_from``, ``distill.cache_extends``) are committed, not left in a run folder."""
    cfg = load_train_config(path, ["data.path=somewhere"])
    named = [cfg.model.init_from, *cfg.distill.teachers, cfg.distill.cache_from,
             cfg.distill.cache_extends]
    repo = _ROOT.parent
    missing = [p for p in named if p and str(p).startswith("stages/") and not (repo / p).is_file()]
    assert not missing, f"{path.name} names files that are not committed: {missing}"


def test_auto_precision_is_float32_on_the_cpu_and_mixed_on_a_gpu(monkeypatch):
    import torch

    from ferkit.train.runner import lightning_precision

    assert lightning_precision("bf16-mixed") == "bf16-mixed"  # an explicit choice stands
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert lightning_precision("auto") == "32-true"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert lightning_precision("auto") == "16-mixed"
    assert lightning_precision("auto", "cpu") == "32-true"  # a benchmark pinned to the CPU
