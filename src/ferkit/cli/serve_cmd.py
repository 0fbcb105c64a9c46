"""``ferkit serve``: the REST API and web page (a thin shell over ``ferkit.serve``)."""

from __future__ import annotations

import typer

_HOST = typer.Option("127.0.0.1", "--host", help="Interface to bind. The default serves this "
                     "machine only; 0.0.0.0 exposes the server to the network (set --api-key).")
_PORT = typer.Option(8000, "--port", "-p", help="TCP port.")
_MODEL = typer.Option("default", "--model", "-m", help="A bundled model name (default, fast, "
                      "accurate), a .safetensors checkpoint or an exported .onnx.")
_DETECTOR = typer.Option("mtcnn", "--detector", "-d",
                         help="Face detector (see ferkit predict; default: mtcnn).")
_BACKEND = typer.Option("auto", "--backend", help="Classifier backend: auto, torch or onnx.")
_KEY = typer.Option(None, "--api-key", envvar="FERKIT_API_KEY", show_envvar=True,
                    help="Require this key (X-API-Key header) on /v1/*; 401 without it. "
                    "Prefer the environment variable: a key on the command line shows in ps.")
_UPLOAD = typer.Option(10.0, "--max-upload-mb", help="Largest image accepted (413 above).")
_WORKERS = typer.Option(0, "--workers", "-w", help="Inference threads (each with its own face "
                        "detector, all sharing one model). 0 = one per core, at most 4.")
_TIMEOUT = typer.Option(30.0, "--timeout", help="Per-request limit in seconds, queueing "
                        "included (504 after it).")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""

    @app.command("serve")
    def serve(host: str = _HOST, port: int = _PORT, model: str = _MODEL,
              detector: str = _DETECTOR, backend: str = _BACKEND, api_key: str | None = _KEY,
              max_upload_mb: float = _UPLOAD, workers: int = _WORKERS,
              timeout: float = _TIMEOUT) -> None:
        """Serve the REST API (/v1/predict, /v1/stream, /docs) and the web page at /."""
        from ferkit.errors import MissingDependencyError
        from ferkit.serve import INSTALL_HINT, missing_modules

        missing = missing_modules()
        if missing:
            raise MissingDependencyError(f"ferkit serve needs the 'serve' extra "
                                         f"({', '.join(missing)} not installed); run: "
                                         f"{INSTALL_HINT}")
        run_server(host, port, model, detector, backend, api_key, max_upload_mb, workers, timeout)


def run_server(host, port, model, detector, backend, api_key, max_upload_mb, workers,
               timeout) -> None:
    import uvicorn

    from ferkit.bundled import resolve_model
    from ferkit.cli._common import info
    from ferkit.faces import DETECTORS
    from ferkit.serve import ServeConfig, create_app
    from ferkit.serve.config import default_workers
    from ferkit.serve.middleware import configure_access_log

    config = ServeConfig(model=model, detector=detector, backend=backend, host=host, port=port,
                         api_key=api_key or None, max_upload_mb=max_upload_mb,
                         workers=workers or default_workers(), timeout_s=timeout)
    resolve_model(model, backend)  # names and paths fail here, before anything loads
    DETECTORS.get(detector)
    app = create_app(config)
    info(f"loading {model!r} with the {detector} detector ({config.workers} inference threads)…")
    app.state.service.start()  # model errors end here as one line, before the port is bound
    configure_access_log()
    auth = "API key required" if app.state.service.config.api_key else "no API key"
    info(f"serving http://{host}:{port}/ (docs at /docs; {auth}; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning",
                ws_max_size=config.max_upload_bytes + 65536, timeout_graceful_shutdown=5)
