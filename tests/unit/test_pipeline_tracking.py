"""IoU tracker (stable ids, new faces, expiry, carrying) and EMA smoothing math."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.errors import ConfigError
from ferkit.inference.tracking import EmaSmoother, IouTracker, _greedy, iou_matrix, match
from ferkit.types import BBox


def test_iou_matrix_values():
    a = [BBox(0, 0, 10, 10)]
    b = [BBox(0, 0, 10, 10), BBox(5, 0, 10, 10), BBox(20, 20, 5, 5)]
    iou = iou_matrix(a, b)
    assert iou[0] == pytest.approx([1.0, 50 / 150, 0.0])
    assert iou[0, 1] == pytest.approx(a[0].iou(b[1]))
    assert iou_matrix([], b).shape == (0, 3)


def test_track_id_stable_for_a_moving_box():
    tracker = IouTracker(iou_threshold=0.3)
    ids = [tracker.update(f, [BBox(10 + 3 * f, 20 + f, 40, 40)])[0] for f in range(30)]
    assert set(ids) == {1}


def test_two_faces_keep_their_ids_and_new_face_gets_new_id():
    tracker = IouTracker()
    seen = []
    for f in range(10):
        boxes = [BBox(10 + f, 10, 30, 30), BBox(100 - f, 50, 30, 30)]
        if f >= 5:
            boxes.append(BBox(200, 200, 30, 30))
        seen.append(tracker.update(f, boxes))
    assert all(s[:2] == [1, 2] for s in seen)
    assert all(s[2] == 3 for s in seen[5:])


def test_optimal_assignment_beats_greedy_order():
    # box order swapped between frames: matching must follow overlap, not list order
    tracker = IouTracker()
    first = tracker.update(0, [BBox(0, 0, 20, 20), BBox(50, 0, 20, 20)])
    second = tracker.update(1, [BBox(52, 0, 20, 20), BBox(2, 0, 20, 20)])
    assert second == [first[1], first[0]]


def test_greedy_and_hungarian_agree_on_clear_cases():
    iou = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    assert sorted(match(iou, 0.3)) == sorted(_greedy(iou, 0.3)) == [(0, 0), (1, 1)]


def test_tracks_expire_after_max_age_and_ids_are_not_reused():
    tracker = IouTracker(max_age=3)
    assert tracker.update(0, [BBox(0, 0, 20, 20)]) == [1]
    for f in range(1, 5):
        tracker.update(f, [])
    assert tracker.tracks == []
    assert tracker.update(5, [BBox(0, 0, 20, 20)]) == [2]


def test_short_gap_keeps_identity():
    tracker = IouTracker(max_age=5)
    tracker.update(0, [BBox(0, 0, 20, 20)])
    tracker.update(1, [])
    assert tracker.update(2, [BBox(1, 0, 20, 20)]) == [1]


def test_carry_predicts_with_velocity_and_only_live_tracks():
    tracker = IouTracker()
    tracker.update(0, [BBox(0, 0, 20, 20)])
    tracker.update(3, [BBox(9, 0, 20, 20)])  # 3 px per frame
    (tid, box), = tracker.carry(4)
    assert tid == 1 and 9 < box.x <= 12  # moved forward, damped
    assert tracker.carry(3)[0][1] == BBox(9, 0, 20, 20)
    tracker.update(6, [])  # detector found nothing: nothing to carry
    assert tracker.carry(7) == []


def test_tracker_validates_options():
    with pytest.raises(ConfigError):
        IouTracker(iou_threshold=1.5)


def test_ema_smoothing_math():
    ema = EmaSmoother(alpha=0.25)
    p0 = np.array([1.0, 0.0, 0.0])
    p1 = np.array([0.0, 1.0, 0.0])
    assert ema.update(7, p0) == pytest.approx(p0)  # first observation taken as is
    s1 = ema.update(7, p1)
    assert s1 == pytest.approx([0.75, 0.25, 0.0])
    s2 = ema.update(7, p1)
    assert s2 == pytest.approx(0.25 * p1 + 0.75 * s1)
    assert ema.update(8, p1) == pytest.approx(p1)  # tracks are independent
    ema.forget({8})
    assert set(ema.state) == {8}


def test_ema_alpha_one_is_no_smoothing_and_bad_alpha_rejected():
    ema = EmaSmoother(alpha=1.0)
    ema.update(1, np.array([0.2, 0.8]))
    assert ema.update(1, np.array([0.9, 0.1])) == pytest.approx([0.9, 0.1])
    with pytest.raises(ConfigError):
        EmaSmoother(alpha=0.0)
