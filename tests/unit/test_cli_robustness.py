"""Every command × bad arguments and bad files → one clean line, exit 1 or 2, nothing written.

The table ``CASES`` is the contract of issue #15: each row runs one command line (placeholders
such as ``{ckpt}`` are files generated in tmp by ``files``) and states the exit code (2: a usage
error, a bad option value, found before any work; 1: a user error such as a bad file) and a
piece of the message. Every row is also checked for: no traceback on stdout or stderr, exactly
one ``error:`` line for exit 1, stdout empty or one JSON document, and no file written into the
row's own ``{out}`` folder (nothing half-written). A new command joins by adding rows.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from ferkit.bundled import WEIGHTS_DIR

ONNX = str(WEIGHTS_DIR / "fast.int8.onnx")  # a real ONNX file that is not a checkpoint

# (id, command line, exit code, text the message must contain[, environment])
CASES = [
    # --- predict: output places
    ("predict-output-is-file", "predict {img} -m {ckpt} -o {file}", 1, "is an existing file"),
    ("predict-output-under-file", "predict {img} -m {ckpt} -o {file}/sub", 1,
     "is a file, not a folder"),
    # --- predict: detector options
    ("D-max_side-text", "predict {img} -m {ckpt} -D max_side=abc", 2, "expected an integer"),
    ("D-unknown-key", "predict {img} -m {ckpt} --detector haar -D foo=bar", 2,
     "has no option 'foo'"),
    ("D-min_neighbors-text", "predict {img} -m {ckpt} --detector haar -D min_neighbors=abc", 2,
     "expected an integer"),
    ("D-max_side-negative", "predict {img} -m {ckpt} -D max_side=-5", 2, "out of range"),
    ("D-eyes-maybe", "predict {img} -m {ckpt} --detector haar -D eyes=maybe", 2, "true/false"),
    ("D-not-key-value", "predict {img} -m {ckpt} -D max_side", 2, "not key=value"),
    ("yunet-model-without-yunet", "predict {img} -m {ckpt} --yunet-model {onnx}", 2,
     "--detector yunet"),
    ("yunet-model-wrong-onnx", "predict {img} -m {ckpt} --detector yunet --yunet-model {onnx}",
     1, "is not a YuNet face detector"),
    ("yunet-model-not-onnx", "predict {img} -m {ckpt} --detector yunet --yunet-model {fake}",
     1, "is not a YuNet face detector"),
    ("yunet-without-model", "predict {img} -m {ckpt} --detector yunet", 1, "--yunet-model"),
    ("unknown-detector", "predict {img} -m {ckpt} --detector haarr", 1, "did you mean"),
    # --- predict: option values (usage errors)
    ("max-frames-0", "predict {video} -m {ckpt} --max-frames 0", 2, "--max-frames"),
    ("smoothing-5", "predict {video} -m {ckpt} --smoothing 5", 2, "--smoothing"),
    ("no-face-mode-bogus", "predict {img} -m {ckpt} --no-face-mode bogus", 2, "whole-image"),
    ("threads-negative", "predict {img} -m {ckpt} --threads -1", 2, "--threads"),
    ("stride-0", "predict {video} -m {ckpt} --stride 0", 2, "--stride"),
    ("min-confidence-2", "predict {img} -m {ckpt} --min-confidence 2", 2, "--min-confidence"),
    ("max-pixels-0", "predict {img} -m {ckpt} --max-pixels 0", 2, "--max-pixels"),
    ("no-paths", "predict -m {ckpt}", 2, "PATH"),
    # --- predict: inputs
    ("bomb", "predict {bomb}", 1, "over the 64 MP limit"),
    ("bomb-json", "predict {bomb} --json", 1, "decompression bomb"),
    ("max-pixels-small", "predict {img} -m {ckpt} --max-pixels 100", 1, "limit"),
    ("url", "predict https://example.com/face.jpg -m {ckpt}", 1, "is a URL"),
    ("device-file", "predict /dev/zero -m {ckpt}", 1, "not a regular file"),
    ("missing-input", "predict {out}/nope.jpg -m {ckpt}", 1, "does not exist"),
    ("not-an-image", "predict {fake} -m {ckpt}", 1, "cannot decode"),
    ("whole-image-1x1", "predict {pixel} -m {ckpt} --no-face-mode whole-image --json", 1,
     "too small"),
    ("empty-folder", "predict {empty} -m {ckpt}", 1, "contains no images"),
    # --- predict: models
    ("model-is-jpeg", "predict {img} -m {jpg}", 1, "it is a JPEG image"),
    ("torch-backend-onnx", "predict {img} -m {onnx} --backend torch", 1, "is an ONNX model"),
    ("unknown-bundled-name", "predict {img} -m defualt", 1, "did you mean"),
    ("cache-unwritable", "predict {img} -m {ckpt} --backend onnx", 1, "FERKIT_CACHE",
     {"FERKIT_CACHE": "{file}/cache"}),
    # --- live
    ("live-negative-camera", "live --camera -1 -m {ckpt}", 2, "--camera"),
    ("live-output-is-file", "live -m {ckpt} --source-video {video} -o {file}", 1,
     "is an existing file"),
    # --- evaluate
    ("evaluate-output-is-file", "evaluate -m {ckpt} -d {data} -o {file}", 1,
     "is an existing file"),
    ("evaluate-device-cuda99", "evaluate -m {ckpt} -d {data} --device cuda:99", 1,
     "no such device"),
    ("evaluate-device-tpu", "evaluate -m {ckpt} -d {data} --device tpu", 1,
     "is not a torch device"),
    ("evaluate-tsne-onnx", "evaluate -m {onnx} -d {data} --tsne", 1, "exported from"),
    ("evaluate-tta-bogus", "evaluate -m {ckpt} -d {data} --tta bogus", 2, "--tta"),
    ("evaluate-batch-size-0", "evaluate -m {ckpt} -d {data} --batch-size 0", 2,
     "--batch-size"),
    ("evaluate-model-jpeg", "evaluate -m {jpg} -d {data} --json", 1, "it is a JPEG image"),
    ("evaluate-missing-data", "evaluate -m {ckpt} -d {out}/nodata", 1, "does not exist"),
    # --- ensemble
    ("ensemble-output-is-file", "ensemble -m {ckpt} -m {ckpt} -d {data} -o {file}", 1,
     "is an existing file"),
    ("ensemble-tta-bogus", "ensemble -m {ckpt} -m {ckpt} -d {data} --tta bogus", 2, "--tta"),
    ("ensemble-onnx-member", "ensemble -m {onnx} -m {ckpt} -d {data} --json", 1,
     "is an ONNX model"),
    # --- explain
    ("explain-output-is-file", "explain {img} -m {ckpt} -o {file}", 1, "is an existing file"),
    ("explain-videos-only", "explain {videos} -m {ckpt} -o {out}/x", 1, "no images"),
    ("explain-url", "explain https://example.com/a.jpg -m {ckpt} -o {out}/x", 1, "is a URL"),
    ("explain-bomb", "explain {bomb} -m {ckpt} -o {out}/x --json", 1, "limit"),
    ("explain-no-face-mode", "explain {img} -m {ckpt} --no-face-mode bogus", 2,
     "--no-face-mode"),
    ("explain-onnx-model", "explain {img} -m {onnx} -o {out}/x", 1, "is an ONNX model"),
    # --- export
    ("export-output-under-file", "export {ckpt} -o {file}/m.onnx", 1, "is a file, not a folder"),
    ("export-output-is-folder", "export {ckpt} -o {out}", 1, "is a folder"),
    ("export-jpeg", "export {jpg} -o {out}/m.onnx", 1, "it is a JPEG image"),
    ("export-onnx", "export {onnx} -o {out}/m.onnx --json", 1, "is an ONNX model"),
    ("export-format-bogus", "export {ckpt} --format tflite", 2, "--format"),
    ("export-calibration-method", "export {ckpt} -f onnx-int8 --calibration-method bogus", 2,
     "--calibration-method"),
    # --- data
    ("convert-to-bogus", "data convert {data} --to bogus -o {out}/x", 2, "--to"),
    ("info-missing", "data info {out}/nothing --json", 1, "does not exist"),
    ("info-device", "data info /dev/zero", 1, "/dev/zero"),
    # --- train
    ("train-accelerator-gpu", "train -m tinycnn_test -d {data} -o {out}/run "
     "trainer.accelerator=gpu trainer.progress=false", 1, "trainer.accelerator=gpu"),
    ("train-resume-nothing", "train --resume -o {out}/none", 1, "a run directory"),
    ("train-resume-needs-output", "train --resume", 1, "--resume needs --output"),
    ("train-bad-override", "train -m tinycnn_test -d {data} -o {out}/run trainer.epochs=0", 1,
     "trainer.epochs"),
    ("train-unknown-key", "train -m tinycnn_test -d {data} -o {out}/run trainer.epoch=3", 1,
     "epoch"),
    ("train-init-from-onnx", "train -m tinycnn_test -d {data} -o {out}/run "
     "model.init_from={onnx} trainer.progress=false", 1, "is an ONNX model"),
    # --- models
    ("models-no-match", "models zzzz --json", 1, "no model name matches"),
    # --- search / evolve (issues #12, #13)
    ("search-space-missing", "search --space {out}/none.yaml --data {data} --study s -o {out}", 1,
     "neither a file nor a shipped space"),
    ("search-space-not-a-mapping", "search --space {file} --data {data} --study s -o {out}", 1,
     "must hold a mapping"),
    ("search-bad-sampler", "search --space {space} --data {data} --study s --sampler anneal "
     "-o {out}", 2, "unknown sampler"),
    ("search-n-trials-0", "search --space {space} --data {data} --study s --n-trials 0 -o {out}",
     2, "--n-trials"),
    ("search-storage-scheme", "search --space {space} --data {data} --study s --storage ftp://x "
     "-o {out}", 1, "unknown scheme"),
    ("search-storage-not-url", "search --space {space} --data {data} --study s --storage nope "
     "-o {out}", 1, "neither a database URL"),
    ("evolve-population-1", "evolve --data {data} --population 1 -o {out}", 1,
     "population must be an integer >= 2"),
    ("evolve-generations-0", "evolve --data {data} --generations 0 -o {out}", 1, "generations"),
    ("evolve-space-not-a-mapping", "evolve --data {data} --space {file} -o {out}", 1,
     "must hold a mapping"),
]


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width×height (its pixel data is not needed to be refused)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_checkpoint) -> dict[str, str]:
    import cv2

    from ferkit.data.synthetic import make_folder_dataset

    root = tmp_path_factory.mktemp("bad-inputs")
    cv2.imwrite(str(root / "img.png"), np.full((120, 160, 3), 90, np.uint8))
    cv2.imwrite(str(root / "img.jpg"), np.full((40, 40, 3), 90, np.uint8))
    cv2.imwrite(str(root / "pixel.png"), np.zeros((1, 1, 3), np.uint8))
    (root / "fake.jpg").write_text("not an image")
    (root / "a_file").write_text("x")
    (root / "empty").mkdir()
    (root / "videos").mkdir()
    writer = cv2.VideoWriter(str(root / "videos" / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                             10, (64, 48))
    for _ in range(5):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    return {"ckpt": str(tiny_checkpoint), "img": str(root / "img.png"),
            "jpg": str(root / "img.jpg"), "pixel": str(root / "pixel.png"),
            "fake": str(root / "fake.jpg"), "file": str(root / "a_file"),
            "empty": str(root / "empty"), "videos": str(root / "videos"),
            "video": str(root / "videos" / "clip.mp4"), "onnx": ONNX,
            "bomb": str(_png_header(root / "bomb.png", 30000, 30000)),
            "data": str(make_folder_dataset(root / "data", n_per_class=2, seed=0)),
            "space": str(_space_file(root / "space.yaml"))}


def _space_file(path: Path) -> Path:
    """A valid search space (tiny model), for rows that test the other arguments."""
    path.write_text("fixed: {model.name: tinycnn_test, trainer.epochs: 1}\n"
                    "params: {optimizer.lr: [0.01, 0.1]}\nn_trials: 1\n")
    return path


def _files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clean_line(case, files, cli, tmp_path, monkeypatch):
    _, line, expected, needle, *rest = case
    out = tmp_path / "out"
    out.mkdir()
    fill = {**files, "out": str(out)}
    for key, value in (rest[0] if rest else {}).items():
        monkeypatch.setenv(key, value.format(**fill))
    args = [a.format(**fill) for a in line.split()]
    code, stdout, stderr = cli(*args)

    assert "Traceback" not in stdout + stderr, stderr
    assert code == expected, f"exit {code}, expected {expected}: {stderr}"
    # Typer's usage box wraps long lines: compare with the box and line breaks taken out
    flat = " ".join(stderr.replace("│", " ").split())
    assert needle in stderr or " ".join(needle.split()) in flat, stderr
    if code == 1:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        assert lines[-1].startswith("error: ") and sum(ln.startswith("error:")
                                                       for ln in lines) == 1, stderr
        assert not any(ln.startswith("error:") for ln in lines[:-1]), stderr
    if "--json" in args and stdout.strip():
        json.loads(stdout)  # exactly one JSON document, or nothing
    elif code:
        assert stdout.strip() == "", stdout
    assert _files_under(out) == [], "a failed command left files behind"


def test_case_count():
    """The closing note of #15 reports this count (each row is a reproduced failure or a
    sibling of one)."""
    assert len(CASES) == len({c[0] for c in CASES}) >= 60
