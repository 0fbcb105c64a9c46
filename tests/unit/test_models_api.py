"""create_model / list_models behaviour and bad input (clean ConfigError / UnknownNameError)."""

from __future__ import annotations

import pytest
import torch

from ferkit.errors import ConfigError, FerkitError, UnknownNameError
from ferkit.models import MODELS, count_macs, create_model, list_models, summarize


def test_list_models_pattern_and_test_filter():
    assert "vulpe_cnn" in list_models()
    assert list_models("vulpe*") == ["vulpe_cnn", "vulpe_cnn_test", "vulpe_family"]
    assert all(not n.endswith("_test") for n in list_models(include_test=False))
    assert all(n.endswith("_test") for n in list_models("*_test"))


def test_unknown_name_suggests_close_match():
    with pytest.raises(UnknownNameError, match="did you mean 'vulpe_cnn'"):
        create_model("vulpe_cn")


@pytest.mark.parametrize("bad", [0, 1, -3, 2.5, "7", True, None])
def test_bad_num_classes(bad):
    with pytest.raises(ConfigError, match="num_classes"):
        create_model("tinycnn_test", num_classes=bad)


@pytest.mark.parametrize("bad", [0, 2, 4, "1", True])
def test_bad_in_chans(bad):
    with pytest.raises(ConfigError, match="in_chans"):
        create_model("tinycnn_test", in_chans=bad)


def test_unknown_kwarg_lists_accepted_ones():
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) dropout.*accepts: .*drop"):
        create_model("alizadeh_shallow", dropout=0.5)


def test_unknown_kwarg_on_model_without_extras():
    with pytest.raises(ConfigError, match="no extra arguments"):
        create_model("vulpe_cnn_test", width=3)


@pytest.mark.parametrize("kwargs", [{"drop": 1.5}, {"drop": "x"}, {"input_size": 4},
                                    {"input_size": 48.0}])
def test_bad_kwarg_values(kwargs):
    with pytest.raises(ConfigError):
        create_model("alizadeh_deep", **kwargs)


def test_pretrained_without_offline_weights():
    with pytest.raises(ConfigError, match="no offline pretrained weights.*efficientnet_lite0"):
        create_model("efficientnet_b0", pretrained=True)
    with pytest.raises(ConfigError, match="pretrained"):
        create_model("tinycnn_test", pretrained="yes")


def test_errors_are_ferkit_errors():
    for call in (lambda: create_model("nope"), lambda: create_model("tinycnn_test", num_classes=1)):
        with pytest.raises(FerkitError):
            call()


def test_input_size_kwarg_changes_model():
    model = create_model("alizadeh_shallow", input_size=64)
    assert model.ferkit_info.input_size == 64
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 7)


def test_macs_of_a_known_layer():
    # tinycnn_test at 48 px: conv 1→8 3×3 at 48², conv 8→16 3×3 at 24², linear 16→7
    expected = 8 * 9 * 48 * 48 + 16 * 8 * 9 * 24 * 24 + 16 * 7
    assert count_macs(create_model("tinycnn_test")) == expected


def test_summarize_reports_registry_metadata():
    s = summarize("vulpe_cnn_test")
    assert s.family == "vulpe" and s.params == s.trainable_params > 0 and s.macs > 0
    assert MODELS.meta("vulpe_cnn")["paper_accuracy"].startswith("72.16")
