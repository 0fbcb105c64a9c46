"""Every registered ``*_test`` model exports to ONNX and ONNX Runtime agrees with torch.

Generated from the model registry at collection time, so a new tiny model is covered the moment
it registers. (Full-size export speed/parity is exercised by ``benchmarks/bench_classifier.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, save_checkpoint
from ferkit.export.onnx import export_onnx, read_onnx_meta
from ferkit.inference.backends import OnnxBackend, TorchBackend
from ferkit.models import create_model, list_models

TEST_MODELS = list_models("*_test")


def _randomise_norm_stats(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial BatchNorm statistics, so eval-mode folding is really checked."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


@pytest.mark.parametrize("in_chans", [1, 3])
@pytest.mark.parametrize("name", TEST_MODELS)
def test_onnx_export_parity(name, in_chans, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, in_chans=in_chans).eval()
    _randomise_norm_stats(model, 0)
    info = model.ferkit_info
    ckpt = save_checkpoint(tmp_path / f"{name}.safetensors", model.state_dict(),
                           CheckpointMeta(model=name, info=info, num_classes=7,
                                          temperature=1.25))
    result = export_onnx(ckpt, tmp_path / f"{name}.onnx")  # raises ExportError on disagreement
    assert result.max_abs_diff is not None and np.isfinite(result.max_abs_diff)
    meta = read_onnx_meta(result.path)
    assert meta.info == info and meta.model == name and meta.temperature == 1.25

    size = info.input_size + 5  # crops of another size: resize is part of the contract
    shape = (3, size, size, 3) if in_chans == 3 else (3, size, size)
    crops = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_allclose(OnnxBackend(result.path, threads=1).predict_proba(crops),
                               TorchBackend(ckpt).predict_proba(crops), atol=1e-4)


#: full-size representatives (default-model family + the fast MobileNet-style one); ~4 s in all
FULL_SIZE = [n for n in ("efficientnet_lite0", "mobilenet_small") if n in list_models()]


@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_size_export_parity(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, in_chans=3).eval()
    _randomise_norm_stats(model, 1)
    ckpt = save_checkpoint(tmp_path / f"{name}.safetensors", model.state_dict(),
                           CheckpointMeta(model=name, info=model.ferkit_info, num_classes=7))
    result = export_onnx(ckpt, tmp_path / f"{name}.onnx")
    assert result.max_abs_diff is not None and result.max_abs_diff < 1e-3
    assert result.input_shape == ("batch", 3, model.ferkit_info.input_size,
                                  model.ferkit_info.input_size)
