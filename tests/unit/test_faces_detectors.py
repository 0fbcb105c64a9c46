"""Detector contract: registry, options, downscaling, landmarks → eyes, optional extras."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.errors import ConfigError, UnknownNameError
from ferkit.faces import DETECTORS, Detection, create_detector
from ferkit.faces.base import downscale_for_detection, eyes_from_landmarks, package_dir


def test_builtin_detectors_registered():
    for name in ("haar", "haar-default", "dlib-hog", "dlib-cnn", "yunet", "mtcnn", "blazeface",
                 "blazeface-full"):
        assert name in DETECTORS


def test_unknown_detector_suggests_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'haar'"):
        create_detector("haar2x")


@pytest.mark.parametrize("name", DETECTORS.names())
def test_every_registered_detector_meets_the_contract(name):
    """Generated from the registry: build with defaults (skip when an optional extra or a
    user-supplied model file is needed), then blank → no face, noise → a list of Detection."""
    from ferkit.errors import FerkitError

    try:
        det = create_detector(name, max_side=160)
    except FerkitError as exc:
        pytest.skip(f"{name}: {exc}")
    assert det.detect(np.zeros((120, 160, 3), np.uint8)) == []
    out = det.detect(np.random.default_rng(0).integers(0, 255, (90, 90, 3), dtype=np.uint8))
    assert isinstance(out, list) and all(isinstance(d, Detection) for d in out)


def test_haar_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="not found"):
        create_detector("haar", cascade="no-such-cascade")
    with pytest.raises(ConfigError, match="scale_factor"):
        create_detector("haar", scale_factor=1.0)
    with pytest.raises(ConfigError, match="has no option 'colour'"):
        create_detector("haar", colour="blue")


def test_downscale_maps_back_to_original_pixels():
    img = np.zeros((360, 640, 3), np.uint8)
    small, factor = downscale_for_detection(img, max_side=320)
    assert small.shape[:2] == (180, 320) and factor == pytest.approx(2.0)
    same, f1 = downscale_for_detection(img, max_side=None)
    assert same is img and f1 == 1.0
    half, f2 = downscale_for_detection(img, max_side=None, detect_scale=0.25)
    assert half.shape[:2] == (90, 160) and f2 == pytest.approx(4.0)
    with pytest.raises(ConfigError):
        downscale_for_detection(img, detect_scale=0.0)


def test_eyes_from_landmarks_layouts():
    pts68 = np.zeros((68, 2))
    pts68[36:42] = (30, 40)
    pts68[42:48] = (70, 44)
    assert eyes_from_landmarks(pts68) == ((30.0, 40.0), (70.0, 44.0))
    pts5 = np.array([(80, 50), (70, 50), (20, 52), (30, 52), (50, 80)], float)
    assert eyes_from_landmarks(pts5) == ((25.0, 52.0), (75.0, 50.0))  # sorted left → right
    assert eyes_from_landmarks(None) is None
    assert eyes_from_landmarks(np.zeros((3, 2))) is None


def test_yunet_needs_a_model_file(tmp_path):
    with pytest.raises(ConfigError, match="--yunet-model"):
        create_detector("yunet")
    with pytest.raises(ConfigError, match="does not exist"):
        create_detector("yunet", model_path=str(tmp_path / "missing.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(ConfigError, match="is not a YuNet face detector"):
        create_detector("yunet", model_path=str(bad))


def test_package_dir_finds_a_package_without_importing_it():
    import sys

    assert package_dir("no_such_package_xyz") is None
    sys.modules.pop("email.mime", None)
    path = package_dir("email.mime")
    assert path is not None and (path / "__init__.py").is_file()
    assert "email.mime" not in sys.modules


@pytest.mark.parametrize("name", ["dlib-hog", "dlib-cnn"])
def test_dlib_detectors_when_installed(name):
    pytest.importorskip("dlib")
    if package_dir("face_recognition_models") is None:
        pytest.skip("face-recognition-models not installed")
    det = create_detector(name, max_side=160)
    assert det.detect(np.zeros((100, 120, 3), np.uint8)) == []


def test_dlib_missing_gives_install_hint(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "dlib":
            raise ImportError("no dlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from ferkit.errors import FerkitError

    with pytest.raises(FerkitError, match=r"pip install 'ferkit\[dlib\]'"):
        create_detector("dlib-hog")
