"""channels_last is a speed layout only: same numbers, and checkpoints load without it."""

import torch

from ferkit.checkpoint import CheckpointMeta, load_model, save_checkpoint
from ferkit.models import create_model
from ferkit.seed import seed_everything
from ferkit.train.config import TrainConfig
from ferkit.train.module import FerModule


def test_channels_last_same_logits_and_portable_checkpoint(tmp_path):
    seed_everything(0)
    ref = create_model("tinycnn_test").eval()
    x = torch.rand(4, 1, 48, 48)
    expected = ref(x)
    cfg = TrainConfig()
    assert cfg.trainer.channels_last
    module = FerModule(ref, cfg).eval()
    conv = next(m for m in module.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(module(x.contiguous(memory_format=torch.channels_last)), expected,
                               rtol=1e-4, atol=1e-5)
    path = save_checkpoint(tmp_path / "m.safetensors", module.model.state_dict(),
                           CheckpointMeta(model="tinycnn_test", info=ref.ferkit_info))
    loaded, _ = load_model(path)
    torch.testing.assert_close(loaded(x), expected, rtol=1e-4, atol=1e-5)
