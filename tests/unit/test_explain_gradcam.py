"""Explain: Grad-CAM localises, saliency fallback, heatmap contract, PNG panels, CLI errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from ferkit.checkpoint import CheckpointMeta, save_checkpoint
from ferkit.errors import ConfigError, UnknownNameError
from ferkit.explain import EXPLAINERS, explain_crop, save_panel
from ferkit.models import create_model, list_models
from ferkit.types import ModelInfo


class BlobNet(nn.Module):
    """Class 0 = 'bright stuff somewhere': Grad-CAM for class 0 must light up the bright blob."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)
        nn.init.ones_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.act = nn.ReLU(inplace=True)  # in-place after the cam layer: must not corrupt it
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[1.0], [-1.0]]))
            self.head.bias.zero_()
        self.cam_layer = self.conv
        self.ferkit_info = ModelInfo("blob", input_size=32, in_chans=1, mean=(0.5,), std=(0.5,),
                                     labels=("bright", "dark"))

    def forward(self, x):
        return self.head(self.act(self.conv(x)).mean(dim=(2, 3)))


def test_gradcam_localises_the_evidence():
    crop = np.zeros((64, 64), np.uint8)
    crop[4:20, 6:22] = 255  # bright square in the top-left quadrant
    expl = explain_crop(BlobNet().eval(), crop, method="gradcam", target="bright")
    assert expl.method == "gradcam" and expl.target == "bright" and expl.notes == []
    h = expl.heatmap
    assert h.shape == crop.shape and h.dtype == np.float32
    assert h[4:20, 6:22].mean() > 0.8 and h[32:, 32:].max() < 0.05
    y, x = np.unravel_index(np.argmax(h), h.shape)
    assert y < 32 and x < 32
    assert expl.label == "bright" and expl.probs.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("shape", [(37, 53), (48, 48, 3)])
def test_model_without_cam_layer_falls_back_to_saliency(shape):
    model = BlobNet().eval()
    del model.cam_layer  # a model that does not name a Grad-CAM layer
    crop = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    expl = explain_crop(model, crop, method="gradcam")
    assert expl.method == "saliency" and "no cam_layer" in expl.notes[0]
    assert expl.heatmap.shape == shape[:2] and np.isfinite(expl.heatmap).all()
    assert 0.0 <= expl.heatmap.min() and expl.heatmap.max() <= 1.0


@pytest.mark.parametrize("name", list_models("*_test"))
def test_every_test_model_explains(name):
    torch.manual_seed(0)
    model = create_model(name, in_chans=1).eval()
    crop = np.random.default_rng(1).integers(0, 256, (50, 50), dtype=np.uint8)
    expl = explain_crop(model, crop, method="gradcam", target="predicted")
    expected = "gradcam" if getattr(model, "cam_layer", None) is not None else "saliency"
    assert expl.method == expected
    assert expl.heatmap.shape == (50, 50) and np.isfinite(expl.heatmap).all()
    assert expl.heatmap.min() >= 0.0 and expl.heatmap.max() <= 1.0
    assert not any(p.grad is not None for p in model.parameters())  # weights untouched


def test_bad_target_and_method():
    crop = np.zeros((32, 32), np.uint8)
    with pytest.raises(ConfigError, match="one of: bright, dark"):
        explain_crop(BlobNet().eval(), crop, target="happy")
    with pytest.raises(UnknownNameError, match="saliency"):
        explain_crop(BlobNet().eval(), crop, method="lime")
    assert EXPLAINERS.names() == ["gradcam", "saliency"]


def test_save_panel_writes_png(tmp_path):
    crop = np.zeros((40, 40, 3), np.uint8)
    crop[5:15, 5:15] = 200
    expl = explain_crop(BlobNet().eval(), crop[..., 0], method="saliency")
    path = save_panel(expl, tmp_path / "sub" / "panel.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 300
    assert list(tmp_path.glob("sub/.*")) == []  # no temp file left behind


def _checkpoint(tmp_path):
    model = create_model("tinycnn_test")
    return save_checkpoint(tmp_path / "m.safetensors", model.state_dict(),
                           CheckpointMeta(model="tinycnn_test", info=model.ferkit_info))


def _image(tmp_path, name="face.png", size=(60, 50)):
    rng = np.random.default_rng(0)
    path = tmp_path / name
    cv2.imwrite(str(path), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return path


def test_cli_explain_no_detect(cli, tmp_path):
    ckpt, image = _checkpoint(tmp_path), _image(tmp_path)
    out_dir = tmp_path / "out"
    code, out, err = cli("explain", image, "--model", ckpt, "--no-detect", "--output", out_dir,
                         "--method", "saliency", "--target", "sad", "--json")
    assert code == 0, err
    doc = json.loads(out)
    (face,) = doc["faces"]
    assert face["target"] == "sad" and face["method"] == "saliency" and face["bbox"] is None
    assert set(face["probs"]) == set(create_model("tinycnn_test").ferkit_info.labels)
    png = cv2.imread(face["png"])
    assert png is not None and (out_dir / "face_face0.png").is_file()


def test_cli_explain_with_detection_and_no_face(cli, tmp_path):
    ckpt = _checkpoint(tmp_path)
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((120, 160, 3), 128, np.uint8))
    code, out, err = cli("explain", flat, "--model", ckpt, "--output", tmp_path / "o")
    assert code == 0 and "no face found" in err and out == ""
    assert not list(tmp_path.glob("o/*.png"))


def _garbage(tmp_path):
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"not an image")
    return p


@pytest.mark.parametrize("args, message", [
    (lambda t: [_garbage(t), "--model", _checkpoint(t)], "cannot decode image"),
    (lambda t: [t / "nope.png", "--model", _checkpoint(t)], "does not exist"),
    (lambda t: [_image(t), "--model", t / "missing.safetensors"], "does not exist"),
    (lambda t: [_image(t), "--model", _checkpoint(t), "--method", "lime"], "unknown"),
    (lambda t: [_image(t), "--model", _checkpoint(t), "--no-detect", "--target", "joy"],
     "not a label"),
])
def test_cli_explain_bad_inputs(cli, tmp_path, args, message):
    code, out, err = cli("explain", *args(tmp_path))
    assert code == 1 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
