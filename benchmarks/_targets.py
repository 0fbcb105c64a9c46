"""Issue #5's targets for the bundled models, in one place for every benchmark that checks them.

Accuracy: FER2013 PublicTest top-1 as ``ferkit predict`` runs the model. Speed: faces/s on
2 cores as ``predict`` runs it, at the batch size in the key (``faces_per_s_b<batch>``).
"""

TARGETS: dict[str, dict[str, float]] = {
    "default": {"accuracy": 0.70, "faces_per_s_b64": 2000, "faces_per_s_b1": 1000},
    "fast": {"accuracy": 0.67, "faces_per_s_b64": 4000},
    # issue #11: "the best teacher or ensemble >= 72%"; `accurate` ships that ensemble (no speed
    # target: it is the model for users who value accuracy over speed)
    "accurate": {"accuracy": 0.72},
}


def speed_target(model: str, batch: int) -> float | None:
    """The faces/s target for ``model`` at ``batch`` (2 cores), or None if there is none."""
    return TARGETS.get(model, {}).get(f"faces_per_s_b{batch}")
