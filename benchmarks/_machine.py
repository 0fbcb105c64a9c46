"""Where and on what a benchmark ran: one description shared by every script in benchmarks/.

Each result file records this so a number can be traced to a commit and a machine.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def load_average() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def git_commit() -> str:
    from ferkit.checkpoint import git_commit as commit

    return commit(REPO)


def machine_info(**extra) -> dict:
    """Platform, CPU, load, git commit, and torch/onnxruntime versions when they are loaded."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu": cpu_model(), "cpu_count": os.cpu_count(), "load_average": load_average(),
            "git_commit": git_commit()}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    if "onnxruntime" in sys.modules:
        info["onnxruntime"] = sys.modules["onnxruntime"].__version__
    info.update(extra)
    return info
