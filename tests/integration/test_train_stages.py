"""Fine-tune stage (init_from, train+val), crop training and its TTA, balancing options."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ferkit.checkpoint import read_meta
from ferkit.data.synthetic import make_folder_dataset
from ferkit.errors import ConfigError
from ferkit.eval import evaluate
from ferkit.train import load_train_config, train

FAST = ["model.kwargs={input_size: 24, width: 8}", "trainer.progress=false",
        "optimizer.lr=0.01", "trainer.batch_size=16"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=6, seed=5)


@pytest.fixture(scope="module")
def first_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "first"
    return train(_cfg(synth, out, "trainer.epochs=2", "scheduler.name=plateau",
                      "trainer.early_stopping=3"))


def _cfg(data: Path, out: Path, *extra: str):
    return load_train_config(None, [*FAST, *extra], **{
        "model.name": "tinycnn_test", "data.path": str(data), "output": str(out)})


def test_finetune_on_train_plus_val_continues_from_checkpoint(synth, first_run, tmp_path):
    t0 = read_meta(first_run.best_checkpoint).temperature
    cfg = _cfg(synth, tmp_path / "ft", f"model.init_from={first_run.best_checkpoint}",
               "data.train_on=train+val", "scheduler.name=cosine", "trainer.epochs=2",
               "optimizer.lr=0.0001", "scheduler.warmup_epochs=0.5")
    result = train(cfg)
    assert [r["val_acc"] for r in result.history] == [None, None]
    assert result.eval_report is None  # no held-out split left
    meta = read_meta(result.best_checkpoint)
    assert meta.temperature == pytest.approx(t0)  # not refitted on training data
    assert meta.extra["train_on"] == "train+val"
    assert meta.config["model"]["init_from"] == str(first_run.best_checkpoint)


def test_plateau_on_val_without_validation_is_a_config_error(synth, first_run, tmp_path):
    cfg = _cfg(synth, tmp_path / "bad", "data.train_on=train+val", "scheduler.name=plateau")
    with pytest.raises(ConfigError, match="scheduler.monitor=val_acc needs a validation split"):
        train(cfg)


def test_init_from_other_model_is_a_config_error(synth, first_run, tmp_path):
    cfg = load_train_config(None, ["trainer.progress=false",
                                   f"model.init_from={first_run.best_checkpoint}"], **{
        "model.name": "alizadeh_shallow_test", "data.path": str(synth),
        "output": str(tmp_path / "x")})
    with pytest.raises(ConfigError, match="holds model 'tinycnn_test'"):
        train(cfg)


def test_tencrop_training_balancing_and_tencrop_eval(synth, tmp_path):
    cfg = _cfg(synth, tmp_path / "crop", "augment.tencrop=true", "augment.crop_fraction=0.8",
               "augment.erasing=0.5", "augment.rotation=10", "data.balance=sampler",
               "trainer.epochs=1", "scheduler.name=onecycle", "trainer.final_eval=false",
               "loss.label_smoothing=0.1", "trainer.gradient_clip=1.0")
    result = train(cfg)
    meta = read_meta(result.best_checkpoint)
    assert meta.extra["crop_fraction"] == pytest.approx(0.8)
    rep = evaluate(result.best_checkpoint, synth, split="val", tta="tencrop", progress=False)
    assert rep.num_samples == 42 and 0 <= rep.accuracy <= 1
    cfg = _cfg(synth, tmp_path / "lw", "data.balance=loss_weights", "augment.random_crop=true",
               "augment.cutmix=1.0", "trainer.epochs=1", "trainer.final_eval=false")
    assert train(cfg).epochs == 1


def test_init_from_at_a_new_input_size_keeps_the_weights(synth, first_run, tmp_path):
    """A faster student at a smaller input size starts from the teacher's weights."""
    from ferkit.checkpoint import load_checkpoint
    from ferkit.train.runner import build_model

    cfg = _cfg(synth, tmp_path / "small", f"model.init_from={first_run.best_checkpoint}",
               "model.kwargs={input_size: 16, width: 8}")
    before, meta = load_checkpoint(first_run.best_checkpoint)
    model, _, _ = build_model(cfg, tuple(meta.labels))
    assert model.ferkit_info.input_size == 16
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all((before[k] == after[k]).all() for k in before)
    bad = _cfg(synth, tmp_path / "bad", f"model.init_from={first_run.best_checkpoint}",
               "model.kwargs={input_size: 24, width: 16}", "trainer.epochs=1")
    with pytest.raises(ConfigError, match="change the shapes of the weights"):
        train(bad)


def test_distillation_from_a_larger_input_teacher(synth, first_run, tmp_path, monkeypatch):
    """A student at 16 px learns from a 24 px teacher; teachers never enter the checkpoint."""
    from ferkit.checkpoint import load_checkpoint
    from ferkit.train.module import FerModule
    from ferkit.train.runner import build_model

    calls = []
    real = FerModule.distill_loss
    monkeypatch.setattr(FerModule, "distill_loss",
                        lambda self, s, t: calls.append(t.shape) or real(self, s, t))

    cfg = _cfg(synth, tmp_path / "kd", f"distill.teachers=[{first_run.best_checkpoint}]",
               "distill.alpha=0.7", "distill.temperature=3", "model.kwargs={input_size: 16}",
               "trainer.epochs=1", "trainer.final_eval=false")
    result = train(cfg)
    state, meta = load_checkpoint(result.best_checkpoint)
    assert meta.info.input_size == 16 and meta.config["distill"]["alpha"] == 0.7
    assert all(not k.startswith("_teachers") for k in state)
    assert calls and calls[0][1] == 7  # every training step had teacher logits
    model, _, _ = build_model(cfg, tuple(meta.labels))
    module = FerModule(model, cfg)
    logits = torch.randn(4, 7)
    assert module.distill_loss(logits, logits).item() == pytest.approx(0.0, abs=1e-6)
    assert module.distill_loss(logits, -logits).item() > 0.1


def test_live_teachers_in_onnx_runtime_give_torch_logits(synth, first_run, tmp_path,
                                                         monkeypatch):
    """distill.runtime=onnx runs the teachers in ONNX Runtime during training: the student
    gets the logits torch would give on the same augmented batch."""
    from ferkit.train.module import FerModule
    from ferkit.train.teachers import OnnxTeacher

    seen: dict[str, list] = {"torch": [], "onnx": []}
    kinds: list[str] = []
    real = FerModule.distill_loss
    for runtime in seen:
        def record(self, s, t, runtime=runtime):
            if not seen[runtime]:
                kinds.append(type(self._teachers[0]).__name__)
            seen[runtime].append(t.detach().clone())
            return real(self, s, t)

        monkeypatch.setattr(FerModule, "distill_loss", record)
        train(_cfg(synth, tmp_path / runtime, f"distill.teachers=[{first_run.best_checkpoint}]",
                   "distill.alpha=0.7", "trainer.epochs=1", "trainer.final_eval=false",
                   "trainer.fit_temperature=false", f"distill.runtime={runtime}"))
    assert kinds[1] == OnnxTeacher.__name__ and kinds[0] != kinds[1]
    first_torch, first_onnx = seen["torch"][0], seen["onnx"][0]
    assert first_torch.abs().max() > 0.1
    assert torch.allclose(first_onnx, first_torch, atol=1e-4)


def test_auto_runtime_falls_back_to_torch_when_a_teacher_does_not_export(first_run,
                                                                        monkeypatch):
    import ferkit.train.teachers as teachers_mod
    from ferkit.errors import ExportError

    def fails(*a, **kw):
        raise ExportError("ONNX export failed (no exporter for this network)")

    monkeypatch.setattr(teachers_mod, "OnnxTeacher", fails)
    path = str(first_run.best_checkpoint)
    loaded = teachers_mod.load_teachers([path], _info(path))
    placed, _ = teachers_mod.place_teachers("auto", [path], loaded, torch.device("cpu"), False)
    assert isinstance(placed[0], torch.nn.Module)
    with pytest.raises(ExportError):
        teachers_mod.place_teachers("onnx", [path], loaded, torch.device("cpu"), False)


def _info(path: str):
    from ferkit.checkpoint import read_meta

    return read_meta(path).info


def test_distillation_teacher_errors(synth, tmp_path):
    from ferkit.errors import CheckpointError

    with pytest.raises(ConfigError, match="distill.alpha"):
        _cfg(synth, tmp_path / "a", "distill.alpha=1.5")
    cfg = _cfg(synth, tmp_path / "b", f"distill.teachers=[{tmp_path / 'missing.safetensors'}]",
               "trainer.epochs=1")
    with pytest.raises(CheckpointError):
        train(cfg)
