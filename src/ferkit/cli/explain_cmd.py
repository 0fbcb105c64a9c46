"""``ferkit explain``: Grad-CAM / saliency heatmaps per face, one PNG panel each."""

from __future__ import annotations

from pathlib import Path

import typer

from ferkit.cli._common import one_of


def _no_face_modes():
    from ferkit.inference.pipeline import NO_FACE_MODES

    return NO_FACE_MODES


def explain(
    images: list[Path] = typer.Argument(..., help="Image files or folders (recursively)."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Checkpoint (.safetensors) or bundled model name "
                                     "(default, fast); default: the bundled default model."),
    output: Path = typer.Option(Path("explain"), "--output", "-o", help="Folder for the PNGs."),
    method: str = typer.Option("gradcam", "--method", help="gradcam or saliency."),
    target: str = typer.Option("predicted", "--target",
                               help="Class to explain: a label name or 'predicted'."),
    detect: bool = typer.Option(True, "--detect/--no-detect",
                                help="Detect faces, or treat each image as one face crop."),
    detector: str | None = typer.Option(None, "--detector",
                                        help="Face detector (registered name; default: mtcnn)."),
    no_face: str = typer.Option("skip", "--no-face-mode", callback=one_of(_no_face_modes),
                                help="Images without a face: skip, whole-image or error."),
    max_pixels: int | None = typer.Option(None, "--max-pixels", min=1, help="Refuse images "
                                          "with more pixels (checked before decoding). Default: "
                                          "$FERKIT_MAX_PIXELS or 64000000."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Explain what the classifier looked at, for every face in IMAGES."""
    from ferkit.cli._common import emit_json, out_console, warn
    from ferkit.explain import explain_images
    from ferkit.explain.run import image_inputs

    results = explain_images(images, model, output=output, method=method, target=target,
                             detect=detect, detector=detector, no_face_mode=no_face,
                             max_pixels=max_pixels)
    for note in sorted({n for r in results for n in r.notes}):
        warn(note)
    for missing in sorted({str(p) for p in image_inputs(images)} - {r.image for r in results}):
        warn(f"no face found in {missing}; nothing written (try --no-face-mode whole-image)")
    if as_json:
        emit_json({"model": model or "default", "output": str(output), "faces": results})
        return
    for r in results:
        out_console.print(f"{r.image} face {r.face}: {r.label} ({r.confidence:.0%}), "
                          f"{r.method} for {r.target!r} → {r.png}", highlight=False,
                          soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("explain")(explain)
