"""``ferkit search`` / ``ferkit evolve`` on tiny synthetic data: grid coverage, pruning, shared
studies across processes, SIGKILL recovery, outputs and one-line errors."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ferkit.data.synthetic import make_folder_dataset

TINY = {"model.name": "tinycnn_test", "model.kwargs": {"input_size": 16, "width": 4},
        "trainer.batch_size": 16, "scheduler.name": "none", "trainer.progress": False}


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("synth") / "fer", n_per_class=6, seed=3,
                               size=16)


def _space(tmp_path: Path, name: str = "space.yaml", **kw) -> Path:
    data = {"fixed": {**TINY, "trainer.epochs": 1}, "sampler": "random",
            "params": {"optimizer.lr": {"type": "float", "low": 1e-3, "high": 1e-1,
                                        "log": True},
                       "model.kwargs.width": {"type": "int", "low": 2, "high": 8, "step": 2}}}
    data.update(kw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _evolve_space(tmp_path: Path, **kw) -> Path:
    """A 2 × 2 evolution of 1-2 tiny patches on 16 px faces (seconds per genome)."""
    path = tmp_path / "evolve.yaml"
    path.write_text(yaml.safe_dump({
        "train": {"trainer.epochs": 1, "trainer.batch_size": 16, "trainer.progress": False,
                  "model.kwargs.input_size": 16},
        "genome": {"k": [1, 2], "dx": [-4, 4], "dy": [-4, 4], "size": [4, 8],
                   "widths": [[4, 8]], "hidden": [8], "patch_size": [4]},
        "population": 2, "generations": 2, **kw}))
    return path


def _rows(out: Path) -> list[dict]:
    with open(out / "trials.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ferkit.cli.app", *args]


def test_grid_visits_every_point_once(synth, tmp_path, cli):
    space = _space(tmp_path, sampler="grid", params={
        "optimizer.lr": [0.001, 0.01, 0.1], "optimizer.weight_decay": [0.0, 1.0e-4]})
    code, out, err = cli("search", "--space", space, "--data", synth, "--study", "g",
                         "--output", tmp_path / "out", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["counts"]["complete"] == 6 and summary["n_trials"] == 6
    points = [(r["param:optimizer.lr"], r["param:optimizer.weight_decay"])
              for r in _rows(tmp_path / "out") if r["state"] == "complete"]
    assert len(points) == 6 and len(set(points)) == 6
    # re-running a finished grid study trains nothing more
    code, out, _ = cli("search", "--space", space, "--data", synth, "--study", "g",
                       "--output", tmp_path / "out", "--json")
    assert code == 0 and json.loads(out)["worker_trials"] == 0


def test_outputs_recipe_and_plots(synth, tmp_path, cli):
    space = _space(tmp_path, n_trials=3)
    code, out, err = cli("search", "--space", space, "--data", synth, "--study", "s",
                         "--output", tmp_path / "out", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["best_value"] is not None and summary["best_params"]
    for name in ("trials.csv", "summary.json", "best.yaml", "history.png", "study.journal"):
        assert (tmp_path / "out" / name).is_file(), name
    best = yaml.safe_load((tmp_path / "out" / "best.yaml").read_text())
    assert best["optimizer"]["lr"] == pytest.approx(summary["best_params"]["optimizer.lr"])
    # best.yaml is a recipe ``ferkit train --config`` accepts
    code, _, err = cli("train", "--config", tmp_path / "out" / "best.yaml", "--data", synth,
                       "--output", tmp_path / "retrain", "trainer.final_eval=false")
    assert code == 0, err


@pytest.mark.parametrize("second", ["params", "latency"])
def test_two_objectives_give_a_pareto_front(synth, tmp_path, cli, second):
    space = _space(tmp_path, n_trials=3, objectives=["val_acc", second])
    code, out, err = cli("search", "--space", space, "--data", synth, "--study", "p",
                         "--output", tmp_path / "out", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["pareto"] and all(len(p["values"]) == 2 for p in summary["pareto"])
    assert (tmp_path / "out" / "pareto_front.png").is_file()
    rows = _rows(tmp_path / "out")
    assert all(r["value_1"] != "" for r in rows if r["state"] == "complete")


def test_pruning_stops_bad_trials(synth, tmp_path):
    """A pruner that always prunes stops each trial after its first validation epoch."""
    import optuna

    from ferkit.search.objective import TrialSetup, train_trial
    from ferkit.search.space import load_space
    from ferkit.search.study import count_trials, run_worker

    space = load_space(_space(tmp_path, fixed={**TINY, "trainer.epochs": 3}))
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    setup = TrialSetup(space=space, data=str(synth), output=tmp_path / "out")
    run_worker(study, suggest=lambda t: {k: p.suggest(t) for k, p in space.params.items()},
               objective=lambda t, v: train_trial(setup, t, v), budget=2)
    counts = count_trials(study)
    assert counts.pruned == 2 and counts.complete == 0
    assert all(len(t.intermediate_values) == 1 for t in study.trials)  # pruned after epoch 0


def test_two_workers_share_one_study(synth, tmp_path):
    space = _space(tmp_path, n_trials=6)
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = _cmd("search", "--space", str(space), "--data", str(synth), "--study", "shared",
                "--output", str(out), "--json")
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for _ in range(2)]
    results = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1][-500:] for r in results]
    ran = [json.loads(r[0])["worker_trials"] for r in results]
    rows = _rows(out)
    finished = [r for r in rows if r["state"] in ("complete", "pruned")]
    assert len(finished) == 6 and sum(ran) >= 6
    assert not [r for r in rows if r["state"] in ("running", "waiting", "failed")]
    assert len({r["number"] for r in rows}) == len(rows)
    params = [(r["param:optimizer.lr"], r["param:model.kwargs.width"]) for r in finished]
    assert len(set(params)) == 6  # no configuration evaluated twice
    assert all(n >= 1 for n in ran)  # both workers took part


def _kill_during_first_trial(args: list[str], out: Path, env: dict) -> None:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    try:  # kill while the first trial is training (its metrics file has appeared)
        while time.time() < deadline and proc.poll() is None:
            if list((out / "trials").glob("trial_0000/logs/*/metrics.csv")):
                break
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_trial_then_rerun_completes(synth, tmp_path):
    space = _space(tmp_path, n_trials=3, fixed={**TINY, "trainer.epochs": 40})
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = _cmd("search", "--space", str(space), "--data", str(synth), "--study", "k",
                "--output", str(out), "--no-prune", "--json")
    _kill_during_first_trial(args, out, env)
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-800:]
    rows = _rows(out)
    killed = rows[0]
    assert killed["state"] == "failed" and "worker died" in killed["note"]
    retries = [r for r in rows if r["retry_of"] == "0"]
    assert len(retries) == 1 and retries[0]["state"] == "complete"
    assert retries[0]["param:optimizer.lr"] == killed["param:optimizer.lr"]
    assert sum(r["state"] == "complete" for r in rows) == 3


def test_sigkilled_evolve_resumes(synth, tmp_path):
    space = _evolve_space(tmp_path, train={
        "trainer.epochs": 30, "trainer.batch_size": 16, "trainer.progress": False,
        "model.kwargs.input_size": 16})
    out = tmp_path / "evo"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = _cmd("evolve", "--data", str(synth), "--space", str(space), "--output", str(out),
                "--no-retrain", "--json")
    _kill_during_first_trial(args, out, env)
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-800:]
    rows = _rows(out)
    assert rows[0]["state"] == "failed" and "worker died" in rows[0]["note"]
    assert sum(r["state"] == "complete" for r in rows) == 4  # the whole population


def test_same_study_with_another_space_is_refused(synth, tmp_path, cli):
    a = _space(tmp_path, "a.yaml", n_trials=1)
    b = _space(tmp_path, "b.yaml", n_trials=1, params={"optimizer.lr": [0.01, 0.1]})
    assert cli("search", "--space", a, "--data", synth, "--study", "x", "--output",
               tmp_path / "out")[0] == 0
    code, _, err = cli("search", "--space", b, "--data", synth, "--study", "x", "--output",
                       tmp_path / "out")
    assert code == 1 and "different search space" in err and "Traceback" not in err


@pytest.mark.parametrize("storage, message", [
    ("postgresql://nobody@127.0.0.1:1/nodb", "cannot be opened|driver is not installed"),
    ("ftp://host/x", "unknown scheme"),
    ("notaurl", "neither a database URL"),
])
def test_bad_storage_is_one_line(synth, tmp_path, cli, storage, message):
    code, _, err = cli("search", "--space", _space(tmp_path), "--data", synth, "--study", "x",
                       "--storage", storage, "--n-trials", "1", "--output", tmp_path / "o")
    assert code == 1 and re.search(message, err) and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_sqlite_storage_url_works(synth, tmp_path, cli):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    code, out, err = cli("search", "--space", _space(tmp_path, n_trials=2), "--data", synth,
                         "--study", "db", "--storage", url, "--output", tmp_path / "o", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["complete"] == 2 and (tmp_path / "study.db").is_file()


def test_evolve_front_maps_and_winner(synth, tmp_path, cli):
    space = _evolve_space(tmp_path, retrain={"trainer.epochs": 1})
    code, out, err = cli("evolve", "--data", synth, "--space", space, "--output",
                         tmp_path / "evo", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["counts"]["complete"] == 4 and summary["pareto"]
    for name in ("pareto_front.png", "generations.png", "attention_map.png", "pareto.json",
                 "evolved.yaml", "trials.csv"):
        assert (tmp_path / "evo" / name).is_file(), name
    winner = Path(summary["winner"]["checkpoint"])
    from ferkit.checkpoint import read_meta

    meta = read_meta(winner)
    assert meta.model == "patch_cnn" and meta.extra["nose_rule"] == "canonical"
    assert meta.info.extra["patches"] == summary["chosen"]["patches"]
    code, _, err = cli("evaluate", "--model", winner, "--data", synth)
    assert code == 0, err
    # on a photo, the patches follow the detector's nose landmark (MTCNN) or fall back
    from importlib.resources import files

    photo = str(files("ferkit") / "assets" / "sample_face.jpg")
    for detector, flag in (("mtcnn", "nose_landmarks"), ("haar", "nose_canonical")):
        code, out, err = cli("predict", photo, "--model", winner, "--detector", detector,
                             "--json")
        assert code == 0, err
        faces = json.loads(out)["images"][0]["faces"]
        assert faces and all(flag in f["flags"] for f in faces), (detector, faces)


def test_two_evolve_workers_share_one_population(synth, tmp_path):
    space = _evolve_space(tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = _cmd("evolve", "--data", str(synth), "--space", str(space), "--output",
                str(tmp_path / "evo"), "--no-retrain", "--json")
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for _ in range(2)]
    results = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1][-500:] for r in results]
    rows = _rows(tmp_path / "evo")
    assert sum(r["state"] == "complete" for r in rows) == 4
    assert not [r for r in rows if r["state"] in ("running", "failed")]


@pytest.mark.parametrize("args, message", [
    (("--population", "1"), "population must be an integer >= 2"),
])
def test_evolve_bad_arguments(synth, tmp_path, cli, args, message):
    code, _, err = cli("evolve", "--data", synth, "--output", tmp_path / "o", *args)
    assert code == 1 and message in err and "Traceback" not in err
