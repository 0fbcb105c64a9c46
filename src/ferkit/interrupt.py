"""SIGINT / SIGTERM as a polite stop request, shared by ``train``, ``predict`` and ``live``.

A signal that arrives in the middle of writing a frame, a CSV row or a checkpoint must not tear
it: the handler only records the signal, and the running loop stops at its next safe point
(after the current frame; Lightning after the current batch), saves what it can and raises
:class:`Interrupted`, which the CLI prints as one line and turns into the conventional exit code
(128 + signal number: 130 for Ctrl-C, 143 for SIGTERM). A second signal stops at once.
"""

from __future__ import annotations

import signal
import threading

from ferkit.errors import FerkitError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(FerkitError):
    """A run stopped by a signal; ``exit_code`` is 128 + the signal number."""

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


def signal_name(signum: int | None) -> str:
    return "a signal" if signum is None else signal.Signals(signum).name


class StopRequest:
    """Records the first SIGINT/SIGTERM instead of dying; ``stop.signum`` tells which arrived.

    Used as a context manager around a loop that polls ``stop.requested``. Outside the main
    thread (where Python cannot install handlers) it installs nothing and never fires.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}
        self._handler = self.handle  # one bound method, so it can be recognised later

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal_name(self.signum)

    def handle(self, signum: int, frame) -> None:
        if self.signum is not None:  # the second signal: stop now
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._old[s] = signal.getsignal(s)
                signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)  # type: ignore[arg-type]
        self._old.clear()
