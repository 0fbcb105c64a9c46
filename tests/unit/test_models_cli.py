"""``ferkit models`` through the in-process ``cli`` fixture."""

from __future__ import annotations

import json


def test_models_json(cli):
    code, out, err = cli("models", "--json", "*_test")
    assert code == 0, err
    rows = json.loads(out)["models"]
    names = [r["name"] for r in rows]
    assert "tinycnn_test" in names and all(n.endswith("_test") for n in names)
    for r in rows:
        assert r["params"] > 0 and r["macs"] > 0 and r["input_size"] >= 8
        assert r["in_chans"] == 1 and r["reference"]


def test_models_table_substring(cli):
    code, out, _ = cli("models", "vulpe")
    assert code == 0
    assert "vulpe_cnn" in out and "5,170,503" in out


def test_models_no_match_is_user_error(cli):
    code, out, err = cli("models", "vulpe_cn?x")
    assert code == 1 and out == ""
    assert "did you mean" in err and "Traceback" not in err


def test_models_help(cli):
    code, out, _ = cli("models", "--help")
    assert code == 0 and "--json" in out
