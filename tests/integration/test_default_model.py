"""The bundled default model: present, self-describing, and usable with no arguments."""

from ferkit.checkpoint import read_meta
from ferkit.inference.pipeline import DEFAULT_MODEL, SAMPLE_IMAGE, Pipeline
from ferkit.types import EMOTIONS


def test_default_model_ships_with_its_metadata():
    meta = read_meta(DEFAULT_MODEL)
    assert meta.labels == EMOTIONS
    assert DEFAULT_MODEL.stat().st_size < 20 * 2**20
    assert meta.data_fingerprint and meta.history and 0.5 < meta.temperature < 2.0


def test_default_pipeline_reads_the_sample_portrait_as_happy():
    result = Pipeline().predict_image(SAMPLE_IMAGE)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.label == "happy" and face.confidence > 0.5  # a broad smile (NASA portrait)
