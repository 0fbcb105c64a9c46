"""The shared engine behind ``ferkit search`` and ``ferkit evolve``: one Optuna study, N workers.

Optuna owns sampling, pruning and storage; this module adds what a long CPU search needs on top:

* **A study-wide budget.** ``n_trials`` counts finished (complete or pruned) plus running trials
  across every worker, so starting the same command twice finishes one study of ``n_trials``,
  not two. The few-millisecond race between two workers asking at the same moment is closed after
  ``ask()``: a trial beyond the budget, or a second copy of a grid point, is told FAIL with
  ``ferkit_discarded`` set before anything is trained, and counted as discarded in the summary.
* **No lost trials.** Each running trial records its worker (host, pid, process start time) and a
  heartbeat. A worker that finds a RUNNING trial whose process is gone (SIGKILL, power loss) or
  whose heartbeat is stale marks it FAIL (``ferkit_failed: worker died``) and re-enqueues its
  parameters, so re-running the command completes the study. Ctrl-C / SIGTERM fail the running
  trial and re-enqueue it the same way before the worker exits.
* **One identity per study.** The space's fingerprint is stored in the study; a different space
  under the same study name is refused instead of silently mixing two searches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ferkit.errors import ConfigError, FerkitError
from ferkit.interrupt import Interrupted

HEARTBEAT_S = 30.0
STALE_S = 300.0  # a remote worker silent this long is presumed dead
MAX_CONSECUTIVE_FAILURES = 3
FINGERPRINT_ATTR = "ferkit_space_fingerprint"


@dataclass
class StudyCounts:
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    discarded: int = 0
    retried: int = 0

    @property
    def finished(self) -> int:
        return self.complete + self.pruned


@dataclass
class WorkerStats:
    """What this worker did (the study's totals come from ``count_trials``)."""

    ran: int = 0
    wall_s: float = 0.0
    stopped_by: str = "budget"
    errors: list[str] = field(default_factory=list)


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (guards against a recycled pid), None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def worker_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _proc_start(os.getpid())}


def _process_alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _proc_start(pid)
    return start is None or now is None or now == start


def is_dead(trial, now: float | None = None) -> str | None:
    """Why a RUNNING trial's worker is gone, or None while it may still be working."""
    worker = trial.user_attrs.get("ferkit_worker") or {}
    if worker.get("host") == socket.gethostname() and "pid" in worker:
        if not _process_alive(int(worker["pid"]), worker.get("start")):
            return f"worker died (pid {worker['pid']} on {worker['host']} is gone)"
        return None
    beat = trial.user_attrs.get("ferkit_heartbeat")
    if beat is None and trial.datetime_start is not None:
        beat = trial.datetime_start.timestamp()
    if beat is not None and (now or time.time()) - float(beat) > STALE_S:
        return f"worker died (no heartbeat for {STALE_S:.0f} s)"
    return None


def fail_and_retry(study, trial, reason: str) -> bool:
    """Tell a trial FAIL with ``reason`` and re-enqueue its parameters; False if another worker
    got there first (only the worker whose tell succeeds enqueues, so retries are never doubled)."""
    import optuna
    from optuna.trial import TrialState

    try:
        study._storage.set_trial_user_attr(trial._trial_id, "ferkit_failed", reason)
        study.tell(trial.number, state=TrialState.FAIL)
    except (ValueError, RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
        return False
    if trial.params:
        study.enqueue_trial(dict(trial.params), user_attrs={"ferkit_retry_of": trial.number},
                            skip_if_exists=False)
    return True


def recover_dead(study) -> int:
    """Fail and re-enqueue every RUNNING trial whose worker is gone; returns how many."""
    from optuna.trial import TrialState

    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = is_dead(t)
        if reason and fail_and_retry(study, t, reason):
            n += 1
    return n


def count_trials(study) -> StudyCounts:
    from optuna.trial import TrialState

    c = StudyCounts()
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("ferkit_discarded"):
            c.discarded += 1
        elif t.state == TrialState.COMPLETE:
            c.complete += 1
        elif t.state == TrialState.PRUNED:
            c.pruned += 1
        elif t.state == TrialState.FAIL:
            c.failed += 1
        elif t.state == TrialState.RUNNING:
            c.running += 1
        elif t.state == TrialState.WAITING:
            c.waiting += 1
        if "ferkit_retry_of" in t.user_attrs:
            c.retried += 1
    return c


def open_study(name: str, storage, *, directions: list[str], sampler, pruner,
               fingerprint: str, source: str = ""):
    """Create or load study ``name``; refuse one created from a different space."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not name or len(name) > 200:
        raise ConfigError(f"--study {name!r}: give a name of 1 to 200 characters")
    try:
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                    pruner=pruner, directions=directions, load_if_exists=True)
    except Exception as exc:  # storage errors surface here for lazily connecting backends
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ConfigError(f"study {name!r}: the storage cannot be used ({first})") from None
    stored = study.user_attrs.get(FINGERPRINT_ATTR)
    if stored is None:
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
        if source:
            study.set_user_attr("ferkit_space_source", source)
    elif stored != fingerprint:
        was = study.user_attrs.get("ferkit_space_source", "another space")
        raise ConfigError(f"study {name!r} in this storage was created from a different search "
                          f"space ({was}); use a new --study name or the original space file")
    if [d.name.lower() for d in study.directions] != [d.lower() for d in directions]:
        raise ConfigError(f"study {name!r} optimises {[d.name.lower() for d in study.directions]}"
                          f", not {directions}; use a new --study name")
    return study


@contextlib.contextmanager
def _heartbeat(study, trial) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(Exception):
                study._storage.set_trial_user_attr(trial._trial_id, "ferkit_heartbeat",
                                                   time.time())

    thread = threading.Thread(target=beat, name="ferkit-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM between trials stops the worker cleanly (exit 143); during a trial, ``train()``'s
    own handler stops it and the worker fails and re-enqueues the trial."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        raise Interrupted("search stopped by SIGTERM between trials; run the same command "
                          "again to continue the study", signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _discard(study, trial, reason: str) -> None:
    from optuna.trial import TrialState

    trial.set_user_attr("ferkit_discarded", reason)
    study.tell(trial, state=TrialState.FAIL)


def _check_slot(study, trial, budget: int, grid: bool) -> str | None:
    """After ``ask``: why this trial must not run (over budget, a grid point already taken)."""
    from optuna.trial import TrialState

    alive = [t for t in study.get_trials(deepcopy=False, states=(
        TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)) if t.number < trial.number]
    if len(alive) >= budget:
        return f"over the study's budget of {budget} trials (another worker took the last slot)"
    if grid:
        mine = trial.params
        for t in alive:
            if t.params == mine:
                return f"grid point already taken by trial {t.number}"
    return None


def run_worker(study, *, suggest: Callable[[Any], dict[str, Any]],
               objective: Callable[[Any, dict[str, Any]], Any], budget: int,
               timeout: float | None = None, grid: bool = False,
               on_trial: Callable[[Any, StudyCounts], None] | None = None) -> WorkerStats:
    """Run trials until the study holds ``budget`` finished/running trials or ``timeout`` passes.

    ``suggest(trial)`` samples the parameters (called right after ``ask``), ``objective(trial,
    values)`` trains and returns the value(s) or raises ``optuna.TrialPruned``.
    """
    import optuna
    from optuna.trial import TrialState

    stats, t0, failures = WorkerStats(), time.monotonic(), 0
    with sigterm_as_interrupt():
        while True:
            recover_dead(study)
            counts = count_trials(study)
            if counts.finished + counts.running >= budget:
                stats.stopped_by = "budget"
                break
            if timeout is not None and time.monotonic() - t0 >= timeout:
                stats.stopped_by = "timeout"
                break
            trial = study.ask()
            trial.set_user_attr("ferkit_worker", worker_identity())
            try:
                values = suggest(trial)
            except Exception as exc:
                _discard(study, trial, f"sampling failed: {exc}")
                raise
            why = _check_slot(study, trial, budget, grid)
            if why:
                _discard(study, trial, why)
                if why.startswith("over"):
                    stats.stopped_by = "budget"
                    break
                continue
            state, value = TrialState.COMPLETE, None
            try:
                with _heartbeat(study, trial):
                    value = objective(trial, values)
            except optuna.TrialPruned:
                state = TrialState.PRUNED
            except (KeyboardInterrupt, SystemExit, Interrupted) as exc:
                # Ctrl-C / SIGTERM (train() turns them into Interrupted): the trial is failed
                # and re-enqueued, so re-running the command redoes it; then the worker stops
                fail_and_retry(study, trial_frozen(study, trial), "interrupted")
                if isinstance(exc, SystemExit) and not isinstance(exc, Interrupted):
                    raise
                signum = getattr(exc, "signum", signal.SIGINT)
                raise Interrupted(
                    f"search stopped by {signal.Signals(signum).name} during trial "
                    f"{trial.number}; the trial was failed and re-enqueued: run the same command "
                    "again to continue the study", signum) from None
            except FerkitError as exc:
                state = TrialState.FAIL
                trial.set_user_attr("ferkit_failed", str(exc))
                stats.errors.append(f"trial {trial.number}: {exc}")
            except Exception as exc:  # a crash in one trial must not lose the study
                state = TrialState.FAIL
                trial.set_user_attr("ferkit_failed", f"{type(exc).__name__}: {exc}")
                stats.errors.append(f"trial {trial.number}: {type(exc).__name__}: {exc}")
            if state == TrialState.COMPLETE:
                study.tell(trial, value)
                failures = 0
            else:
                study.tell(trial, state=state)
                failures = failures + 1 if state == TrialState.FAIL else 0
            stats.ran += 1
            if on_trial is not None:
                on_trial(trial, count_trials(study))
            if failures >= MAX_CONSECUTIVE_FAILURES:
                stats.stopped_by = "failures"
                break
    stats.wall_s = round(time.monotonic() - t0, 2)
    return stats


def trial_frozen(study, trial):
    """The stored (frozen) record of a live ``optuna.Trial``."""
    return study._storage.get_trial(trial._trial_id)
