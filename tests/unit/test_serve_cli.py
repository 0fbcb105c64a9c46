"""``ferkit serve``: a thin shell over ferkit.serve (uvicorn is replaced by a recorder here)."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_uvicorn(monkeypatch):
    pytest.importorskip("uvicorn")
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_defaults_bind_loopback(cli, fake_uvicorn, monkeypatch):
    monkeypatch.delenv("FERKIT_API_KEY", raising=False)
    code, out, err = cli("serve", "--model", "fast", "--workers", "1")
    assert code == 0, err
    (app, kw), = fake_uvicorn
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000 and kw["access_log"] is False
    service = app.state.service
    assert service.ready and service.config.workers == 1 and service.config.api_key is None
    assert service.config.max_upload_mb == 10.0
    assert "serving http://127.0.0.1:8000/" in err and out == ""


def test_serve_options_and_env_key(cli, fake_uvicorn, monkeypatch):
    monkeypatch.setenv("FERKIT_API_KEY", "from-env")
    code, _, err = cli("serve", "--model", "fast", "--host", "0.0.0.0", "--port", "9001",
                       "--max-upload-mb", "2", "--workers", "2")
    assert code == 0, err
    (app, kw), = fake_uvicorn
    cfg = app.state.service.config
    assert (kw["host"], kw["port"], cfg.api_key, cfg.max_upload_mb) == ("0.0.0.0", 9001,
                                                                          "from-env", 2.0)
    assert "API key required" in err


def test_serve_bad_model_is_one_line(cli, fake_uvicorn):
    code, _, err = cli("serve", "--model", "no-such-model")
    assert code == 1 and not fake_uvicorn
    assert err.startswith("error:") and "Traceback" not in err
    code, _, err = cli("serve", "--model", "fast", "--max-upload-mb", "0")
    assert code == 1 and "max_upload_mb" in err


def test_serve_without_extra_says_how_to_install(cli, monkeypatch):
    import ferkit.serve

    monkeypatch.setattr(ferkit.serve, "missing_modules", lambda: ["fastapi"])
    code, out, err = cli("serve")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert 'pip install "ferkit[serve]"' in err
