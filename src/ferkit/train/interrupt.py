"""Ctrl-C and SIGTERM during ``train``: stop after the current batch, save, say how to resume.

Lightning already has the mechanism for SIGTERM: its handler sets ``trainer.received_sigterm``,
the loops raise ``SIGTERMException`` at the next batch boundary, and callbacks see it in
``on_exception`` (where ``ResumeState`` saves the steps since its last save). Two gaps remain,
filled here: SIGINT makes Lightning exit(1) from wherever it lands, so it is forwarded to
Lightning's SIGTERM handler instead; and the exception carries no exit code or message, so the
run ends in :class:`ferkit.interrupt.Interrupted` (exit 130 / 143) naming the resume command.
Before and after ``fit`` (data loading, calibration) there is no batch to finish: the first
signal stops at once.
"""

from __future__ import annotations

import shlex
import signal
from pathlib import Path

from ferkit.interrupt import Interrupted, StopRequest, signal_name


class TrainStop(StopRequest):
    """The signal handler for a training run (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.trainer = None
        self.run_dir: Path | None = None
        self._forwarding = False

    def watch(self, trainer, run_dir: Path) -> None:
        self.trainer, self.run_dir = trainer, Path(run_dir)

    def handle(self, signum: int, frame) -> None:
        if self._forwarding:  # our own SIGINT → SIGTERM hand-over coming back through Lightning
            return
        if self.signum is not None:  # a second signal: stop now, the last saved state stands
            raise KeyboardInterrupt
        self.signum = signum
        lightning = signal.getsignal(signal.SIGTERM)
        if lightning is self._handler or not callable(lightning):
            raise KeyboardInterrupt  # not inside fit: nothing to finish
        if signum != signal.SIGTERM:  # Lightning listens to SIGTERM only: hand SIGINT over
            self._forwarding = True
            try:
                lightning(signal.SIGTERM, frame)
            finally:
                self._forwarding = False


def interrupted(stop: TrainStop, cfg) -> Interrupted:
    """The one-line report: what stopped, what was saved, the exact resume command."""
    from ferkit.train.callbacks import RESUME_FILE, ResumeState

    signum = stop.signum if stop.signum is not None else signal.SIGINT
    run_dir = stop.run_dir or (Path(cfg.output) if cfg.output else None)
    what = f"training stopped by {signal_name(signum)}"
    state = None if run_dir is None else run_dir / RESUME_FILE
    if state is None or not state.is_file():
        from ferkit.train.teacher_cache import partial_views

        partial = None if run_dir is None else partial_views(cfg, run_dir)
        if partial is not None:
            return Interrupted(f"{what} while computing the teacher cache; the {partial[1]} "
                               f"views done are kept in {str(partial[0])!r}: run the same command "
                               "again to continue from them", signum)
        where = "" if run_dir is None else f" (the folder {str(run_dir)!r} is reused)"
        return Interrupted(f"{what} before its first checkpoint; nothing to resume: run the same "
                           f"command again to start over{where}", signum)
    saver = next((c for c in getattr(stop.trainer, "callbacks", [])
                  if isinstance(c, ResumeState)), None)
    at = ""
    if saver is not None and saver.saved_step is not None:
        at = f" at epoch {saver.saved_epoch + 1}, step {saver.saved_step}"
    command = f"ferkit train --resume --output {shlex.quote(str(run_dir))}"
    return Interrupted(f"{what}; progress saved{at} in {str(state)!r}. Resume with: {command}",
                       signum)
