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


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """An untrained ``tinycnn_test`` saved as a ferkit checkpoint (seeded, so reproducible)."""
    from ferkit.checkpoint import CheckpointMeta, save_checkpoint
    from ferkit.models import create_model
    from ferkit.seed import seed_everything

    seed_everything(0)
    model = create_model("tinycnn_test")
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_checkpoint(path, model.state_dict(), CheckpointMeta(model="tinycnn_test",
                                                             info=model.ferkit_info))
    return path


def _register_blob_detector() -> None:
    """Test detector 'test-blobs': every bright (>128) blob of at least 10x10 px is a 'face'.

    Haar cannot find drawn shapes, so pipeline tests use this to get known boxes.
    """
    import cv2

    from ferkit.faces import DETECTORS, Detection, Detector
    from ferkit.types import BBox

    class BlobDetector(Detector):
        name = "test-blobs"

        def detect(self, image_bgr):
            gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
            _, mask = cv2.threshold(gray, 128, 255, cv2.THRESH_BINARY)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            boxes = [cv2.boundingRect(c) for c in contours]
            return [Detection(BBox(*map(float, b)), 0.9) for b in sorted(boxes) if b[2] >= 10]

    if "test-blobs" not in DETECTORS:
        DETECTORS.add("test-blobs", BlobDetector)


@pytest.fixture(scope="session")
def blob_detector():
    """Name of the registered test detector (see ``_register_blob_detector``)."""
    _register_blob_detector()
    return "test-blobs"


def _load_tool(name: str, folder: str = "tools"):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_tool():
    """``load_tool(name, folder="tools")``: a script in ``tools/`` (or ``benchmarks/``; not
    packages) imported as a module."""
    return _load_tool
