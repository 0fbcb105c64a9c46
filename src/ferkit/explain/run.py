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


def explain_images(paths: Iterable[str | os.PathLike[str]], model: Any = None, *,
                   output: str | os.PathLike[str] = "explain", method: str = "gradcam",
                   target: str = PREDICTED, detect: bool = True, detector: str | None = None,
                   no_face_mode: str = "skip") -> list[FaceExplanation]:
    """Write ``<output>/<image stem>_face<i>.png`` for every face; return what was written.

    ``model``: a checkpoint path (or None for the bundled default), resolved like ``predict``;
    ``detector``: a registered name, None for the default (``ferkit.faces.DEFAULT_DETECTOR``).
    """
    from ferkit.faces import DEFAULT_DETECTOR, crop_faces
    from ferkit.inference.pipeline import Pipeline
    from ferkit.inference.video import read_image

    EXPLAINERS.get(method)  # fail on a bad method before loading anything
    pipe = Pipeline(model, detector=detector or DEFAULT_DETECTOR, backend="torch",
                    no_face_mode=no_face_mode)
    net, info = pipe.backend.model, pipe.backend.info
    out_dir, results = Path(output), []
    for raw in paths:
        path = Path(raw)
        image = read_image(path)
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
