"""Shared test setup: offline, small, deterministic; caches go to a per-session temp folder."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    os.environ["FERKIT_CACHE"] = str(tmp_path_factory.mktemp("ferkit-cache"))
    os.environ["MPLBACKEND"] = "Agg"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    yield


@pytest.fixture
def cli(capsys):
    """Run the ferkit CLI in-process: returns (exit_code, stdout, stderr)."""
    from ferkit.cli.app import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
