"""MTCNN (the default, shipped weights) and BlazeFace (extra 'blazeface'): real faces, landmarks
the aligner uses, offline operation with sockets blocked, shipped files intact."""

from __future__ import annotations

import hashlib
import json
import socket
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import cv2
import numpy as np
import pytest

from ferkit.errors import ConfigError, FerkitError
from ferkit.faces import DEFAULT_DETECTOR, DETECTORS, create_detector
from ferkit.faces.align import AlignConfig, align_face, eye_angle
from ferkit.faces.blazeface import SPECS, anchors, weighted_nms
from ferkit.faces.mtcnn import MODEL_DIR, nms
from ferkit.inference.pipeline import SAMPLE_IMAGE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """The bundled public-domain portrait (one frontal face)."""
    return cv2.imread(str(SAMPLE_IMAGE), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def mtcnn():
    return create_detector("mtcnn")


def rotate(image: np.ndarray, angle: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def blazeface_or_skip(name: str = "blazeface"):
    try:
        return create_detector(name)
    except FerkitError as exc:
        pytest.skip(str(exc))


def test_mtcnn_is_the_default_and_registered_with_video_size():
    assert DEFAULT_DETECTOR == "mtcnn"
    assert DETECTORS.meta("mtcnn")["video_max_side"] == 320
    import inspect

    from ferkit.inference.pipeline import Pipeline

    assert inspect.signature(Pipeline).parameters["detector"].default == DEFAULT_DETECTOR


def test_mtcnn_finds_the_portrait_face_with_five_landmarks(mtcnn, portrait):
    faces = mtcnn.detect(portrait)
    assert len(faces) == 1
    face = faces[0]
    assert face.score >= 0.98 and face.landmarks.shape == (5, 2)
    x0, y0, x1, y1 = face.bbox.xyxy()
    assert face.bbox.w == pytest.approx(face.bbox.h)  # Haar-framed square
    assert all(x0 < x < x1 and y0 < y < y1 for x, y in face.landmarks)
    (lx, ly), (rx, ry) = face.eyes
    nose, mouth_l, mouth_r = face.landmarks[2:]
    assert lx < nose[0] < rx and max(ly, ry) < nose[1] < min(mouth_l[1], mouth_r[1])


def test_mtcnn_accepts_gray_images(mtcnn, portrait):
    gray = cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY)
    assert len(mtcnn.detect(gray)) == 1


def test_mtcnn_landmarks_level_a_tilted_face(mtcnn, portrait):
    """The aligner levels the eye line from the detector's landmarks."""
    upright = mtcnn.detect(portrait)[0]
    tilted = mtcnn.detect(rotate(portrait, 20))
    assert len(tilted) == 1
    # OpenCV's positive angle turns the image counter-clockwise: the right eye rises
    assert eye_angle(tilted[0].eyes) - eye_angle(upright.eyes) == pytest.approx(-20, abs=5)
    crop = align_face(rotate(portrait, 20), tilted[0], 64, 1, AlignConfig())
    again = mtcnn.detect(cv2.cvtColor(cv2.resize(crop, (160, 160)), cv2.COLOR_GRAY2BGR))
    assert len(again) == 1 and abs(eye_angle(again[0].eyes)) < 6


def test_mtcnn_finds_a_face_that_fills_a_small_crop(mtcnn, portrait):
    face = mtcnn.detect(portrait)[0]
    x, y, w, h = (int(v) for v in (face.bbox.x, face.bbox.y, face.bbox.w, face.bbox.h))
    crop = cv2.resize(portrait[y:y + h, x:x + w], (48, 48), interpolation=cv2.INTER_AREA)
    found = mtcnn.detect(crop)
    assert len(found) == 1 and found[0].bbox.iou(type(face.bbox)(3, 3, 42, 42)) > 0.5


def test_mtcnn_boxes_map_back_to_original_pixels(portrait):
    big = cv2.resize(portrait, (1024, 1024))
    small_work = create_detector("mtcnn", max_side=256).detect(big)
    full = create_detector("mtcnn", max_side=None).detect(big)
    assert len(small_work) == len(full) == 1
    assert small_work[0].bbox.iou(full[0].bbox) > 0.8


def test_mtcnn_options_are_validated():
    with pytest.raises(ConfigError, match="min_face"):
        create_detector("mtcnn", min_face=8)
    with pytest.raises(ConfigError, match="score_threshold"):
        create_detector("mtcnn", score_threshold=1.5)
    with pytest.raises(ConfigError, match="pyramid_factor"):
        create_detector("mtcnn", pyramid_factor=0.99)
    with pytest.raises(ConfigError, match="has no option 'thresholds'"):
        create_detector("mtcnn", thresholds=(0.6, 0.7, 0.7))


def test_mtcnn_raw_boxes_option(portrait):
    raw = create_detector("mtcnn", square=False).detect(portrait)[0].bbox
    assert raw.h > raw.w  # MTCNN's own boxes run from brow to chin


def test_nms_min_mode_drops_nested_boxes():
    boxes = np.array([[0, 0, 100, 100], [10, 10, 40, 40], [200, 200, 260, 260]], np.float32)
    scores = np.array([0.9, 0.95, 0.8], np.float32)
    assert sorted(nms(boxes, scores, 0.5).tolist()) == [0, 1, 2]  # IoU of nested box is small
    assert sorted(nms(boxes, scores, 0.5, mode="min").tolist()) == [1, 2]


def test_detectors_work_with_sockets_blocked(monkeypatch, portrait):
    """Nothing is downloaded: building and running the shipped detectors needs no network."""

    def no_network(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert len(create_detector("mtcnn").detect(portrait)) == 1
    try:
        blaze = create_detector("blazeface")
    except FerkitError:
        return  # extra not installed: covered by the install-hint test
    assert len(blaze.detect(portrait)) == 1


def test_shipped_model_files_match_provenance_and_are_packaged():
    prov = json.loads((MODEL_DIR / "PROVENANCE.json").read_text())
    files = {**prov["mtcnn"]["files"], **prov["blazeface"]["files"]}
    assert len(files) == 5
    for name, entry in files.items():
        assert hashlib.sha256((MODEL_DIR / name).read_bytes()).hexdigest() == entry["sha256"]
    for licence in ("LICENSE-facenet-pytorch.md", "LICENSE-mediapipe.txt"):
        assert (MODEL_DIR / licence).stat().st_size > 500
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["ferkit"]
    for name in files:
        assert any(fnmatch(f"faces/models/{name}", p) for p in patterns), name


def test_blazeface_anchor_grids():
    assert anchors(SPECS["short"]).shape == (896, 2)
    assert anchors(SPECS["full"]).shape == (2304, 2)
    a = anchors(SPECS["short"])
    assert a.min() > 0 and a.max() < 1 and np.allclose(a[0], a[1])  # 2 anchors per 8-px cell


def test_weighted_nms_averages_overlapping_candidates():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], np.float64)
    scores = np.array([0.9, 0.9, 0.6])
    points = np.zeros((3, 6, 2))
    out = weighted_nms(boxes, scores, points, 0.3)
    assert len(out) == 2
    assert out[0][0][0] == pytest.approx(1.0) and out[0][1] == pytest.approx(0.9)


@pytest.mark.parametrize("name", ["blazeface", "blazeface-full"])
def test_blazeface_finds_the_portrait_face(name, portrait):
    det = blazeface_or_skip(name)
    faces = det.detect(portrait)
    assert len(faces) == 1 and faces[0].landmarks.shape == (6, 2)
    mt = create_detector("mtcnn").detect(portrait)[0]
    assert faces[0].bbox.iou(mt.bbox) > 0.6  # both framed like Haar
    assert np.abs(np.asarray(faces[0].eyes) - np.asarray(mt.eyes)).max() < 8


def test_blazeface_options_and_missing_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("ai_edge_litert"):
            raise ImportError("no litert")
        return real_import(name, *args, **kwargs)

    with pytest.raises(ConfigError, match="model"):
        create_detector("blazeface", model="medium")
    with pytest.raises(ConfigError, match="score_threshold"):
        create_detector("blazeface", score_threshold=1.0)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(FerkitError, match=r"pip install 'ferkit\[blazeface\]'"):
        create_detector("blazeface")
