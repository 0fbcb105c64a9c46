"""Where a study lives: Optuna's journal file by default, any database URL on request.

The default is Optuna's ``JournalFileBackend`` (an append-only log with file locking) inside the
output folder, not SQLite: several worker processes on one machine append to it without SQLite's
"database is locked" retries, and a worker killed mid-write cannot corrupt earlier records
(benchmarks/results/search-storage-2026-11-30.md measures both). ``--storage`` takes any
SQLAlchemy URL (``sqlite:///study.db``, ``postgresql://user@host/db``) so workers on several
machines share one study, or ``journal:PATH`` / a ``*.journal`` path for a shared file system.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.errors import ConfigError

DEFAULT_FILE = "study.journal"
RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


def describe(url: str | None, output: Path) -> str:
    """The storage a run uses, as a string for reports (passwords masked)."""
    if url is None:
        return f"journal:{output / DEFAULT_FILE}"
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url


def _journal(path: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--storage: cannot create the journal file {str(path)!r} "
                          f"({exc.strerror or exc}); choose a writable --output or "
                          "--storage") from None
    return JournalStorage(JournalFileBackend(str(path)))


def open_storage(url: str | None, output: Path):
    """An Optuna storage object for ``url`` (None → a journal file in ``output``).

    Any failure to open is one ``ConfigError`` line naming the URL, never a driver traceback.
    """
    if url is None:
        return _journal(output / DEFAULT_FILE)
    if url.startswith("journal:"):
        return _journal(Path(url[len("journal:"):]).expanduser())
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
    if not scheme:
        if url.endswith((".journal", ".log")):
            return _journal(Path(url).expanduser())
        raise ConfigError(f"--storage {url!r} is neither a database URL (sqlite:///study.db, "
                          "postgresql://user@host/db) nor a journal file (journal:PATH or "
                          "*.journal)")
    if scheme not in RDB_SCHEMES:
        raise ConfigError(f"--storage {describe(url, output)!r}: unknown scheme {scheme!r}; use "
                          f"one of {', '.join(RDB_SCHEMES)} or journal:PATH")
    from optuna.storages import RDBStorage

    try:
        return RDBStorage(url, engine_kwargs={"pool_pre_ping": True} if scheme != "sqlite"
                          else None)
    except ImportError as exc:
        raise ConfigError(f"--storage {describe(url, output)!r}: the database driver is not "
                          f"installed ({exc}); pip install the driver for {scheme}") from None
    except Exception as exc:  # SQLAlchemy/driver errors: one line with the first message line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ConfigError(f"--storage {describe(url, output)!r} cannot be opened: {first}"
                          ) from None
