"""Alignment: eyes level after the warp, margin/framing, colour handling, flags."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ferkit.errors import ConfigError
from ferkit.faces import AlignConfig, Detection, align_face, crop_faces, face_flags
from ferkit.faces.align import alignment_matrix, eye_angle
from ferkit.types import BBox, ModelInfo


def _tilted_face(angle_deg: float):
    """A gray image with two bright 'eyes' on a line tilted by angle_deg, and its detection."""
    img = np.full((200, 200, 3), 40, np.uint8)
    cx, cy, half = 100.0, 90.0, 30.0
    dx, dy = half * math.cos(math.radians(angle_deg)), half * math.sin(math.radians(angle_deg))
    left, right = (cx - dx, cy - dy), (cx + dx, cy + dy)
    import cv2

    for x, y in (left, right):
        cv2.circle(img, (round(x), round(y)), 5, (255, 255, 255), -1)
    det = Detection(BBox(50, 50, 100, 100), 1.0, np.array([left, right]), (left, right))
    return img, det


def _blob_centres(gray: np.ndarray):
    import cv2

    _, mask = cv2.threshold(gray, 150, 255, cv2.THRESH_BINARY)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:2] + 1
    return sorted(tuple(cents[i]) for i in order)


@pytest.mark.parametrize("angle", [-20.0, 15.0, 30.0])
def test_eyes_level_after_alignment(angle):
    img, det = _tilted_face(angle)
    assert eye_angle(det.eyes) == pytest.approx(angle, abs=1.0)
    crop = align_face(img, det, 96, in_chans=1, cfg=AlignConfig(margin=0.1))
    (lx, ly), (rx, ry) = _blob_centres(crop)
    assert abs(ly - ry) < 1.5, (ly, ry)
    assert rx - lx > 30  # both eyes still visible and apart


def test_rotation_off_keeps_tilt():
    img, det = _tilted_face(25.0)
    crop = align_face(img, det, 96, cfg=AlignConfig(rotate=False))
    (_, ly), (_, ry) = _blob_centres(crop)
    assert ry - ly > 10


def test_alignment_maps_box_centre_to_crop_centre_and_margin_scales():
    box = BBox(40, 60, 80, 80)
    m = alignment_matrix(box, None, 100, AlignConfig(margin=0.25))
    centre = m @ np.array([80.0, 100.0, 1.0])
    corner = m @ np.array([40.0, 60.0, 1.0])
    assert centre == pytest.approx([50.0, 50.0])
    # box side 80 * (1 + 2 * 0.25) = 120 px → 100 px crop: the box corner lands at 1/6 * 100
    assert corner == pytest.approx([100 / 6, 100 / 6])


def test_crop_shapes_follow_model_info():
    img = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    boxes = [BBox(10, 10, 50, 50), BBox(80, 20, 60, 60)]
    gray, flags = crop_faces(img, boxes, ModelInfo(name="g", input_size=48, in_chans=1))
    assert gray.shape == (2, 48, 48) and gray.dtype == np.uint8 and len(flags) == 2
    rgb, _ = crop_faces(img, boxes, ModelInfo(name="c", input_size=64, in_chans=3,
                                              mean=(0.5,) * 3, std=(0.5,) * 3))
    assert rgb.shape == (2, 64, 64, 3)
    empty, none = crop_faces(img, [], ModelInfo(name="g"))
    assert empty.shape == (0, 48, 48) and none == []


def test_rgb_crop_is_rgb_order():
    img = np.zeros((100, 100, 3), np.uint8)
    img[..., 2] = 255  # pure red in BGR
    crop = align_face(img, BBox(20, 20, 60, 60), 32, in_chans=3)
    assert crop[16, 16].tolist() == [255, 0, 0]


def test_flags_small_and_border():
    cfg = AlignConfig(min_face=30)
    assert face_flags(BBox(50, 50, 20, 20), 200, 200, cfg) == ("small",)
    assert face_flags(BBox(0, 50, 60, 60), 200, 200, cfg) == ("border",)
    assert face_flags(BBox(170, 170, 40, 40), 200, 200, cfg) == ("border",)
    assert face_flags(BBox(50, 50, 60, 60), 200, 200, cfg) == ()


def test_border_faces_are_padded_not_dropped():
    img = np.full((100, 100, 3), 200, np.uint8)
    crops, flags = crop_faces(img, [BBox(-20, -20, 60, 60)], ModelInfo(name="g"))
    assert crops.shape == (1, 48, 48) and flags == [("border",)]
    assert crops.min() == 200  # replicate padding, no black frame


def test_align_config_validation():
    with pytest.raises(ConfigError):
        AlignConfig(margin=-0.1)
    with pytest.raises(ConfigError):
        AlignConfig(border="mirror")
