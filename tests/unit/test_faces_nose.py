"""Nose-relative patch models on photos: the crop puts the detected nose on the canonical nose."""

from __future__ import annotations

import numpy as np

from ferkit.faces import Detection
from ferkit.faces.align import AlignConfig, crop_faces
from ferkit.faces.base import nose_from_landmarks
from ferkit.models import create_model
from ferkit.types import BBox


def _dot_image(nose: tuple[int, int]) -> np.ndarray:
    img = np.zeros((200, 200, 3), np.uint8)
    x, y = nose
    img[y - 2:y + 3, x - 2:x + 3] = 255
    return img


def _brightest(crop: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(crop >= crop.max() * 0.6)
    return float(xs.mean()), float(ys.mean())


def test_patch_model_crop_puts_the_detected_nose_on_the_canonical_nose():
    info = create_model("patch_cnn").ferkit_info  # 48 px, nose (24, 28)
    nose = (118, 96)  # off the box centre on purpose
    det = Detection(BBox(50, 50, 100, 100), 1.0, None, None, nose)
    crops, flags = crop_faces(_dot_image(nose), [det], info, AlignConfig(rotate=False))
    x, y = _brightest(crops[0])
    assert abs(x - 24) <= 1.0 and abs(y - 28) <= 1.0
    assert "nose_landmarks" in flags[0]


def test_without_a_nose_landmark_the_crop_is_plain_and_flagged():
    info = create_model("patch_cnn").ferkit_info
    nose = (118, 96)
    det = Detection(BBox(50, 50, 100, 100), 1.0)
    crops, flags = crop_faces(_dot_image(nose), [det], info, AlignConfig(rotate=False))
    x, y = _brightest(crops[0])
    assert abs(x - 24) > 3  # not moved onto the canonical nose
    assert "nose_canonical" in flags[0]


def test_full_image_models_ignore_the_nose():
    info = create_model("patch_cnn_full").ferkit_info
    det = Detection(BBox(50, 50, 100, 100), 1.0, None, None, (118, 96))
    plain = Detection(BBox(50, 50, 100, 100), 1.0)
    a, fa = crop_faces(_dot_image((118, 96)), [det], info)
    b, fb = crop_faces(_dot_image((118, 96)), [plain], info)
    assert np.array_equal(a, b) and fa == fb


def test_dlib_layouts_give_the_nose_tip():
    five = np.array([[0, 0], [1, 0], [3, 0], [4, 0], [2, 5]], np.float32)
    assert nose_from_landmarks(five) == (2.0, 5.0)
    sixty_eight = np.zeros((68, 2), np.float32)
    sixty_eight[30] = (7, 9)
    assert nose_from_landmarks(sixty_eight) == (7.0, 9.0)
    assert nose_from_landmarks(None) is None


def test_mtcnn_detections_carry_a_nose():
    from ferkit.faces import create_detector
    from ferkit.inference.video import read_image

    img = read_image(_sample())
    dets = create_detector("mtcnn").detect(img)
    assert dets and all(d.nose is not None for d in dets)
    d = dets[0]
    x0, y0, x1, y1 = d.bbox.xyxy()
    assert x0 <= d.nose[0] <= x1 and y0 <= d.nose[1] <= y1


def _sample():
    from importlib.resources import files

    return str(files("ferkit") / "assets" / "sample_face.jpg")
