from dataclasses import dataclass, field
from typing import Literal

import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, load_model, read_meta, save_checkpoint
from ferkit.config import check_range, load_config, parse_overrides
from ferkit.errors import CheckpointError, ConfigError, UnknownNameError
from ferkit.io import atomic_write_text
from ferkit.models import create_model
from ferkit.registry import Registry
from ferkit.seed import seed_everything


def test_registry_duplicates_and_did_you_mean():
    reg = Registry("widget")

    @reg.register("alpha")
    def alpha():
        return 1

    with pytest.raises(ValueError, match="already registered"):
        reg.add("alpha", alpha)
    with pytest.raises(UnknownNameError, match="did you mean 'alpha'"):
        reg.get("alpah")
    assert reg.get("alpha")() == 1 and "alpha" in reg and reg.names() == ["alpha"]


@dataclass
class Optim:
    name: Literal["sgd", "adam"] = "adam"
    lr: float = 1e-3


@dataclass
class Cfg:
    epochs: int = 3
    flip: bool = True
    optim: Optim = field(default_factory=Optim)
    sizes: tuple[int, ...] = (48,)

    def __post_init__(self):
        check_range("epochs", self.epochs, 1, None)


def test_config_yaml_and_overrides(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("epochs: 5\noptim:\n  name: sgd\n")
    cfg = load_config(Cfg, path, ["optim.lr=0.1", "flip=false", "sizes=[40,48]"])
    assert cfg == Cfg(epochs=5, flip=False, optim=Optim("sgd", 0.1), sizes=(40, 48))


@pytest.mark.parametrize("override, message", [
    (["epoch=3"], "did you mean 'epochs'"),
    (["epochs=0"], "out of range"),
    (["optim.name=rmsprop"], "not one of"),
    (["epochs=abc"], "expected an integer"),
    (["noequals"], "key=value"),
])
def test_config_rejects_bad_values(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Cfg, None, override)


def test_parse_overrides_nested():
    assert parse_overrides(["a.b=1", "a.c=x", "d=[1, 2]"]) == {"a": {"b": 1, "c": "x"}, "d": [1, 2]}


def test_seed_everything_reproducible():
    seed_everything(3)
    a = torch.rand(3)
    rng_a = seed_everything(3).random()
    seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    assert rng_a == seed_everything(3).random()


def test_atomic_write_leaves_no_temp(tmp_path):
    atomic_write_text(tmp_path / "x.txt", "hi")
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_checkpoint_round_trip(tmp_path):
    seed_everything(0)
    model = create_model("tinycnn_test")
    meta = CheckpointMeta(model="tinycnn_test", info=model.ferkit_info, metrics={"acc": 0.5})
    path = save_checkpoint(tmp_path / "m.safetensors", model.state_dict(), meta)
    assert read_meta(path).metrics == {"acc": 0.5}
    loaded, meta2 = load_model(path)
    x = torch.rand(2, 1, 48, 48)
    model.eval()
    assert torch.allclose(model(x), loaded(x))
    assert meta2.labels[3] == "happy"


def test_checkpoint_refuses_pickles_and_garbage(tmp_path):
    bad = tmp_path / "m.pt"
    bad.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="pickle"):
        read_meta(bad)
    junk = tmp_path / "j.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a ferkit checkpoint"):
        read_meta(junk)


def test_cli_version_and_unknown_command(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("ferkit ")
    code, _, _ = cli("no-such-command")
    assert code == 2


def test_atomic_write_uses_normal_file_mode(tmp_path):
    import os
    import stat

    path = atomic_write_text(tmp_path / "y.txt", "hi")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
