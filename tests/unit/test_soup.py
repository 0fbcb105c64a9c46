"""``ferkit soup``: weight averaging of fine-tunes — exact arithmetic, metadata, refusals."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, load_checkpoint, load_model, save_checkpoint
from ferkit.ensemble.soup import make_soup
from ferkit.errors import CheckpointError, ConfigError
from ferkit.models import create_model
from ferkit.types import EMOTIONS


def _save(path: Path, model, *, labels=EMOTIONS, temperature=1.0, half=False,
          name="tinycnn_test", kwargs=None, extra=None) -> Path:
    info = dataclasses.replace(model.ferkit_info, labels=tuple(labels))
    meta = CheckpointMeta(model=name, info=info, model_kwargs=kwargs or {"input_size": 16},
                          num_classes=len(labels), temperature=temperature,
                          metrics={"val_acc": 0.5}, data_fingerprint="fp", extra=extra or {})
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return save_checkpoint(path, state, meta)


def _tiny(seed: int, input_size: int = 16):
    torch.manual_seed(seed)
    model = create_model("tinycnn_test", input_size=input_size)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so they are averaged too
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    return model


@pytest.fixture()
def pair(tmp_path) -> tuple[Path, Path]:
    return (_save(tmp_path / "a.safetensors", _tiny(0), temperature=1.2,
                  extra={"stored_dtype": "float16", "fp16_of": "run/best.safetensors",
                         "data_path": "fer2013"}),
            _save(tmp_path / "b.safetensors", _tiny(1), temperature=1.6, half=True))


def test_a_weighted_soup_is_the_weighted_mean_of_every_float_tensor(pair, tmp_path):
    result = make_soup([str(p) for p in pair], tmp_path / "soup.safetensors", [3, 1])
    assert result.weights == [0.75, 0.25] and result.model == "tinycnn_test"
    soup, meta = load_checkpoint(result.path)
    a, _ = load_checkpoint(pair[0])
    b, _ = load_checkpoint(pair[1])
    assert set(soup) == set(a)
    for k, v in soup.items():
        if v.is_floating_point():
            assert v.dtype == torch.float32
            torch.testing.assert_close(v, 0.75 * a[k].float() + 0.25 * b[k].float())
        else:
            assert torch.equal(v, a[k])
    assert meta.metrics == {} and meta.history == []  # not measured yet
    assert meta.temperature == pytest.approx(0.75 * 1.2 + 0.25 * 1.6)
    assert meta.data_fingerprint == "fp"
    assert [i["weight"] for i in meta.extra["soup"]] == [0.75, 0.25]
    assert all(len(i["sha256"]) == 64 for i in meta.extra["soup"])
    # each ingredient's own measurement travels with the soup (its provenance)
    assert [i["metrics"] for i in meta.extra["soup"]] == [{"val_acc": 0.5}] * 2
    # a float32 soup is not the float16 copy its first ingredient was; the data notes stay
    assert "stored_dtype" not in meta.extra and "fp16_of" not in meta.extra
    assert meta.extra["data_path"] == "fer2013"
    model, _ = load_model(result.path)  # loads as the registered network
    assert model(torch.rand(2, 1, 16, 16)).shape == (2, 7)


def test_a_soup_of_one_model_with_itself_is_that_model(pair, tmp_path):
    result = make_soup([str(pair[0]), str(pair[0])], tmp_path / "same.safetensors")
    a, _ = load_model(pair[0])
    s, _ = load_model(result.path)
    x = torch.rand(4, 1, 16, 16)
    torch.testing.assert_close(s(x), a(x))


def test_ingredients_that_cannot_be_averaged_are_refused_by_name(pair, tmp_path):
    other_labels = _save(tmp_path / "rev.safetensors", _tiny(2),
                         labels=tuple(reversed(EMOTIONS)))
    with pytest.raises(CheckpointError, match=r"rev\.safetensors.*labels differ"):
        make_soup([str(pair[0]), str(other_labels)], tmp_path / "x.safetensors")
    bigger = _save(tmp_path / "big.safetensors", _tiny(3, input_size=24),
                   kwargs={"input_size": 24})
    with pytest.raises(CheckpointError, match=r"big\.safetensors.*network arguments differ"):
        make_soup([str(pair[0]), str(bigger)], tmp_path / "x.safetensors")
    state, meta = load_checkpoint(pair[0])
    del state["classifier.bias"]
    short = save_checkpoint(tmp_path / "short.safetensors", state, meta)
    with pytest.raises(CheckpointError, match=r"short\.safetensors.*'classifier\.bias' is only"):
        make_soup([str(pair[0]), str(short)], tmp_path / "x.safetensors")
    with pytest.raises(ConfigError, match="at least 2"):
        make_soup([str(pair[0])], tmp_path / "x.safetensors")
    with pytest.raises(ConfigError, match="weights must be finite"):
        make_soup([str(p) for p in pair], tmp_path / "x.safetensors", [1, -1])
    with pytest.raises(ConfigError, match="ending in .safetensors"):
        make_soup([str(p) for p in pair], tmp_path / "x.pt")
    assert not (tmp_path / "x.safetensors").exists()


def test_cli_soup_and_its_one_line_errors(cli, pair, tmp_path):
    out = tmp_path / "cli.safetensors"
    code, stdout, _ = cli("soup", *pair, "--output", out, "--json")
    assert code == 0 and json.loads(stdout)["weights"] == [0.5, 0.5] and out.is_file()
    code, _, err = cli("soup", pair[0], pair[1], "-w", "1", "-o", tmp_path / "y.safetensors")
    assert code == 1 and "got 1 weights for 2 checkpoints" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("soup", pair[0], tmp_path / "missing.safetensors", "-o", out)
    assert code == 1 and "missing.safetensors" in err and "Traceback" not in err
    code, _, err = cli("soup", pair[0], pair[1])  # no --output: usage error
    assert code == 2
