"""Issue #15 behaviour beyond one-line errors: tiles on huge photos, decode limits, interrupted
predict runs, unique output names, PIL input, detector options, early output/device checks."""

from __future__ import annotations

import json
import os
import signal
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from ferkit.errors import ConfigError, MediaError
from ferkit.faces import DETECTORS, Detection, Detector, create_detector
from ferkit.faces.base import downscale_for_detection
from ferkit.inference.tiling import detect_faces, merge_detections, needs_tiles, tile_grid
from ferkit.types import BBox


class ShrinkingBlobs(Detector):
    """Bright squares are faces, found only when >= 10 px on a copy shrunk to ``max_side``:
    a stand-in for any detector with a working size."""

    name = "test-shrinking-blobs"

    def __init__(self, max_side: int | None = 200) -> None:
        self.max_side = max_side

    def detect(self, image_bgr):
        small, factor = downscale_for_detection(image_bgr, self.max_side)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(gray, 128, 255, cv2.THRESH_BINARY)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = [cv2.boundingRect(c) for c in contours]
        return [Detection(BBox(*map(float, b)).scaled(factor), 0.9) for b in boxes
                if min(b[2], b[3]) >= 10]


def _squares(size=(1500, 2000), side=60, step=250):
    img = np.zeros((*size, 3), np.uint8)
    boxes = []
    for y in range(40, size[0] - side, step):
        for x in range(40, size[1] - side, step):
            cv2.rectangle(img, (x, y), (x + side - 1, y + side - 1), (230, 230, 230), -1)
            boxes.append(BBox(x, y, side, side))
    return img, boxes


def test_tiles_find_small_faces_a_downscaling_detector_misses():
    img, boxes = _squares()
    det = ShrinkingBlobs(max_side=200)  # 2000 px → 200 px: a 60 px square becomes 6 px
    assert det.detect(img) == [] and needs_tiles(img.shape, det)
    found = detect_faces(det, img)
    assert len(found) == len(boxes)  # every face once: overlaps merged
    for b in boxes:
        assert max(b.iou(d.bbox) for d in found) > 0.8


def test_pipeline_tiles_photos_unless_max_side_is_chosen(tiny_checkpoint):
    from ferkit.inference.pipeline import Pipeline

    if ShrinkingBlobs.name not in DETECTORS:
        DETECTORS.add(ShrinkingBlobs.name, ShrinkingBlobs)
    img, boxes = _squares()
    dets, _ = Pipeline(tiny_checkpoint, detector=ShrinkingBlobs.name).find_faces(img)
    assert len(dets) == len(boxes)
    chosen = Pipeline(tiny_checkpoint, detector=ShrinkingBlobs.name,
                      detector_options={"max_side": 200})
    assert chosen.find_faces(img)[0] == [] and chosen.describe()["large_photo_tiles"] is False


def test_no_tiles_when_the_detector_works_at_full_size_or_the_image_is_small():
    img, _ = _squares()
    assert not needs_tiles(img.shape, ShrinkingBlobs(max_side=None))
    assert not needs_tiles((640, 800, 3), ShrinkingBlobs(max_side=200))
    assert not needs_tiles(img.shape, object())  # a detector without max_side


def test_tile_grid_covers_the_image_with_the_overlap():
    tiles = tile_grid(1500, 2000, 800, 100)
    covered = np.zeros((1500, 2000), bool)
    for y0, x0, y1, x1 in tiles:
        assert y1 - y0 <= 800 and x1 - x0 <= 800
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    xs = sorted({t[1] for t in tiles})
    assert all(b - a <= 700 for a, b in zip(xs, xs[1:], strict=False))


def test_merge_keeps_the_whole_face_over_a_piece_of_it():
    whole = Detection(BBox(100, 100, 80, 80), 1.0)
    piece = Detection(BBox(150, 110, 30, 60), 1.0)  # cut by a tile edge, inside the face
    other = Detection(BBox(400, 100, 80, 80), 1.0)
    assert merge_detections([piece, whole, other]) == [whole, other]


def test_detector_options_are_typed_and_ranged():
    assert create_detector("haar", max_side="none").max_side is None
    assert create_detector("haar", max_side=800.0).max_side == 800
    for options, message in (({"max_side": "abc"}, "expected an integer or none"),
                             ({"max_side": -5}, "out of range"),
                             ({"max_side": 0}, "out of range"),
                             ({"eyes": "maybe"}, "true/false"),
                             ({"min_neighbors": "abc"}, "expected an integer"),
                             ({"scale_factor": True}, "expected a number"),
                             ({"detect_scale": 0}, "out of range"),
                             ({"foo": "bar"}, "has no option 'foo'")):
        with pytest.raises(ConfigError, match=message):
            create_detector("haar", **options)


def test_detector_options_of_a_detector_without_signature_pass_through():
    if "test-opaque" not in DETECTORS:
        DETECTORS.add("test-opaque", lambda **kw: ShrinkingBlobs(**kw))
    assert create_detector("test-opaque", max_side=300).max_side == 300


def test_pil_images_are_read_as_rgb(tiny_checkpoint, blob_detector):
    from PIL import Image

    from ferkit.inference.pipeline import Pipeline

    bgr = np.zeros((120, 160, 3), np.uint8)
    cv2.rectangle(bgr, (30, 30), (89, 89), (40, 160, 250), -1)  # orange in BGR
    bgr[40:80, 40:60] = (250, 200, 30)
    pil = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    pipe = Pipeline(tiny_checkpoint, detector=blob_detector)
    from_array, from_pil = pipe.predict_image(bgr), pipe.predict_image(pil)
    swapped = pipe.predict_image(np.asarray(pil))  # RGB pixels passed as if BGR
    assert from_array.faces and from_pil.faces[0].probs == from_array.faces[0].probs
    assert swapped.faces[0].probs != from_array.faces[0].probs


def _bomb(path: Path, side: int = 30000) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def test_pixel_limit_before_decoding(tmp_path, monkeypatch):
    from ferkit.imagelimits import check_file
    from ferkit.inference.video import read_image

    bomb = _bomb(tmp_path / "bomb.png")
    with pytest.raises(MediaError, match="30000×30000 .* over the 64 MP limit"):
        read_image(bomb)
    assert check_file(bomb) is not None and check_file(bomb, max_pixels=10**9) is None
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((100, 100, 3), np.uint8))
    assert read_image(small, max_pixels=10_000).shape == (100, 100, 3)
    with pytest.raises(MediaError, match="over the"):
        read_image(small, max_pixels=9_999)
    monkeypatch.setenv("FERKIT_MAX_PIXELS", "9999")
    with pytest.raises(MediaError, match="over the"):
        read_image(small)
    monkeypatch.setenv("FERKIT_MAX_PIXELS", "lots")
    with pytest.raises(MediaError, match="FERKIT_MAX_PIXELS='lots'"):
        read_image(small)


def test_a_bomb_in_a_dataset_folder_is_skipped(cli, tmp_path):
    from ferkit.data.synthetic import make_folder_dataset

    root = make_folder_dataset(tmp_path / "fer", n_per_class=2)
    _bomb(root / "train" / "happy" / "bomb.png")
    code, out, err = cli("data", "info", root, "--json", "--no-cache")
    doc = json.loads(out)
    assert code == 0 and doc["splits"]["train"]["counts"]["happy"] == 2
    assert any("bomb.png" in s["file"] and "limit" in s["reason"] for s in doc["skipped"])


def _video(path: Path, frames: int = 12) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 72))
    for i in range(frames):
        img = np.zeros((72, 96, 3), np.uint8)
        cv2.rectangle(img, (10 + i, 10), (49 + i, 49), (230, 230, 230), -1)
        writer.write(img)
    writer.release()
    return path


def test_same_file_names_get_their_own_outputs(cli, tiny_checkpoint, blob_detector, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        _video(tmp_path / sub / "clip.mp4", frames=4)
        cv2.imwrite(str(tmp_path / sub / "face.png"), cv2.rectangle(
            np.zeros((80, 80, 3), np.uint8), (10, 10), (59, 59), (230, 230, 230), -1))
    out = tmp_path / "out"
    code, stdout, err = cli("predict", tmp_path / "a", tmp_path / "b", "-m", tiny_checkpoint,
                            "-d", blob_detector, "-o", out, "--json")
    doc = json.loads(stdout)
    assert code == 0, err
    videos = {v["source"]: v["outputs"] for v in doc["videos"]}
    annotated = {v["annotated_video"] for v in videos.values()}
    timelines = {v["timeline"] for v in videos.values()}
    assert len(annotated) == len(timelines) == 2 and all(Path(p).is_file() for p in annotated)
    images = doc["outputs"]["annotated"]
    assert set(images) == {str(tmp_path / s / "face.png") for s in ("a", "b")}
    assert len(set(images.values())) == 2 and all(Path(p).is_file() for p in images.values())
    assert json.loads((out / "results.json").read_text())["outputs"]["annotated"] == images


def test_ctrl_c_stops_a_video_run_cleanly(cli, tiny_checkpoint, blob_detector, tmp_path,
                                          monkeypatch):
    """SIGINT at frame 3 of the first video: that frame is finished, the second video is
    skipped, results.json/CSV are complete for what ran, JSON on stdout, exit 130."""
    from ferkit.inference import outputs

    first, second = _video(tmp_path / "one.mp4"), _video(tmp_path / "two.mp4")
    original = outputs._VideoOutputs.frame

    def frame(self, fr, result):
        if fr.index == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, fr, result)

    monkeypatch.setattr(outputs._VideoOutputs, "frame", frame)
    out = tmp_path / "out"
    # what was installed before: Python's default, or SIG_IGN when pytest itself was started
    # in the background by a shell without job control
    before = signal.getsignal(signal.SIGINT)
    code, stdout, err = cli("predict", first, second, "-m", tiny_checkpoint, "-d", blob_detector,
                            "-o", out, "--json")
    assert code == 130 and "stopped by SIGINT after 1 of 2 inputs" in err, err
    doc = json.loads(stdout)
    assert [v["source"] for v in doc["videos"]] == [str(first)]
    video = doc["videos"][0]
    assert video["error"].startswith("interrupted by SIGINT after 4 of 12 frames")
    assert video["frames_processed"] == 4 and Path(video["outputs"]["annotated_video"]).is_file()
    assert json.loads((out / "results.json").read_text())["videos"][0]["error"] == video["error"]
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4  # header + one face per processed frame
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temp files
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_live_stops_on_a_signal_with_its_results(cli, tiny_checkpoint, blob_detector, tmp_path,
                                                 monkeypatch, signum):
    from ferkit.inference import outputs

    source = _video(tmp_path / "cam.mp4")
    original = outputs._VideoOutputs.frame

    def frame(self, fr, result):
        if fr.index == 5:
            os.kill(os.getpid(), signum)
        return original(self, fr, result)

    monkeypatch.setattr(outputs._VideoOutputs, "frame", frame)
    code, stdout, err = cli("live", "--source-video", source, "-m", tiny_checkpoint,
                            "-d", blob_detector, "--no-window", "--json", "-o", tmp_path / "o")
    assert code == 128 + signum and f"stopped by {signal.Signals(signum).name}" in err, err
    video = json.loads(stdout)["videos"][0]
    assert video["frames_processed"] == 6 and video["tracks"]
    assert (tmp_path / "o" / "results.json").is_file()


def test_jaffe_csv_round_trip(cli, tmp_path):
    from ferkit.data.synthetic import make_jaffe

    src = make_jaffe(tmp_path / "jaffe", n_per_class=1, size=256)
    code, _, err = cli("data", "convert", src, "--to", "csv", "-o", tmp_path / "j.csv")
    assert code == 0, err
    code, out, err = cli("data", "info", tmp_path / "j.csv", "--json", "--no-cache")
    assert code == 0 and json.loads(out)["image_size"] == [256, 256], err


def test_explain_a_folder(cli, tiny_checkpoint, tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("in/a.png", "in/sub/b.png"):
        cv2.imwrite(str(tmp_path / name), np.full((48, 48, 3), 120, np.uint8))
    code, out, err = cli("explain", tmp_path / "in", "-m", tiny_checkpoint, "--no-detect",
                         "-o", tmp_path / "x", "--json")
    assert code == 0, err
    assert sorted(Path(f["image"]).name for f in json.loads(out)["faces"]) == ["a.png", "b.png"]


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_int8_json_stdout_is_one_document(cli, tiny_checkpoint, tmp_path, method):
    from ferkit.data.synthetic import make_folder_dataset

    data = make_folder_dataset(tmp_path / "ds", n_per_class=3)
    code, out, err = cli("export", tiny_checkpoint, "-f", "onnx-int8", "--calibration", data,
                         "--calibration-size", "8", "--calibration-method", method,
                         "-o", tmp_path / "m.int8.onnx", "--json")
    assert code == 0, err
    assert json.loads(out)["format"] == "onnx-int8"


def test_writable_checks(tmp_path, monkeypatch):
    import ferkit.io
    from ferkit.io import check_writable_dir, check_writable_file

    (tmp_path / "f").write_text("x")
    assert check_writable_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing created by a check
    with pytest.raises(ConfigError, match="is an existing file"):
        check_writable_dir(tmp_path / "f")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_writable_file(tmp_path / "f" / "m.onnx")
    with pytest.raises(ConfigError, match="is a folder"):
        check_writable_file(tmp_path)
    monkeypatch.setattr(ferkit.io.os, "access", lambda *a: False)  # a read-only place (root
    with pytest.raises(ConfigError, match="no write permission"):  # may write anywhere)
        check_writable_dir(tmp_path / "out")


def test_device_checks():
    from ferkit.device import check_device

    assert check_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="not a torch device"):
        check_device("tpu")
    with pytest.raises(ConfigError, match="no such device"):
        check_device("cuda:99")


def test_tsne_with_a_bundled_name_uses_its_float_checkpoint(cli, tmp_path):
    """``-m fast --tsne`` used to say "not an .onnx file" although a name was given; t-SNE
    needs features, so a bundled name now resolves to its float checkpoint (the plot itself
    is only drawn with --output; evaluating is enough to check which file ran)."""
    from ferkit.data.synthetic import make_folder_dataset

    data = make_folder_dataset(tmp_path / "ds", n_per_class=1)
    code, out, err = cli("evaluate", "-m", "fast", "-d", data, "--tsne", "--json")
    assert code == 0, err
    assert json.loads(out)["checkpoint"].endswith("fast.safetensors")
