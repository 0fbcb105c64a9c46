"""The model contract, checked on every registered tiny ``*_test`` model (generated from MODELS)."""

from __future__ import annotations

import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, load_model, save_checkpoint
from ferkit.models import MODELS, create_model, list_models
from ferkit.seed import seed_everything
from ferkit.types import EMOTIONS, ModelInfo

TEST_MODELS = list_models("*_test")


def _batch(model, n: int = 3, seed: int = 0) -> torch.Tensor:
    info = model.ferkit_info
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, info.in_chans, info.input_size, info.input_size, generator=g)


def test_every_family_has_a_test_variant():
    families = {MODELS.meta(n)["family"] for n in list_models()}
    tested = {MODELS.meta(n)["family"] for n in TEST_MODELS}
    assert families == tested
    assert len(TEST_MODELS) >= 10


@pytest.mark.parametrize("name", list_models())
def test_registry_metadata(name):
    meta = MODELS.meta(name)
    assert meta.get("family") and meta.get("reference")


@pytest.mark.parametrize("name", TEST_MODELS)
@pytest.mark.parametrize("in_chans", [1, 3])
def test_forward_backward(name, in_chans):
    seed_everything(0)
    model = create_model(name, num_classes=7, in_chans=in_chans).train()
    x = _batch(model)
    out = model(x)
    assert out.shape == (3, 7)
    assert torch.isfinite(out).all()
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 3, 6])).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", TEST_MODELS)
def test_deterministic_with_seed(name):
    outs = []
    for _ in range(2):
        seed_everything(123)
        model = create_model(name).eval()
        with torch.no_grad():
            outs.append(model(_batch(model)))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    seed_everything(124)
    other = create_model(name).eval()
    with torch.no_grad():
        assert not torch.equal(other(_batch(other)), outs[0])


@pytest.mark.parametrize("name", TEST_MODELS)
def test_features_classifier_and_cam_layer(name):
    model = create_model(name).eval()
    x = _batch(model, n=2)
    feats = model.forward_features(x)
    assert feats.shape == (2, model.num_features)
    maps = []
    handle = model.cam_layer.register_forward_hook(lambda m, i, o: maps.append(o))
    with torch.no_grad():
        model(x)
    handle.remove()
    assert len(maps) == 1 and maps[0].ndim == 4
    model.reset_classifier(3)
    assert model(x).shape == (2, 3)


@pytest.mark.parametrize("name", TEST_MODELS)
def test_info_is_valid(name):
    model = create_model(name, num_classes=7, in_chans=3)
    info = model.ferkit_info
    assert isinstance(info, ModelInfo)
    assert info.name == name and info.in_chans == 3 and len(info.mean) == 3
    assert info.labels == EMOTIONS and info.reference
    assert ModelInfo.from_dict(info.to_dict()) == info


@pytest.mark.parametrize("name", TEST_MODELS)
def test_safetensors_round_trip(name, tmp_path):
    seed_everything(7)
    model = create_model(name, num_classes=5).eval()
    meta = CheckpointMeta(model=name, info=model.ferkit_info, num_classes=5, seed=7)
    path = save_checkpoint(tmp_path / "m.safetensors", model.state_dict(), meta)
    loaded, loaded_meta = load_model(path)
    assert loaded_meta.model == name
    x = _batch(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
