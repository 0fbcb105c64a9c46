"""``ferkit predict`` / ``ferkit live`` end to end on synthetic images and videos (offline)."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from ferkit.types import EMOTIONS

N_FRAMES, FPS = 24, 12.0


@pytest.fixture(scope="module")
def model(tiny_checkpoint, blob_detector):
    return str(tiny_checkpoint)


def square_image(path, boxes, size=(120, 160)):
    img = np.zeros((*size, 3), np.uint8)
    for x, y, w, h in boxes:
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (235, 235, 235), -1)
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 160x120 mp4 with one bright square moving 2 px per frame (a 'face' to track)."""
    path = tmp_path_factory.mktemp("video") / "moving.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (160, 120))
    assert writer.isOpened()
    for i in range(N_FRAMES):
        img = np.zeros((120, 160, 3), np.uint8)
        cv2.rectangle(img, (20 + 2 * i, 30), (20 + 2 * i + 39, 69), (235, 235, 235), -1)
        writer.write(img)
    writer.release()
    return path


def base(model):
    return ["predict", "--model", model, "--detector", "test-blobs"]


def test_images_folder_with_corrupt_file(cli, model, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    square_image(folder / "a.png", [(10, 10, 40, 40), (90, 50, 50, 50)])
    square_image(folder / "sub" / "b.jpg", [(30, 30, 60, 60)])
    (folder / "c.jpg").write_bytes(b"garbage")
    out = tmp_path / "out"
    code, stdout, stderr = cli(*base(model), folder, "--output", out)
    assert code == 0, stderr
    assert "warning" in stderr and "c.jpg" in stderr
    doc = json.loads((out / "results.json").read_text())
    by_name = {r["source"].rsplit("/", 1)[-1]: r for r in doc["images"]}
    assert len(by_name["a.png"]["faces"]) == 2 and len(by_name["b.jpg"]["faces"]) == 1
    assert by_name["c.jpg"]["error"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 3
    assert sorted(p.name for p in (out / "annotated").iterdir()) == ["a.png", "b.jpg"]


def test_json_stdout_is_one_document(cli, model, tmp_path):
    img = square_image(tmp_path / "x.png", [(20, 20, 50, 50)])
    code, stdout, stderr = cli(*base(model), img, "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["schema_version"] and doc["images"][0]["faces"][0]["label"] in EMOTIONS
    assert doc["pipeline"]["detector"] == "test-blobs"


def test_no_face_is_an_empty_result(cli, model, tmp_path):
    img = square_image(tmp_path / "empty.png", [])
    code, stdout, _ = cli(*base(model), img, "--json")
    assert code == 0 and json.loads(stdout)["images"][0]["faces"] == []
    code, stdout, _ = cli(*base(model), img, "--json", "--no-face-mode", "whole-image")
    assert code == 0 and json.loads(stdout)["images"][0]["faces"][0]["flags"] == ["whole_image"]


def test_table_without_json(cli, model, tmp_path):
    img = square_image(tmp_path / "t.png", [(20, 20, 50, 50)])
    code, stdout, _ = cli(*base(model), img)
    assert code == 0 and "source" in stdout and "label" in stdout
    assert any(e in stdout for e in EMOTIONS)
    assert "20,20,50,50" in stdout


def test_every_input_failing_exits_1(cli, model, tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"no")
    (tmp_path / "b.jpg").write_bytes(b"no")
    code, _, stderr = cli(*base(model), tmp_path / "a.jpg", tmp_path / "b.jpg")
    assert code == 1 and "all 2 inputs failed" in stderr and "Traceback" not in stderr


def test_nonexistent_path_one_line(cli, model, tmp_path):
    code, _, stderr = cli(*base(model), tmp_path / "missing.jpg")
    assert code == 1 and "does not exist" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_unreadable_video_one_line(cli, model, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 2048)
    code, stdout, stderr = cli(*base(model), bad)
    assert code == 1 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "broken.mp4" in stderr


def test_unknown_detector_did_you_mean(cli, model, tmp_path):
    img = square_image(tmp_path / "x.png", [(20, 20, 50, 50)])
    code, _, stderr = cli("predict", "--model", model, "--detector", "haarr", img)
    assert code == 1 and "did you mean 'haar'" in stderr


def test_video_csv_rows_tracks_and_outputs(cli, model, video, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = cli(*base(model), video, "--output", out, "--detect-every", "2",
                               "--json")
    assert code == 0, stderr
    rows = list(csv.DictReader((out / "results.csv").open()))
    header = next(csv.reader((out / "results.csv").open()))
    assert header == ["source", "timestamp", "frame_index", "track_id", "x", "y", "w", "h",
                      *EMOTIONS, "label", "confidence", "flags"]
    assert len(rows) == N_FRAMES  # one face in every frame
    assert [int(r["frame_index"]) for r in rows] == list(range(N_FRAMES))
    assert {r["track_id"] for r in rows} == {"1"}
    assert float(rows[12]["timestamp"]) == pytest.approx(12 / FPS, abs=1e-3)
    assert sum("carried" in r["flags"] for r in rows) == N_FRAMES // 2
    xs = [float(r["x"]) for r in rows if "carried" not in r["flags"]]
    assert xs == pytest.approx([20 + 2 * i for i in range(0, N_FRAMES, 2)], abs=1.5)
    doc = json.loads(stdout)
    (v,) = doc["videos"]
    assert v["frames_processed"] == N_FRAMES and [t["track_id"] for t in v["tracks"]] == [1]
    assert (out / "moving_annotated.mp4").stat().st_size > 0
    assert (out / "moving_timeline.png").read_bytes()[:4] == b"\x89PNG"
    cap = cv2.VideoCapture(str(out / "moving_annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES
    cap.release()


def test_video_stride(cli, model, video, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = cli(*base(model), video, "--output", out, "--stride", "3")
    assert code == 0, stderr
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [int(r["frame_index"]) for r in rows] == list(range(0, N_FRAMES, 3))


def test_live_command_with_a_video_source(cli, model, video, tmp_path):
    out = tmp_path / "live"
    code, stdout, stderr = cli("live", "--model", model, "--detector", "test-blobs",
                               "--source-video", video, "--max-frames", "10", "--no-window",
                               "--output", out, "--json")
    assert code == 0, stderr
    (v,) = json.loads(stdout)["videos"]
    assert v["frames_processed"] == 10
    assert len(list(csv.DictReader((out / "results.csv").open()))) == 10
    assert "frame 0" in stderr  # the live status line


def test_predict_sample_uses_bundled_photo(cli, tiny_checkpoint):
    """--sample runs the bundled portrait through the default detector (MTCNN, shipped weights):
    exactly one face."""
    from ferkit.inference import pipeline

    ckpt = tiny_checkpoint
    assert pipeline.SAMPLE_IMAGE.is_file()
    code, out, err = cli("predict", "--sample", "--model", ckpt, "--json")
    assert code == 0, err
    import json

    doc = json.loads(out)
    text = json.dumps(doc)
    assert "sample_face.jpg" in text
    faces = [f for r in doc.get("results", doc.get("images", [])) for f in r["faces"]]
    assert len(faces) == 1


def test_predict_no_detect_classifies_whole_crops(cli, model, tmp_path):
    folder = tmp_path / "crops"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"c{i}.png"), np.full((48, 48), 40 * i, np.uint8))
    code, out, err = cli("predict", "--model", model, "--no-detect", folder, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["pipeline"]["detector"] == "none"
    faces = [f for r in doc["images"] for f in r["faces"]]
    assert len(faces) == 3 and all(f["flags"] == ["whole_image"] for f in faces)
    assert all(f["bbox"] == {"x": 0.0, "y": 0.0, "w": 48.0, "h": 48.0} for f in faces)
    code, _, err = cli("predict", "--model", model, "--no-detect", "--detector", "haar", folder)
    assert code == 2 and "--no-detect" in err


def test_missing_extra_hint_keeps_its_brackets(cli, model, tmp_path, monkeypatch):
    """The install hint "pip install 'ferkit[blazeface]'" must not be eaten as rich markup."""
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("ai_edge_litert"):
            raise ImportError("no litert")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    img = square_image(tmp_path / "a.png", [(10, 10, 40, 40)])
    code, _, err = cli("predict", "--model", model, "--detector", "blazeface", img)
    assert code == 1 and "pip install 'ferkit[blazeface]'" in err


def test_predict_without_paths_is_a_usage_error(cli):
    code, _, _ = cli("predict")
    assert code == 2
