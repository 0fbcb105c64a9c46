"""distill.cache: teachers run once on K fixed views; the student trains on exactly those pixels,
and --resume reuses RUN/teacher_cache.npz."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from ferkit.checkpoint import load_checkpoint, load_model
from ferkit.data.synthetic import make_folder_dataset
from ferkit.errors import ConfigError
from ferkit.interrupt import Interrupted
from ferkit.train import load_train_config, train
from ferkit.train.module import FerModule
from ferkit.train.runner import load_resume_config
from ferkit.train.teacher_cache import CACHE_FILE

FAST = ["model.kwargs={input_size: 16, width: 4}", "trainer.progress=false",
        "optimizer.lr=0.02", "scheduler.name=none", "trainer.batch_size=8",
        "trainer.ckpt_every_n_steps=0", "trainer.final_eval=false",
        "trainer.fit_temperature=false"]
AUG = ["augment.rotation=10", "augment.gamma=0.3", "augment.blur=0.5", "augment.jpeg=0.5",
       "augment.erasing=0.3"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=6, seed=3)


@pytest.fixture(scope="module")
def teacher(synth, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "run"
    return train(_cfg(synth, out, "trainer.epochs=1")).best_checkpoint


def _cfg(data: Path, out: Path, *extra: str):
    return load_train_config(None, [*FAST, *extra], **{
        "model.name": "tinycnn_test", "data.path": str(data), "output": str(out)})


def _student(synth: Path, out: Path, teacher: Path):
    return _cfg(synth, out, *AUG, "trainer.epochs=2", f"distill.teachers=[{teacher}]",
                "distill.cache=true", "distill.cache_views=3", "distill.alpha=0.7")


def _count_teacher_loads(monkeypatch) -> list[int]:
    """How many teachers each ``load_frozen`` call loads: [] when the cache spared them all."""
    import ferkit.train.teachers as teachers_mod

    loaded: list[int] = []
    real = teachers_mod.load_frozen
    monkeypatch.setattr(teachers_mod, "load_frozen",
                        lambda files: loaded.append(len(files)) or real(files))
    return loaded


class StopAfterFirstEpoch(Callback):
    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 0:
            os.kill(os.getpid(), signal.SIGTERM)


def test_student_sees_the_cached_pixels_and_resume_reuses_the_cache(synth, teacher, tmp_path,
                                                                     monkeypatch):
    seen = []
    step = FerModule.training_step

    def recording(self, batch, batch_idx):
        seen.append((batch[0].detach().clone(), batch[2].clone()))
        return step(self, batch, batch_idx)

    monkeypatch.setattr(FerModule, "training_step", recording)
    notes: list[str] = []
    whole = train(_student(synth, tmp_path / "whole", teacher), log_fn=notes.append)
    monkeypatch.setattr(FerModule, "training_step", step)
    assert any("teacher cache:" in n and "3 views" in n for n in notes), notes

    with np.load(tmp_path / "whole" / CACHE_FILE) as z:
        logits = z["logits"]
    assert logits.dtype == np.float16 and logits.shape[1] == 7 and logits.shape[0] % 3 == 0
    assert len(seen) == 2 * 5 and all(len(x) == 8 for x, _ in seen)  # 2 epochs x 5 steps
    # the teacher (same size and normalisation as the student) on the very pixels the student
    # trained on gives the cached logits: both saw the same augmented view
    model, _ = load_model(teacher)
    x, cached = seen[0]
    assert torch.allclose(model(x.contiguous()).float(), cached, atol=2e-2)
    assert not torch.equal(seen[0][0], seen[5][0])  # later steps: other views / images

    cut = tmp_path / "cut"
    with pytest.raises(Interrupted):
        train(_student(synth, cut, teacher), callbacks=[StopAfterFirstEpoch()])
    before = (cut / CACHE_FILE).stat().st_mtime_ns
    notes.clear()
    resumed = train(load_resume_config(cut), resume=True, log_fn=notes.append)
    assert any("reusing" in n for n in notes), notes
    assert (cut / CACHE_FILE).stat().st_mtime_ns == before
    wa, _ = load_checkpoint(whole.last_checkpoint)
    wb, _ = load_checkpoint(resumed.last_checkpoint)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_changed_augmentation_recomputes_the_cache(synth, teacher, tmp_path):
    from ferkit.train.teacher_cache import cache_fingerprint

    cfg = _student(synth, tmp_path / "a", teacher)
    images, labels = np.zeros((4, 16, 16), np.uint8), np.zeros(4, np.int64)
    base = cache_fingerprint(cfg, [teacher], "fp", images, labels, 16, 1)
    assert base == cache_fingerprint(cfg, [teacher], "fp", images, labels, 16, 1)
    other = _cfg(synth, tmp_path / "a", *AUG, "augment.gamma=0.2", f"distill.teachers=[{teacher}]",
                 "distill.cache=true", "distill.cache_views=3")
    assert cache_fingerprint(other, [teacher], "fp", images, labels, 16, 1) != base
    more = _cfg(synth, tmp_path / "a", *AUG, f"distill.teachers=[{teacher}]",
                "distill.cache=true", "distill.cache_views=4")
    assert cache_fingerprint(more, [teacher], "fp", images, labels, 16, 1) != base
    assert cache_fingerprint(cfg, [teacher], "fp", images + 1, labels, 16, 1) != base


def test_cache_config_errors(synth, teacher, tmp_path):
    with pytest.raises(ConfigError, match="needs distill.teachers"):
        _cfg(synth, tmp_path, "distill.cache=true")
    with pytest.raises(ConfigError, match="augment.mixup"):
        _cfg(synth, tmp_path, f"distill.teachers=[{teacher}]", "distill.cache=true",
             "augment.mixup=0.2")
    with pytest.raises(ConfigError, match="distill.cache_views"):
        _cfg(synth, tmp_path, "distill.cache_views=0")
    with pytest.raises(ConfigError, match="distill.runtime"):
        _cfg(synth, tmp_path, "distill.runtime=tensorrt")


class _Killed(Exception):
    """Stands in for a kill in the middle of building the teacher cache."""


def test_an_interrupted_cache_build_continues_where_it_stopped(synth, teacher, tmp_path,
                                                               monkeypatch):
    import ferkit.train.teacher_cache as tc
    import ferkit.train.teachers as teachers_mod

    monkeypatch.setattr(tc, "_CHUNK", 8)  # many chunks on the small data
    monkeypatch.setattr(tc, "PARTIAL_EVERY_S", 0.0)  # save after every chunk
    one = ["trainer.epochs=1"]
    train(_cfg(synth, tmp_path / "ref", *AUG, f"distill.teachers=[{teacher}]",
               "distill.cache=true", "distill.cache_views=3", *one))
    with np.load(tmp_path / "ref" / CACHE_FILE) as z:
        ref = z["logits"]

    real, calls, killed = teachers_mod.mean_teacher_logits, [], []

    def dies_on_the_fourth_chunk(*a, **kw):
        calls.append(1)
        if len(calls) == 4 and not killed:
            killed.append(1)
            raise _Killed
        return real(*a, **kw)

    monkeypatch.setattr(teachers_mod, "mean_teacher_logits", dies_on_the_fourth_chunk)
    cut = tmp_path / "cut"
    cfg = _cfg(synth, cut, *AUG, f"distill.teachers=[{teacher}]", "distill.cache=true",
               "distill.cache_views=3", *one)
    with pytest.raises(_Killed):
        train(cfg)
    assert not (cut / CACHE_FILE).exists()
    with np.load(cut / tc.PARTIAL_FILE) as z:
        assert len(z["logits"]) == 3 * 8  # three chunks were saved before the kill

    calls.clear()
    notes: list[str] = []
    train(cfg, log_fn=notes.append)
    assert any("continuing" in n and "from 24 of" in n for n in notes), notes
    assert len(calls) == -(-len(ref) // 8) - 3  # only the chunks that were missing
    with np.load(cut / CACHE_FILE) as z:
        np.testing.assert_array_equal(z["logits"], ref)
    assert not (cut / tc.PARTIAL_FILE).exists()


def test_sigterm_during_the_cache_build_keeps_what_is_done_and_says_so(synth, teacher, tmp_path,
                                                                       monkeypatch):
    """The stop saves the chunks computed since the last periodic save (none here: the period is
    an hour), and the message names the kept file instead of "nothing to resume"."""
    import ferkit.train.teacher_cache as tc
    import ferkit.train.teachers as teachers_mod

    monkeypatch.setattr(tc, "_CHUNK", 8)
    monkeypatch.setattr(tc, "PARTIAL_EVERY_S", 3600.0)
    real, calls = teachers_mod.mean_teacher_logits, []

    def sigterm_on_the_fourth_chunk(*a, **kw):
        calls.append(1)
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*a, **kw)

    monkeypatch.setattr(teachers_mod, "mean_teacher_logits", sigterm_on_the_fourth_chunk)
    cut = tmp_path / "cut"
    cfg = _cfg(synth, cut, *AUG, f"distill.teachers=[{teacher}]", "distill.cache=true",
               "distill.cache_views=3", "trainer.epochs=1")
    with pytest.raises(Interrupted) as stopped:
        train(cfg)
    assert stopped.value.exit_code == 143
    message = str(stopped.value)
    assert "teacher cache" in message and "nothing to resume" not in message, message
    with np.load(cut / tc.PARTIAL_FILE) as z:
        kept = len(z["logits"])
    assert kept >= 3 * 8  # at least the three chunks finished before the signal
    assert f"the {kept} views done are kept" in message and tc.PARTIAL_FILE in message


def test_onnx_and_torch_teachers_cache_the_same_logits(synth, teacher, tmp_path):
    caches = {}
    for runtime in ("torch", "onnx"):
        run = tmp_path / runtime
        train(_cfg(synth, run, *AUG, f"distill.teachers=[{teacher}, {teacher}]",
                   "distill.cache=true", "distill.cache_views=2", "trainer.epochs=1",
                   f"distill.runtime={runtime}"))
        with np.load(run / CACHE_FILE) as z:
            caches[runtime] = z["logits"].astype(np.float32)
    assert caches["torch"].shape == caches["onnx"].shape
    assert np.abs(caches["torch"]).max() > 0.1  # real logits, not zeros
    # float16 storage rounds to ~1e-3 relative; the runtimes differ far less than that
    np.testing.assert_allclose(caches["onnx"], caches["torch"], rtol=2e-3, atol=2e-3)


def test_a_smaller_student_shares_a_larger_cache(synth, teacher, tmp_path, monkeypatch):
    """distill.cache_size + cache_file: a 12 px student reuses the 16 px student's cache and
    trains on those views resized to 12 px, with the cached logits; validation stays at 12 px."""
    shared = tmp_path / "shared" / "cache.npz"
    common = [*AUG, "trainer.epochs=1", f"distill.teachers=[{teacher}]", "distill.cache=true",
              "distill.cache_views=2", "distill.cache_size=16", f"distill.cache_file={shared}"]
    notes: list[str] = []
    train(_cfg(synth, tmp_path / "big", *common), log_fn=notes.append)
    assert shared.is_file() and not (tmp_path / "big" / CACHE_FILE).exists()
    with np.load(shared) as z:
        logits = z["logits"].copy()
    built = shared.stat().st_mtime_ns

    seen, val_sizes = [], []
    step, vstep = FerModule.training_step, FerModule.validation_step

    def recording(self, batch, batch_idx):
        seen.append((batch[0].shape, batch[2].clone()))
        return step(self, batch, batch_idx)

    def val_recording(self, batch, batch_idx):
        val_sizes.append(batch[0].shape[-1])
        return vstep(self, batch, batch_idx)

    monkeypatch.setattr(FerModule, "training_step", recording)
    monkeypatch.setattr(FerModule, "validation_step", val_recording)
    notes.clear()
    train(_cfg(synth, tmp_path / "small", *common, "model.kwargs={input_size: 12, width: 4}"),
          log_fn=notes.append)
    assert any("reusing" in n for n in notes), notes
    assert shared.stat().st_mtime_ns == built
    assert seen and all(shape[-1] == 12 for shape, _ in seen)
    assert val_sizes and set(val_sizes) == {12}
    cached = torch.from_numpy(logits).float()
    assert all(any(torch.equal(row.half().float(), c) for c in cached)
               for row in seen[0][1][:3])  # the student got the cached logits


def test_cache_size_needs_the_cache(synth, tmp_path):
    with pytest.raises(ConfigError, match="distill.cache=true"):
        _cfg(synth, tmp_path, "distill.cache_size=64")


def test_an_added_teacher_extends_a_finished_cache(synth, teacher, tmp_path, monkeypatch):
    """distill.cache_extends: only the added teacher runs, and the combined mean equals the
    cache that runs both teachers from scratch (up to float16 rounding), also from a base made
    on another CPU (checked by content); a base of other views is refused."""

    second = train(_cfg(synth, tmp_path / "t2", "trainer.epochs=1", "seed=5")).best_checkpoint
    common = [*AUG, "trainer.epochs=1", "distill.cache=true", "distill.cache_views=2"]
    base = tmp_path / "one.npz"
    train(_cfg(synth, tmp_path / "one", *common, f"distill.teachers=[{teacher}]",
               f"distill.cache_file={base}"))
    both = [*common, f"distill.teachers=[{teacher}, {second}]"]
    train(_cfg(synth, tmp_path / "full", *both))

    loaded = _count_teacher_loads(monkeypatch)
    notes: list[str] = []
    train(_cfg(synth, tmp_path / "ext", *both, f"distill.cache_extends={base}"),
          log_fn=notes.append)
    assert loaded == [1], loaded  # the stored teacher did not run again
    assert any("extending" in n and "teachers 1-1" in n for n in notes), notes
    with np.load(tmp_path / "full" / CACHE_FILE) as z, \
            np.load(tmp_path / "ext" / CACHE_FILE) as e:
        assert str(z["fingerprint"]) == str(e["fingerprint"])  # a normal cache of both
        full, ext = z["logits"].astype(np.float32), e["logits"].astype(np.float32)
    assert np.abs(full).max() > 0.1
    np.testing.assert_allclose(ext, full, rtol=3e-3, atol=3e-3)

    # a base made from other views is ignored, said so, and every teacher runs
    loaded.clear()
    notes.clear()
    train(_cfg(synth, tmp_path / "other", *both, "seed=9", f"distill.cache_extends={base}"),
          log_fn=notes.append)
    assert loaded == [2] and any("ignored (its logits are not the mean of any first teachers"
                                 in n for n in notes), notes  # checked by content: other views

    # a base whose fingerprint and views digest are not this machine's (made on another kind of
    # CPU by an older ferkit, like the committed stages/ caches) is recognised by running the
    # teachers on the probe views, and the extension matches the full build
    with np.load(base) as z:
        kept = {k: z[k] for k in z.files}
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, **{**kept, "fingerprint": np.array("ANOTHER-CPU"),
                         "views_sha256": np.array("ANOTHER-DIGEST")})
    loaded.clear()
    notes.clear()
    train(_cfg(synth, tmp_path / "foreign", *both, f"distill.cache_extends={foreign}"),
          log_fn=notes.append)
    assert loaded == [2], loaded  # loaded once for the check; only the second ran on every view
    assert any("extending" in n and "teachers 1-1" in n and "another fingerprint" in n
               for n in notes), notes
    with np.load(tmp_path / "foreign" / CACHE_FILE) as e:
        np.testing.assert_allclose(e["logits"].astype(np.float32), full, rtol=3e-3, atol=3e-3)
    # ... and one whose logits are not the first teacher's is refused by the same check
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, **{**kept, "fingerprint": np.array("ANOTHER-CPU"),
                       "logits": (kept["logits"].astype(np.float32) + 0.5).astype(np.float16)})
    notes.clear()
    train(_cfg(synth, tmp_path / "wrong", *both, f"distill.cache_extends={wrong}"),
          log_fn=notes.append)
    assert any("not the mean of any first teachers" in n and "running every teacher" in n
               for n in notes), notes
    with np.load(tmp_path / "wrong" / CACHE_FILE) as e:
        np.testing.assert_allclose(e["logits"].astype(np.float32), full, rtol=3e-3, atol=3e-3)


def test_cache_extends_needs_the_cache(synth, tmp_path):
    with pytest.raises(ConfigError, match="distill.cache=true"):
        _cfg(synth, tmp_path, "distill.cache_extends=x.npz")
    with pytest.raises(ConfigError, match="distill.cache=true"):
        _cfg(synth, tmp_path, "distill.cache_from=x.npz")


def test_a_committed_cache_is_reused_read_only_and_never_overwritten(synth, teacher, tmp_path,
                                                                     monkeypatch):
    """distill.cache_from: a finished cache kept elsewhere (stages/ in the repo) serves a fresh
    run folder with no copy step and no teacher run; one that does not match is said to be
    ignored, the cache is rebuilt in the run folder, and the kept file stays byte-identical."""

    common = [*AUG, "trainer.epochs=1", "distill.cache=true", "distill.cache_views=2",
              f"distill.teachers=[{teacher}]"]
    train(_cfg(synth, tmp_path / "first", *common))
    kept = tmp_path / "stages" / "cache.npz"
    kept.parent.mkdir()
    kept.write_bytes((tmp_path / "first" / CACHE_FILE).read_bytes())
    kept.chmod(0o444)  # as a checkout may hold it: nothing may try to write it
    before = kept.read_bytes()

    loaded = _count_teacher_loads(monkeypatch)
    notes: list[str] = []
    train(_cfg(synth, tmp_path / "fresh", *common, f"distill.cache_from={kept}"),
          log_fn=notes.append)
    assert loaded == [], loaded  # no teacher ran
    assert any(f"reusing read-only {kept}" in n for n in notes), notes
    assert not (tmp_path / "fresh" / CACHE_FILE).exists()

    notes.clear()
    train(_cfg(synth, tmp_path / "other", *common, "seed=9", f"distill.cache_from={kept}"),
          log_fn=notes.append)
    assert loaded == [1]  # loaded once: checked by content (another seed), then rebuilt
    assert any(f"cache_from={kept} ignored (its logits are not these teachers'" in n
               for n in notes), notes
    assert (tmp_path / "other" / CACHE_FILE).is_file()
    assert kept.read_bytes() == before

    notes.clear()
    train(_cfg(synth, tmp_path / "gone", *common, f"distill.cache_from={tmp_path / 'no.npz'}"),
          log_fn=notes.append)
    assert any("ignored (not found)" in n for n in notes), notes


def test_an_interrupted_extension_continues_with_the_added_teachers_alone(synth, teacher,
                                                                           tmp_path, monkeypatch):
    """The partial file of an extension holds the added teachers' mean under its own
    fingerprint; the restart continues it and the finished cache matches an unbroken build."""
    import ferkit.train.teacher_cache as tc
    import ferkit.train.teachers as teachers_mod

    monkeypatch.setattr(tc, "_CHUNK", 8)
    monkeypatch.setattr(tc, "PARTIAL_EVERY_S", 0.0)
    common = [*AUG, "trainer.epochs=1", "distill.cache=true", "distill.cache_views=2"]
    base = tmp_path / "one.npz"
    train(_cfg(synth, tmp_path / "one", *common, f"distill.teachers=[{teacher}]",
               f"distill.cache_file={base}"))
    ext = [*common, f"distill.teachers=[{teacher}, {teacher}]", f"distill.cache_extends={base}"]
    train(_cfg(synth, tmp_path / "ref", *ext))
    with np.load(tmp_path / "ref" / CACHE_FILE) as z:
        ref = z["logits"]

    real, calls = teachers_mod.mean_teacher_logits, []

    def dies_on_the_third_chunk(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise _Killed
        return real(*a, **kw)

    monkeypatch.setattr(teachers_mod, "mean_teacher_logits", dies_on_the_third_chunk)
    cut = tmp_path / "cut"
    with pytest.raises(_Killed):
        train(_cfg(synth, cut, *ext))
    with np.load(cut / tc.PARTIAL_FILE) as z:
        assert len(z["logits"]) == 2 * 8 and str(z["fingerprint"]).endswith("+extends:1")
    notes: list[str] = []
    train(_cfg(synth, cut, *ext), log_fn=notes.append)
    assert any("continuing" in n and "from 16 of" in n for n in notes), notes
    with np.load(cut / CACHE_FILE) as z:
        np.testing.assert_array_equal(z["logits"], ref)


def test_a_cache_drawn_on_another_cpu_is_recognised_by_its_probe(synth, teacher, tmp_path,
                                                                  monkeypatch):
    """Another CPU's float rounding changes the views' digest by a grey level here and there:
    the stored probe tells that apart from other views; a legacy cache (no probe) is taken on
    its fingerprint; views that really differ are rejected."""
    import ferkit.train.teacher_cache as tc

    common = [*AUG, "trainer.epochs=1", "distill.cache=true", "distill.cache_views=2",
              f"distill.teachers=[{teacher}]"]
    first = tmp_path / "first"
    train(_cfg(synth, first, *common))
    with np.load(first / CACHE_FILE) as z:
        assert z["views_probe"].dtype == np.uint8 and len(z["views_probe"]) > 0
        kept = {k: z[k] for k in z.files}
    loaded = _count_teacher_loads(monkeypatch)
    monkeypatch.setattr(tc, "_views_digest", lambda views: "another-cpu")  # rounding differs
    real_draw = tc.draw_views

    def off_by_one(*a, **kw):  # one grey level on a few pixels, as another CPU's rounding
        views = real_draw(*a, **kw).clone()
        views.view(-1)[::997] = views.view(-1)[::997].clamp(max=254) + 1
        return views

    monkeypatch.setattr(tc, "draw_views", off_by_one)
    notes: list[str] = []
    train(_cfg(synth, tmp_path / "a", *common, f"distill.cache_from={first / CACHE_FILE}"),
          log_fn=notes.append)
    assert loaded == [] and any("up to float rounding" in n for n in notes), notes

    legacy = tmp_path / "legacy.npz"
    np.savez(legacy, **{k: v for k, v in kept.items() if k != "views_probe"})
    notes.clear()
    train(_cfg(synth, tmp_path / "b", *common, f"distill.cache_from={legacy}"),
          log_fn=notes.append)
    assert loaded == [] and any("no view probe" in n for n in notes), notes

    monkeypatch.setattr(tc, "draw_views", lambda *a, **kw: real_draw(*a, **kw) // 2)  # other
    notes.clear()
    train(_cfg(synth, tmp_path / "c", *common, f"distill.cache_from={first / CACHE_FILE}"),
          log_fn=notes.append)
    assert loaded == [1] and any("ignored (made from other views" in n for n in notes), notes


def test_the_fingerprint_names_the_training_files_not_their_resized_pixels(synth, teacher):
    """Resized pixels differ in rounding between CPUs: with the source paths given, the
    fingerprint follows paths, labels, shape and interpolation, not the pixel bytes."""
    from ferkit.train.teacher_cache import cache_fingerprints

    cfg = _student(synth, Path("/tmp/unused"), teacher)
    images, labels = np.zeros((4, 16, 16), np.uint8), np.arange(4)
    paths = [f"train/{c}/{i}.png" for i, c in enumerate("abcd")]

    def fp(*, imgs=images, labs=labels, ps=paths, interp="bicubic"):
        return cache_fingerprints(cfg, [teacher], "fp", imgs, labs, 16, 1, paths=ps,
                                  interpolation=interp)[-1]

    base = fp()
    assert fp(imgs=images + 1) == base  # another CPU's rounding of the same files
    assert fp(labs=labels[::-1].copy()) != base and fp(ps=paths[::-1]) != base
    assert fp(interp="bilinear") != base
    assert fp(ps=None) != base and fp(ps=None, imgs=images + 1) != fp(ps=None)  # legacy: pixels


def test_a_cache_with_the_legacy_pixel_fingerprint_is_still_reused(synth, teacher, tmp_path,
                                                                   monkeypatch):
    import ferkit.train.teacher_cache as tc

    common = [*AUG, "trainer.epochs=1", "distill.cache=true", "distill.cache_views=2",
              f"distill.teachers=[{teacher}]"]
    first = tmp_path / "first"
    train(_cfg(synth, first, *common))
    with np.load(first / CACHE_FILE) as z:
        kept = {k: z[k] for k in z.files}
    legacy = tmp_path / "legacy.npz"
    np.savez(legacy, **{**kept, "fingerprint": np.array("LEGACY")})
    real = tc.cache_fingerprints
    monkeypatch.setattr(tc, "cache_fingerprints", lambda *a, **kw: (
        real(*a, **kw) if kw.get("paths") else ["LEGACY"]))
    loaded = _count_teacher_loads(monkeypatch)
    notes: list[str] = []
    train(_cfg(synth, tmp_path / "a", *common, f"distill.cache_from={legacy}"),
          log_fn=notes.append)
    assert loaded == [] and any("reusing read-only" in n for n in notes), notes


def _seen_batches(monkeypatch) -> list:
    """(student input, teacher logits) of every training step, recorded."""
    seen: list = []
    step = FerModule.training_step

    def recording(self, batch, batch_idx):
        seen.append((batch[0].detach().clone(), batch[2].clone()))
        return step(self, batch, batch_idx)

    monkeypatch.setattr(FerModule, "training_step", recording)
    return seen


STUDENT_LOWRES = "distill.student_augment={downscale: 1.0, downscale_range: [0.3, 0.4]}"


def test_student_augment_degrades_the_students_copy_of_the_cached_views(synth, teacher, tmp_path,
                                                                         monkeypatch):
    """The teachers' logits stay those of the clean cached view (same cache, same order), the
    student sees that view at 30-40% resolution, and the cache is reused as it is."""
    seen = _seen_batches(monkeypatch)
    clean = train(_student(synth, tmp_path / "clean", teacher))
    plain = list(seen)
    seen.clear()
    notes: list[str] = []
    cache = tmp_path / "clean" / CACHE_FILE
    train(load_train_config(None, [*FAST, *AUG, "trainer.epochs=2",
                                   f"distill.teachers=[{teacher}]", "distill.cache=true",
                                   "distill.cache_views=3", "distill.alpha=0.7",
                                   f"distill.cache_from={cache}", STUDENT_LOWRES],
                            **{"model.name": "tinycnn_test", "data.path": str(synth),
                               "output": str(tmp_path / "lowres")}), log_fn=notes.append)
    assert any("reusing read-only" in n for n in notes), notes
    assert len(seen) == len(plain) == 10
    for (xa, ta), (xb, tb) in zip(plain, seen, strict=True):
        assert torch.equal(ta, tb)  # the same views' teacher logits, in the same order
        assert not torch.allclose(xa, xb, atol=1e-3)  # but not the same pixels
        # a downscaled face has less fine detail: smaller differences between neighbours
        assert (xb.diff(dim=-1).abs().mean() < 0.8 * xa.diff(dim=-1).abs().mean())
    assert clean.best_checkpoint.is_file()


def test_student_augment_with_live_teachers_keeps_the_teachers_view_clean(synth, teacher,
                                                                          tmp_path, monkeypatch):
    from ferkit.preprocess import normalize

    judged: list[torch.Tensor] = []
    real = FerModule._teacher_logits
    monkeypatch.setattr(FerModule, "_teacher_logits",
                        lambda self, x: judged.append(x.clone()) or real(self, x))
    seen = _seen_batches(monkeypatch)
    cfg = _cfg(synth, tmp_path / "live", *AUG, "trainer.epochs=1",
               f"distill.teachers=[{teacher}]", STUDENT_LOWRES)
    result = train(cfg)
    assert len(judged) == len(seen) == 5
    model, _ = load_model(teacher)
    for x, (student_x, logits) in zip(judged, seen, strict=True):
        teacher_x = normalize(x.clone(), model.ferkit_info)
        assert torch.allclose(model(teacher_x).float(), logits, atol=2e-2)  # judged clean
        assert not torch.allclose(teacher_x, student_x, atol=1e-3)  # the student saw less
    assert load_checkpoint(result.best_checkpoint)[1].config["distill"]["student_augment"] \
        == {"downscale": 1.0, "downscale_range": [0.3, 0.4]}


def test_a_cache_whose_fingerprint_cannot_be_matched_is_checked_by_content(synth, teacher,
                                                                           tmp_path, monkeypatch):
    """A pre-2026-12-01 cache made on another kind of CPU (its pixel fingerprint cannot be
    recomputed here): the teachers run on 64 views; the right logits are used and re-stamped,
    logits that are off (other teachers, other views) are rebuilt."""
    common = [*AUG, "trainer.epochs=1", "distill.cache=true", "distill.cache_views=2",
              f"distill.teachers=[{teacher}]"]
    first = tmp_path / "first"
    train(_cfg(synth, first, *common))
    with np.load(first / CACHE_FILE) as z:
        kept = {k: z[k] for k in z.files if k != "views_probe"}  # legacy: no probe either
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, **{**kept, "fingerprint": np.array("ANOTHER-CPU"),
                         "views_sha256": np.array("OTHER-ROUNDING")})
    os.chmod(foreign, 0o444)
    loaded = _count_teacher_loads(monkeypatch)
    notes: list[str] = []
    run = tmp_path / "a"
    train(_cfg(synth, run, *common, f"distill.cache_from={foreign}"), log_fn=notes.append)
    assert loaded == [1] and any("match its logits" in n for n in notes), notes
    with np.load(run / CACHE_FILE) as z:  # the same logits, now found by fingerprint
        np.testing.assert_array_equal(z["logits"], kept["logits"])
    off = tmp_path / "off.npz"
    np.savez(off, **{**kept, "fingerprint": np.array("ANOTHER-CPU"),
                     "logits": (kept["logits"].astype(np.float32) + 0.5).astype(np.float16)})
    notes.clear()
    train(_cfg(synth, tmp_path / "b", *common, f"distill.cache_from={off}"), log_fn=notes.append)
    assert any("not these teachers' on these views" in n for n in notes), notes
    with np.load(tmp_path / "b" / CACHE_FILE) as z:
        np.testing.assert_allclose(z["logits"].astype(np.float32),
                                   kept["logits"].astype(np.float32), atol=1e-2)


def test_the_content_check_compares_logits_and_skips_other_label_sets():
    """``_same_outputs`` alone, with a stub teacher: within PROBE_LOGIT_TOL → those logits;
    beyond it, or another number of classes (no broadcasting crash) → None."""
    import ferkit.train.teacher_cache as tc
    from ferkit.types import ModelInfo

    class Stub(torch.nn.Module):
        ferkit_info = ModelInfo("stub", input_size=8, in_chans=1, labels=tuple("abc"))

        def forward(self, x):
            return x.mean(dim=(1, 2, 3))[:, None] * torch.tensor([1.0, 2.0, 3.0])

    views = torch.randint(0, 256, (100, 8, 8, 1), dtype=torch.uint8)
    truth = tc.teacher_outputs([Stub()], views, torch.device("cpu"), False).numpy()
    notes: list[str] = []

    def check(logits):
        stored = ("FOREIGN", "DIGEST", logits.astype(np.float16))
        return tc._same_outputs([(Path("c.npz"), stored)], ([Stub()], False), views,
                                torch.device("cpu"), notes.append)

    assert check(truth) is not None and "match its logits" in notes[-1]
    assert check(truth + 4 * tc.PROBE_LOGIT_TOL) is None
    assert check(truth[:, :2]) is None
