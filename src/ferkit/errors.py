"""The error hierarchy.

Every error a user can trigger is a ``FerkitError``; the CLI turns it into one line on stderr and
exit code 1, so messages must say what was wrong, what was received and how to fix it. Each class
also derives from the matching builtin so library callers can catch ``ValueError`` etc. as usual.
"""

from __future__ import annotations


class FerkitError(Exception):
    """Base class for user-facing errors (one clear line, no traceback)."""


class ConfigError(FerkitError, ValueError):
    """A configuration value, key, or override is invalid."""


class UnknownNameError(FerkitError, LookupError):
    """A name (model, dataset format, detector, ...) is not registered."""

    def __str__(self) -> str:  # LookupError would repr() a single arg; keep the plain message
        return str(self.args[0]) if self.args else ""


class DataError(FerkitError, ValueError):
    """A dataset or input file is missing, empty, malformed or unreadable."""


class CheckpointError(FerkitError, ValueError):
    """A checkpoint/weights file is missing, unsafe, or inconsistent with its metadata."""


class MediaError(FerkitError, ValueError):
    """An image or video given for inference cannot be read."""


class NoFaceError(FerkitError):
    """No face was found where the caller asked for an error instead of an empty result."""


class ExportError(FerkitError, RuntimeError):
    """Model export failed or the exported model disagrees with the original."""


class MissingDependencyError(FerkitError, ImportError):
    """An optional extra (e.g. ``ferkit[serve]``) is needed but not installed."""
