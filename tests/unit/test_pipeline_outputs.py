"""Writers: CSV temp-then-rename, bounded timeline, annotation, media reader errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ferkit.errors import MediaError
from ferkit.inference.outputs import CsvWriter, Timeline, annotate, csv_columns
from ferkit.inference.video import VideoReader, expand_inputs, read_image
from ferkit.types import EMOTIONS, BBox, FaceResult, ImageResult


def face(t: float, track: int = 1, label: str = "happy") -> FaceResult:
    probs = {k: (0.94 if k == label else 0.01) for k in EMOTIONS}
    return FaceResult(BBox(10, 20, 30, 30), probs, label, 0.94, track, int(t * 10), t,
                      ("carried",))


def test_csv_appears_only_when_closed_and_abort_discards(tmp_path):
    path = tmp_path / "r.csv"
    writer = CsvWriter(path, EMOTIONS)
    writer.write(ImageResult("v.mp4", (face(0.1), face(0.2, 2)), 64, 64, None, 1, 0.1))
    assert not path.exists()  # still a temp file
    writer.close()
    rows = list(csv.reader(path.open()))
    assert rows[0] == csv_columns(EMOTIONS) and len(rows) == 3
    assert rows[1][:8] == ["v.mp4", "0.100", "1", "1", "10.0", "20.0", "30.0", "30.0"]
    assert rows[1][-3:] == ["happy", "0.9400", "carried"]
    aborted = CsvWriter(tmp_path / "x.csv", EMOTIONS)
    aborted.close(ok=False)
    assert list(tmp_path.iterdir()) == [path]


def test_timeline_memory_is_bounded_and_plot_is_a_png(tmp_path):
    tl = Timeline(EMOTIONS, max_points=50)
    for i in range(1000):
        tl.add(ImageResult("v", (face(i / 10),), 64, 64, None, i, i / 10))
    pts = tl.points(1)
    assert len(pts) <= 51 and pts[:, 1].sum() == pytest.approx(1000)  # weights keep the count
    assert pts[:, 0].min() < 2 and pts[:, 0].max() > 98  # still spans the whole video
    assert np.ptp(pts[:-1, 1]) == 0  # every full bin has the same weight
    assert np.diff(pts[:, 0]).min() > 0  # times stay ordered
    out = tl.plot(tmp_path / "t.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    empty = Timeline(EMOTIONS).plot(tmp_path / "e.png")
    assert empty.stat().st_size > 0


def test_annotate_draws_inside_a_copy():
    img = np.zeros((100, 100, 3), np.uint8)
    out = annotate(img, [face(0.0)])
    assert img.sum() == 0 and out.sum() > 0
    assert out[20, 10:40].any()  # box top edge


def test_media_errors(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        expand_inputs([tmp_path / "nope.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match="no images or videos"):
        expand_inputs([tmp_path / "empty"])
    (tmp_path / "bad.png").write_bytes(b"")
    with pytest.raises(MediaError, match="cannot decode"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(MediaError, match="cannot open camera 99"):
        VideoReader(99)
    with pytest.raises(MediaError, match="does not exist"):
        VideoReader(tmp_path / "missing.mp4")
