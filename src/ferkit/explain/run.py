"""Explain image files end to end: detect faces (the Pipeline's detector) → crop → explain →
one PNG panel per face. ``detect=False`` treats each image as an already-cropped face."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.explain.gradcam import EXPLAINERS, PREDICTED, explain_crop
from ferkit.explain.render import save_panel


@dataclass
class FaceExplanation:
    """One explained face, as reported by the CLI (``--json``) and returned by the API."""

    image: str
    face: int
    bbox: dict[str, float] | None
    label: str
    confidence: float
    target: str
    method: str
    png: str
    probs: dict[str, float]
    notes: list[str] = field(default_factory=list)


def _as_face_crop(image_bgr: np.ndarray, in_chans: int) -> np.ndarray:
    """A whole (pre-cropped) image in the model's channel layout: gray or RGB."""
    import cv2

    code = cv2.COLOR_BGR2GRAY if in_chans == 1 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image_bgr, code)


def image_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Image files as given, folders expanded to their images; a video is an error."""
    from ferkit.errors import MediaError
    from ferkit.inference.video import expand_inputs, is_video

    given = list(paths)
    out = expand_inputs(given)
    videos = [p for p in out if is_video(p)]
    if videos and any(Path(p).is_file() and is_video(p) for p in given):
        raise MediaError(f"{str(videos[0])!r} is a video; explain works on images (extract a "
                         "frame first)")
    out = [p for p in out if not is_video(p)]
    if not out:
        raise MediaError(f"no images among {', '.join(map(str, given))} (only videos)")
    return out


def explain_images(paths: Iterable[str | os.PathLike[str]], model: Any = None, *,
                   output: str | os.PathLike[str] = "explain", method: str = "gradcam",
                   target: str = PREDICTED, detect: bool = True, detector: str | None = None,
                   no_face_mode: str = "skip",
                   max_pixels: int | None = None) -> list[FaceExplanation]:
    """Write ``<output>/<image stem>_face<i>.png`` for every face; return what was written.

    ``paths``: image files or folders (their images, recursively). ``model``: a checkpoint
    path (or None for the bundled default), resolved like ``predict``; ``detector``: a
    registered name, None for the default (``ferkit.faces.DEFAULT_DETECTOR``).
    """
    from ferkit.faces import DEFAULT_DETECTOR, crop_faces
    from ferkit.inference.pipeline import Pipeline
    from ferkit.inference.video import read_image
    from ferkit.io import check_writable_dir

    EXPLAINERS.get(method)  # fail on a bad method before loading anything
    check_writable_dir(output)
    images = image_inputs(paths)
    pipe = Pipeline(model, detector=detector or DEFAULT_DETECTOR, backend="torch",
                    no_face_mode=no_face_mode)
    net, info = pipe.backend.model, pipe.backend.info
    out_dir, results = Path(output), []
    for path in images:
        image = read_image(path, max_pixels)
        if detect:
            dets, _ = pipe.find_faces(image, str(path))
            crops, _ = crop_faces(image, dets, info, pipe.align)
            boxes = [d.bbox.to_dict() for d in dets]
        else:
            crops, boxes = [_as_face_crop(image, info.in_chans)], [None]
        for i, (crop, box) in enumerate(zip(crops, boxes, strict=True)):
            expl = explain_crop(net, crop, method=method, target=target,
                                temperature=pipe.backend.temperature)
            png = save_panel(expl, out_dir / f"{path.stem}_face{i}.png",
                             title=f"{path.name} face {i}: {expl.label} ({expl.confidence:.0%})")
            results.append(FaceExplanation(
                image=str(path), face=i, bbox=box, label=expl.label,
                confidence=round(expl.confidence, 4), target=expl.target, method=expl.method,
                png=str(png), probs=expl.prob_dict(), notes=expl.notes))
    return results
