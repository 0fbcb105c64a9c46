"""DataFrame output: one row per face per image/frame; pandas imported only on demand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ferkit.types import BBox, FaceResult, ImageResult, TrackSummary, VideoResult

pd = pytest.importorskip("pandas")


def _face(label, probs, **kw):
    return FaceResult(BBox(1, 2, 30, 40), probs, label, max(probs.values()), **kw)


def test_results_to_frame_rows_and_columns():
    from ferkit import results_to_frame

    two = ImageResult("a.jpg", (_face("pain", {"happy": 0.2, "pain": 0.8}),
                                _face("happy", {"happy": 0.9, "pain": 0.1}, track_id=3)))
    none = ImageResult("b.jpg")
    bad = ImageResult("c.jpg", error="cannot read")
    df = results_to_frame([two, none, bad])
    assert list(df["source"]) == ["a.jpg", "a.jpg", "b.jpg", "c.jpg"]
    assert list(df.columns[-2:]) == ["p_happy", "p_pain"]
    assert df["face"].tolist()[:2] == [0, 1] and pd.isna(df["face"].iloc[2])
    assert df["track_id"].iloc[1] == 3 and df["error"].iloc[3] == "cannot read"
    assert two.to_pandas().shape[0] == 2


def test_video_frames_and_tracks():
    from ferkit import results_to_frame

    frames = [(object(), ImageResult("v.mp4", (_face("happy", {"happy": 1.0}, track_id=1,
                                                     frame_index=i, timestamp=i / 10),),
                                     frame_index=i, timestamp=i / 10)) for i in range(3)]
    df = results_to_frame(frames)
    assert df["frame_index"].tolist() == [0, 1, 2] and df["timestamp"].tolist() == [0, .1, .2]
    video = VideoResult("v.mp4", tracks=(TrackSummary(1, 0, 2, 0.0, 0.2, 3, {"happy": 1.0},
                                                      "happy"),))
    tracks = video.to_pandas()
    assert tracks.loc[0, "num_frames"] == 3 and tracks.loc[0, "p_happy"] == 1.0
    assert list(VideoResult("v.mp4").to_pandas().columns)[:3] == ["source", "track_id", "label"]


def test_import_ferkit_does_not_import_pandas():
    code = ("import sys, ferkit, ferkit.types, ferkit.frames; "
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
