"""REST API through FastAPI's TestClient: every endpoint and every error the server promises.

A tiny untrained checkpoint and the 'test-blobs' detector (bright squares are faces) give known
boxes quickly; one test runs the bundled fast model with Haar on the bundled sample photo.
"""

from __future__ import annotations

import base64
import json
import logging
import struct
import zlib

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")
from fastapi.testclient import TestClient  # noqa: E402
from starlette.testclient import WebSocketDenialResponse  # noqa: E402

from ferkit.serve import ServeConfig, create_app  # noqa: E402


def blobs_png(shift: int = 0, size: tuple[int, int] = (120, 200)) -> bytes:
    """A dark image with two bright 40x40 squares (two 'faces' for the blob detector)."""
    img = np.full((*size, 3), 30, np.uint8)
    img[30:70, 20 + shift:60 + shift] = 220
    img[40:80, 120 + shift:160 + shift] = 220
    return cv2.imencode(".png", img)[1].tobytes()


def png_bomb(side: int = 30000) -> bytes:
    """A genuine decompression bomb: a side x side 1-bit PNG of zeros, ~100 KB on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def make_client(tiny_checkpoint, blob_detector, **fields) -> TestClient:
    fields.setdefault("workers", 2)
    config = ServeConfig(model=str(tiny_checkpoint), detector=blob_detector, **fields)
    return TestClient(create_app(config))


@pytest.fixture(scope="module")
def client(tiny_checkpoint, blob_detector):
    with make_client(tiny_checkpoint, blob_detector, max_upload_mb=0.5, max_batch=3) as c:
        yield c


def upload(client, data: bytes, name="x.png", ctype="image/png", **params):
    return client.post("/v1/predict", files={"file": (name, data, ctype)}, params=params)


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


# --- health, models, docs -----------------------------------------------------------------
def test_health_ready_models_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok", "ready": True}
    assert client.get("/readyz").status_code == 200
    models = client.get("/v1/models").json()
    assert models["loaded"]["detector"] == "test-blobs"
    assert {m["name"] for m in models["bundled"]} >= {"default", "fast"}
    assert not any(m["loaded"] for m in models["bundled"])  # a custom checkpoint is loaded
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/predict", "/v1/predict/batch", "/v1/models", "/healthz", "/readyz"} <= set(paths)
    assert "multipart/form-data" in paths["/v1/predict"]["post"]["requestBody"]["content"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    if "cdn." not in docs.text:  # fastapi-offline (serve extra): Swagger UI from the package
        assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_not_ready_before_startup(tiny_checkpoint, blob_detector):
    c = make_client(tiny_checkpoint, blob_detector)  # no `with`: the lifespan never ran
    assert c.get("/healthz").json()["ready"] is False
    assert_error(c.get("/readyz"), 503, "not_ready")
    assert_error(upload(c, blobs_png()), 503, "not_ready")
    with c.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["error"]["code"] == "not_ready"


def test_web_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="/static/app.js"' in page.text and "http" not in page.text.split("<footer")[0]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


# --- predict: same document as `ferkit predict --json` -------------------------------------
def test_predict_multipart_matches_cli_json(client, cli, tmp_path, tiny_checkpoint,
                                            blob_detector):
    path = tmp_path / "two.png"
    path.write_bytes(blobs_png())
    served = upload(client, path.read_bytes(), name="two.png").json()
    code, out, _ = cli("predict", path, "--json", "--model", tiny_checkpoint,
                       "--detector", blob_detector)
    assert code == 0
    local = json.loads(out)
    assert set(served) == set(local)
    assert served["schema_version"] == local["schema_version"]
    img_s, img_l = served["images"][0], local["images"][0]
    assert img_s["source"] == "two.png" and img_s["width"] == 200 and img_s["height"] == 120
    assert {k: v for k, v in img_s.items() if k != "source"} == \
        {k: v for k, v in img_l.items() if k != "source"}
    boxes = [f["bbox"] for f in img_s["faces"]]
    assert boxes == [{"x": 20.0, "y": 30.0, "w": 40.0, "h": 40.0},
                     {"x": 120.0, "y": 40.0, "w": 40.0, "h": 40.0}]
    face = img_s["faces"][0]
    assert abs(sum(face["probs"].values()) - 1) < 1e-3 and face["label"] in face["probs"]


def test_predict_json_base64_and_raw_body(client):
    data = blobs_png()
    by_form = upload(client, data).json()["images"][0]["faces"]
    b64 = base64.b64encode(data).decode()
    by_json = client.post("/v1/predict", json={"image": b64, "name": "b.png"}).json()
    assert by_json["images"][0]["source"] == "b.png"
    assert by_json["images"][0]["faces"] == by_form
    data_url = client.post("/v1/predict", json={"image": "data:image/png;base64," + b64})
    assert data_url.json()["images"][0]["faces"] == by_form
    raw = client.post("/v1/predict", content=data, headers={"content-type": "image/png"})
    assert raw.json()["images"][0]["faces"] == by_form


def test_predict_options(client):
    data = blobs_png()
    doc = upload(client, data, min_confidence=1.0, flip_tta="true").json()
    assert doc["pipeline"]["flip_tta"] is True and doc["pipeline"]["min_confidence"] == 1.0
    assert {f["label"] for f in doc["images"][0]["faces"]} == {"uncertain"}
    form = client.post("/v1/predict", files={"file": ("x.png", data, "image/png")},
                       data={"min_confidence": "1"}).json()
    assert {f["label"] for f in form["images"][0]["faces"]} == {"uncertain"}
    plain = upload(client, data).json()  # the pooled pipeline kept its defaults
    assert plain["pipeline"]["flip_tta"] is False
    assert "uncertain" not in {f["label"] for f in plain["images"][0]["faces"]}
    assert_error(upload(client, data, min_confidence=2), 422, "invalid_request")
    assert_error(client.post("/v1/predict", json={"image": "AA==", "flip_tta": "maybe"}), 422)


def test_no_face_is_an_empty_result(client):
    dark = cv2.imencode(".png", np.zeros((50, 50, 3), np.uint8))[1].tobytes()
    doc = upload(client, dark).json()
    assert doc["images"][0]["faces"] == [] and doc["images"][0]["error"] is None


def test_batch(client):
    files = [("files", ("a.png", blobs_png(), "image/png")),
             ("files", ("b.png", blobs_png(shift=5), "image/png")),
             ("files", ("bad.png", b"not an image", "image/png"))]
    doc = client.post("/v1/predict/batch", files=files).json()
    images = doc["images"]
    assert [i["source"] for i in images] == ["a.png", "b.png", "bad.png"]
    assert [len(i["faces"]) for i in images] == [2, 2, 0]
    assert images[2]["error"] and "cannot decode" in images[2]["error"]
    payload = {"images": [{"image": base64.b64encode(blobs_png()).decode(), "name": "j.png"}],
               "min_confidence": 1.0}
    doc = client.post("/v1/predict/batch", json=payload).json()
    assert [f["label"] for f in doc["images"][0]["faces"]] == ["uncertain", "uncertain"]
    too_many = {"images": [{"image": "AA=="}] * 4}
    assert_error(client.post("/v1/predict/batch", json=too_many), 413, "too_many_images")
    assert_error(client.post("/v1/predict/batch", content=blobs_png(),
                             headers={"content-type": "image/png"}), 415)


# --- limits and errors --------------------------------------------------------------------
def test_oversized_upload_413(client):
    big = b"\xff" * (600 * 1024)  # over the 0.5 MB limit
    assert_error(upload(client, big, name="big.jpg", ctype="image/jpeg"), 413,
                 "payload_too_large")
    huge = b"\x00" * (2 * 1024 * 1024)  # over the whole-body limit: refused before parsing
    err = assert_error(client.post("/v1/predict", content=huge,
                                   headers={"content-type": "image/png"}), 413)
    assert err["message"].startswith("request body is 2.0 MB")

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(40):
            yield b"\x00" * 65536

    err = assert_error(client.post("/v1/predict", content=chunks(),
                                   headers={"content-type": "image/png"}), 413)
    assert err["message"].startswith("request body over the")
    assert client.get("/healthz").status_code == 200


def test_content_type_and_decode_errors(client):
    assert_error(upload(client, b"hello", name="notes.txt", ctype="text/plain"), 415,
                 "unsupported_media_type")
    assert_error(client.post("/v1/predict", content=b"hello",
                             headers={"content-type": "text/plain"}), 415)
    assert_error(client.post("/v1/predict"), 415)
    assert_error(upload(client, b"hello, not a png"), 422, "undecodable_image")
    assert_error(upload(client, b"hello", name="n.bin", ctype="application/octet-stream"), 422)
    assert_error(upload(client, b""), 422, "empty_image")
    assert_error(client.post("/v1/predict", json={"image": "***"}), 422, "invalid_base64")
    assert_error(client.post("/v1/predict", content=b"{oops",
                             headers={"content-type": "application/json"}), 422, "invalid_json")
    assert_error(client.post("/v1/predict", json={"img": "AA=="}), 422, "invalid_request")
    assert_error(client.post("/v1/predict", files={"other": ("x.png", b"1", "image/png")}),
                 422, "missing_file")


def test_decompression_bomb_is_refused_and_server_keeps_serving(client):
    bomb = png_bomb()
    assert len(bomb) < 512 * 1024
    err = assert_error(upload(client, bomb, name="bomb.png"), 413, "image_too_large")
    assert "30000×30000" in err["message"]
    assert client.get("/healthz").status_code == 200
    assert len(upload(client, blobs_png()).json()["images"][0]["faces"]) == 2


def test_json_errors_for_404_405_and_validation(client):
    assert_error(client.get("/v1/nope"), 404, "not_found")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")
    assert_error(client.post("/v1/models"), 405)


def test_timeout_504_and_busy_503(tiny_checkpoint, blob_detector, monkeypatch):
    import time

    with make_client(tiny_checkpoint, blob_detector, timeout_s=0.05, workers=1) as c:
        service = c.app.state.service
        monkeypatch.setattr(service, "predict", lambda *a: time.sleep(1.0))
        assert_error(upload(c, blobs_png()), 504, "timeout")
        service._waiting = service.config.max_queue + service.config.workers
        assert_error(upload(c, blobs_png()), 503, "busy")
        service._waiting = 0
        assert c.get("/readyz").status_code == 200


def test_api_key(tiny_checkpoint, blob_detector, monkeypatch):
    monkeypatch.setenv("FERKIT_API_KEY", "s3cret")
    with make_client(tiny_checkpoint, blob_detector, workers=1) as c:
        assert c.app.state.service.config.api_key == "s3cret"
        err = assert_error(upload(c, blobs_png()), 401, "unauthorized")
        assert "no API key" in err["message"]
        assert_error(c.get("/v1/models", headers={"X-API-Key": "s3cre"}), 401)
        assert c.get("/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
        auth = {"Authorization": "Bearer s3cret"}
        assert len(c.post("/v1/predict", files={"file": ("a.png", blobs_png(), "image/png")},
                          headers=auth).json()["images"][0]["faces"]) == 2
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200
        with pytest.raises(WebSocketDenialResponse) as denied:
            with c.websocket_connect("/v1/stream"):
                pass
        assert denied.value.status_code == 401
        with c.websocket_connect("/v1/stream?api_key=s3cret") as ws:
            ws.send_bytes(blobs_png())
            assert len(ws.receive_json()["faces"]) == 2


def test_access_log_is_json_lines_without_query(client, caplog):
    with caplog.at_level(logging.INFO, logger="ferkit.serve.access"):
        r = client.get("/healthz?api_key=hidden")
    lines = [json.loads(rec.getMessage()) for rec in caplog.records
             if rec.name == "ferkit.serve.access"]
    assert lines and lines[-1]["path"] == "/healthz" and lines[-1]["status"] == 200
    assert lines[-1]["request_id"] == r.headers["x-request-id"]
    assert "hidden" not in caplog.text


# --- WebSocket stream ---------------------------------------------------------------------
def test_stream_tracks_faces_with_timestamps(client):
    with client.websocket_connect("/v1/stream") as ws:
        results = []
        for i in range(4):
            ws.send_bytes(blobs_png(shift=2 * i))
            results.append(ws.receive_json())
        ws.send_text("hello")
        assert ws.receive_json()["error"]["code"] == "expected_binary"
        ws.send_bytes(b"garbage")
        assert ws.receive_json()["error"]["code"] == "undecodable_image"
        ws.send_bytes(blobs_png(shift=8))
        results.append(ws.receive_json())
    assert [r["kind"] for r in results] == ["frame"] * 5
    assert [r["frame_index"] for r in results] == [0, 1, 2, 3, 4]
    times = [r["timestamp"] for r in results]
    assert times == sorted(times)
    ids = [[f["track_id"] for f in r["faces"]] for r in results]
    assert ids == [[1, 2]] * 5  # same two faces, same ids, frame after frame
    assert all(f["timestamp"] == r["timestamp"] for r in results for f in r["faces"])
    assert "carried" in results[1]["faces"][0]["flags"]  # detector every 2nd frame


def test_stream_closed_mid_stream_leaves_server_healthy(client):
    for _ in range(3):
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(blobs_png())
            ws.send_bytes(blobs_png())  # closed with a frame still in flight
    assert client.get("/readyz").status_code == 200
    assert len(upload(client, blobs_png()).json()["images"][0]["faces"]) == 2
    with client.websocket_connect("/v1/stream") as ws:  # a new stream starts fresh ids
        ws.send_bytes(blobs_png())
        assert [f["track_id"] for f in ws.receive_json()["faces"]] == [1, 2]


def test_stream_rejects_bad_options(client):
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect("/v1/stream?min_confidence=5"):
            pass
    assert denied.value.status_code == 422
    assert denied.value.json()["error"]["code"] == "invalid_request"


# --- the bundled model on a real photo ----------------------------------------------------
def test_bundled_fast_model_on_sample_photo():
    from ferkit.inference.pipeline import SAMPLE_IMAGE, Pipeline

    with TestClient(create_app(model="fast", workers=1)) as c:
        doc = upload(c, SAMPLE_IMAGE.read_bytes(), name="sample.jpg", ctype="image/jpeg").json()
    local = Pipeline("fast").predict_image(SAMPLE_IMAGE)
    faces = doc["images"][0]["faces"]
    assert len(faces) == 1 == len(local.faces)
    assert faces == [f.to_dict() for f in local.faces]


def test_models_route_under_torch_lists_the_onnx_only_bundled_model_as_not_loaded():
    """``accurate`` ships as INT8 ONNX only: under the torch backend /v1/models must still
    answer (its entry unloaded), not fail resolving a checkpoint that is not shipped."""
    with TestClient(create_app(model="fast", backend="torch", workers=1)) as c:
        r = c.get("/v1/models")
    assert r.status_code == 200
    loaded = {m["name"]: m["loaded"] for m in r.json()["bundled"]}
    assert loaded["fast"] is True and loaded["accurate"] is False and loaded["default"] is False
