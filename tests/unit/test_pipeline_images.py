"""Pipeline on images with a registered fake detector (bright squares = faces)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from ferkit.errors import ConfigError, FerkitError, NoFaceError
from ferkit.inference.pipeline import Pipeline
from ferkit.types import RESULT_SCHEMA_VERSION, BBox, ImageResult


@pytest.fixture(scope="module")
def model_path(tiny_checkpoint, blob_detector):
    return tiny_checkpoint


def scene(boxes, size=(240, 320)):
    img = np.zeros((*size, 3), np.uint8)
    for x, y, w, h in boxes:
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (230, 230, 230), -1)
        cv2.circle(img, (x + w // 3, y + h // 3), max(2, w // 10), (20, 20, 20), -1)
    return img


def test_several_faces_give_several_results_with_original_boxes(model_path):
    pipe = Pipeline(model_path, detector="test-blobs")
    boxes = [(20, 30, 60, 60), (150, 100, 80, 80), (250, 10, 40, 40)]
    result = pipe.predict_image(scene(boxes))
    assert isinstance(result, ImageResult) and result.error is None
    assert (result.width, result.height) == (320, 240)
    got = sorted((f.bbox.x, f.bbox.y, f.bbox.w, f.bbox.h) for f in result.faces)
    assert got == sorted(tuple(map(float, b)) for b in boxes)
    for face in result.faces:
        assert set(face.probs) == set(pipe.labels)
        assert sum(face.probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert face.label == max(face.probs, key=face.probs.get)
        assert face.confidence == pytest.approx(max(face.probs.values()))


def test_no_face_modes(model_path):
    blank = np.zeros((100, 100, 3), np.uint8)
    assert Pipeline(model_path, detector="test-blobs").predict_image(blank).faces == ()
    whole = Pipeline(model_path, detector="test-blobs", no_face_mode="whole-image")
    (face,) = whole.predict_image(blank).faces
    assert face.flags == ("whole_image",) and face.bbox == BBox(0, 0, 100, 100)
    with pytest.raises(NoFaceError):
        Pipeline(model_path, detector="test-blobs", no_face_mode="error").predict_image(blank)


def test_min_confidence_marks_uncertain(model_path):
    pipe = Pipeline(model_path, detector="test-blobs", min_confidence=0.99)
    (face,) = pipe.predict_image(scene([(40, 40, 50, 50)])).faces
    assert face.label == "uncertain" and face.confidence < 0.99
    assert len(face.probs) == 7  # probabilities are still reported


def test_predict_paths_batches_across_images_and_reports_bad_files(model_path, tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"img{i}.png"
        cv2.imwrite(str(p), scene([(10 + 20 * i, 20, 40, 40), (200, 120, 50, 50)]))
        paths.append(p)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    paths.insert(1, bad)
    small_batches = list(Pipeline(model_path, detector="test-blobs", batch_size=3)
                         .predict_paths(paths))
    one_batch = list(Pipeline(model_path, detector="test-blobs").predict_paths(paths))
    assert [r.source for r in small_batches] == [str(p) for p in paths]
    assert small_batches[1].error and "broken.jpg" in small_batches[1].error
    assert small_batches[1].faces == ()
    for a, b in zip(small_batches, one_batch, strict=True):
        pa = np.array([list(f.probs.values()) for f in a.faces])
        pb = np.array([list(f.probs.values()) for f in b.faces])
        np.testing.assert_allclose(pa, pb, atol=1e-5)
    assert [len(r.faces) for r in small_batches] == [2, 0, 2, 2]


def test_flip_tta_changes_nothing_structurally(model_path):
    img = scene([(40, 40, 60, 60)])
    plain = Pipeline(model_path, detector="test-blobs").predict_image(img).faces[0]
    tta = Pipeline(model_path, detector="test-blobs", flip_tta=True).predict_image(img).faces[0]
    assert sum(tta.probs.values()) == pytest.approx(1.0, abs=1e-4)
    assert tta.bbox == plain.bbox


def test_result_json_schema(model_path):
    result = Pipeline(model_path, detector="test-blobs").predict_image(scene([(5, 5, 40, 40)]))
    doc = json.loads(result.to_json())
    assert doc["schema_version"] == RESULT_SCHEMA_VERSION and doc["kind"] == "image"
    assert set(doc["faces"][0]) >= {"bbox", "probs", "label", "confidence", "track_id",
                                    "frame_index", "timestamp", "flags"}


def test_default_model_missing_is_a_clear_error(monkeypatch, tmp_path):
    import ferkit.bundled as bundled

    monkeypatch.setattr(bundled, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FerkitError, match="bundled model 'default' is missing.*--model"):
        Pipeline(None)
    with pytest.raises(FerkitError, match="bundled model 'fast' is missing"):
        Pipeline("fast", backend="torch")


def test_bad_pipeline_options(model_path):
    with pytest.raises(ConfigError):
        Pipeline(model_path, min_confidence=1.5)
    with pytest.raises(ConfigError):
        Pipeline(model_path, no_face_mode="ignore")


def test_haar_uses_a_smaller_working_size_on_video(model_path):
    pipe = Pipeline(model_path, detector="haar")
    assert pipe.detector.max_side == 640 and pipe.video_detector.max_side == 320
    fixed = Pipeline(model_path, detector="haar", detector_options={"max_side": 500})
    assert fixed.detector.max_side == fixed.video_detector.max_side == 500
    blobs = Pipeline(model_path, detector="test-blobs")
    assert blobs.video_detector is blobs.detector


def test_default_detector_is_mtcnn_with_a_smaller_video_size(model_path):
    pipe = Pipeline(model_path)
    assert pipe.detector.name == "mtcnn" and pipe.describe()["detector"] == "mtcnn"
    assert pipe.detector.max_side == 640 and pipe.video_detector.max_side == 320


def test_no_detection_classifies_each_whole_image_as_one_face(model_path):
    """detector=None (predict --no-detect): a pre-cropped face is the crop, no margin added."""
    from ferkit.faces import crop_faces

    pipe = Pipeline(model_path, detector=None)
    assert pipe.describe()["detector"] == "none" and pipe.align.margin == 0.0
    img = scene([(5, 5, 40, 40)], size=(48, 64))
    res = pipe.predict_image(img)
    assert len(res.faces) == 1 and res.faces[0].flags == ("whole_image",)
    assert (res.faces[0].bbox.w, res.faces[0].bbox.h) == (64.0, 48.0)
    assert res.faces[0].detection_score is None
    square = scene([(5, 5, 30, 30)], size=(48, 48))
    crop, _ = crop_faces(square, pipe.find_faces(square)[0], pipe.backend.info, pipe.align)
    size = pipe.backend.info.input_size
    ref = cv2.resize(cv2.cvtColor(square, cv2.COLOR_BGR2GRAY), (size, size))
    assert np.abs(crop[0].astype(int) - ref.astype(int)).mean() < 4  # the image IS the crop
    with pytest.raises(ConfigError, match="detection is off"):
        Pipeline(model_path, detector=None, detector_options={"max_side": 320})


def test_gray_and_bgra_arrays_are_accepted(model_path):
    from ferkit.errors import MediaError

    pipe = Pipeline(model_path, detector="test-blobs")
    bgr = scene([(30, 30, 50, 50)])
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    assert len(pipe.predict_image(gray).faces) == len(pipe.predict_image(bgra).faces) == 1
    with pytest.raises(MediaError, match="uint8"):
        pipe.predict_image(bgr.astype(np.float32))
