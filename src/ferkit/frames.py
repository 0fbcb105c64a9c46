"""Results as pandas DataFrames: one row per face per image (or video frame).

pandas is an optional extra (``pip install ferkit[pandas]``) and is imported only when a frame
is asked for, so ``import ferkit`` and every command stay as fast as without it.

>>> from ferkit import Pipeline, results_to_frame                     # doctest: +SKIP
>>> pipe = Pipeline()                                                 # doctest: +SKIP
>>> df = results_to_frame(pipe.predict_paths(["a.jpg", "b.jpg"]))     # doctest: +SKIP
>>> df.groupby("label").size()                                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ferkit.errors import FerkitError

#: columns before the per-label probability columns
BASE_COLUMNS = ("source", "frame_index", "timestamp", "face", "track_id", "x", "y", "w", "h",
                "label", "confidence", "detection_score", "flags", "error")


def _pandas():
    try:
        import pandas
    except ImportError:
        raise FerkitError("DataFrame output needs pandas: pip install 'ferkit[pandas]' (or "
                          "pip install pandas)") from None
    return pandas


def face_rows(result: Any) -> list[dict[str, Any]]:
    """Rows for one ImageResult: one per face; an image with no face (or an error) gets one
    row with empty face columns, so no input silently disappears from the table."""
    base = {"source": result.source, "frame_index": result.frame_index,
            "timestamp": result.timestamp, "error": result.error}
    if not result.faces:
        return [{**base, "face": None}]
    rows = []
    for i, f in enumerate(result.faces):
        rows.append({**base, "face": i, "track_id": f.track_id,
                     "timestamp": f.timestamp if f.timestamp is not None else result.timestamp,
                     "x": f.bbox.x, "y": f.bbox.y, "w": f.bbox.w, "h": f.bbox.h,
                     "label": f.label, "confidence": f.confidence,
                     "detection_score": f.detection_score, "flags": ",".join(f.flags),
                     **{f"p_{k}": v for k, v in f.probs.items()}})
    return rows


def results_to_frame(results: Any) -> Any:
    """ImageResults (photos, or the frames of ``Pipeline.iter_video``) → a DataFrame with one
    row per face per image/frame and a ``p_<label>`` column per model label; a VideoResult →
    its per-track summary (``VideoResult.to_pandas``)."""
    from ferkit.types import ImageResult, VideoResult

    pd = _pandas()
    if isinstance(results, VideoResult):
        return tracks_frame(results)
    if isinstance(results, ImageResult):
        results = [results]
    rows: list[dict[str, Any]] = []
    labels: dict[str, None] = {}
    for r in _image_results(results):
        for row in face_rows(r):
            labels.update({k: None for k in row if k.startswith("p_")})
            rows.append(row)
    df = pd.DataFrame(rows, columns=[*BASE_COLUMNS, *labels])
    for col in ("frame_index", "face", "track_id"):  # whole numbers with gaps, not floats
        df[col] = df[col].astype("Int64")
    return df


def _image_results(results: Iterable[Any]) -> Iterable[Any]:
    from ferkit.types import ImageResult

    for r in results:
        if isinstance(r, tuple):  # (frame, result) from iter_video; (result, image) pairs
            r = next((x for x in r if isinstance(x, ImageResult)), r)
        if not isinstance(r, ImageResult):
            raise FerkitError(f"results_to_frame takes ImageResults (or a VideoResult), got "
                              f"{type(r).__name__}")
        yield r


def tracks_frame(video: Any) -> Any:
    """A VideoResult's tracks: one row per tracked face with its mean probabilities."""
    pd = _pandas()
    rows = []
    for t in video.tracks:
        rows.append({"source": video.source, "track_id": t.track_id, "label": t.label,
                     "first_frame": t.first_frame, "last_frame": t.last_frame,
                     "first_timestamp": t.first_timestamp, "last_timestamp": t.last_timestamp,
                     "num_frames": t.num_frames,
                     **{f"p_{k}": v for k, v in t.mean_probs.items()}})
    columns = ["source", "track_id", "label", "first_frame", "last_frame", "first_timestamp",
               "last_timestamp", "num_frames"]
    return pd.DataFrame(rows, columns=[*columns, *(k for k in (rows[0] if rows else {})
                                                   if k not in columns)])
