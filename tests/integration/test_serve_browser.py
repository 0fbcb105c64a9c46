"""The web page in a real headless Chromium: upload a photo, then the webcam path.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them with apt-get) and
the ``selenium`` package (dev extra); without them the test skips and says what is missing.
The webcam is Chromium's fake camera playing a .y4m clip of the bundled sample face, generated
here; the server is the real app under uvicorn on a loopback port, with the bundled fast model.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver",
                                reason="selenium is not installed (pip install -e '.[dev]')")

from ferkit.inference.pipeline import SAMPLE_IMAGE  # noqa: E402

pytestmark = pytest.mark.slow
EMOTION_WORDS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "uncertain")


def _find(*names: str) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


CHROMIUM = _find("chromium", "chromium-browser", "google-chrome")
DRIVER = _find("chromedriver")
if CHROMIUM is None or DRIVER is None:
    pytest.skip("headless browser test needs Debian's 'chromium' and 'chromium-driver' "
                "(apt-get install -y chromium chromium-driver); not found on PATH",
                allow_module_level=True)


def write_y4m(path: Path, image: np.ndarray, frames: int = 20, fps: int = 10) -> Path:
    """A raw YUV 4:2:0 clip for Chromium's fake camera: the face drifting a few pixels."""
    h, w = (s - s % 2 for s in image.shape[:2])
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            shifted = np.roll(image[:h, :w], (i % 5) - 2, axis=1)
            f.write(b"FRAME\n" + cv2.cvtColor(shifted, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def server_url():
    from ferkit.serve import create_app

    app = create_app(model="fast", workers=2)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    work = tmp_path_factory.mktemp("chromium")
    camera = write_y4m(work / "camera.y4m", cv2.imread(str(SAMPLE_IMAGE)))
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={work / 'profile'}",
                 "--window-size=1280,1000", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera}"):
        opts.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    except Exception as exc:  # a broken browser install: say so instead of an obscure error
        pytest.skip(f"chromium could not be started by {DRIVER}: {str(exc).splitlines()[0]}")
    yield driver
    driver.quit()


def wait_for(driver, condition, what: str, timeout: float = 90):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        status = driver.execute_script(
            "return [document.getElementById('status').textContent,"
            " document.getElementById('cam-status').textContent]")
        pytest.fail(f"timed out waiting for {what}; page status: {status}")


def test_upload_shows_boxes_labels_and_bars(browser, server_url):
    from selenium.webdriver.common.by import By

    browser.get(server_url + "/")
    assert browser.title.startswith("ferkit")
    browser.find_element(By.ID, "file-input").send_keys(str(SAMPLE_IMAGE))
    boxes = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overlay .face-box"),
                     "a face box on the uploaded photo")
    assert len(boxes) == 1
    label = boxes[0].find_element(By.CLASS_NAME, "face-label").text
    assert label.split()[1] in EMOTION_WORDS, label
    assert boxes[0].size["width"] > 20 and boxes[0].size["height"] > 20
    card = browser.find_element(By.CSS_SELECTOR, "#faces .face-card")
    bars = card.find_elements(By.CLASS_NAME, "bar-row")
    assert [b.find_element(By.CLASS_NAME, "name").text for b in bars] == list(EMOTION_WORDS[:7])
    assert "1 face in sample_face.jpg" in browser.find_element(By.ID, "status").text


def test_webcam_streams_live_results(browser, server_url):
    from selenium.webdriver.common.by import By

    browser.get(server_url + "/")
    browser.find_element(By.ID, "cam-start").click()
    wait_for(browser, lambda d: int(d.find_element(By.ID, "frame-count").text) >= 5,
             "five live results over the WebSocket")
    script = ("return [...document.querySelectorAll('#cam-overlay .face-label')]"
              ".map(e => e.textContent)")  # read at once: the overlay is redrawn every frame
    labels = wait_for(browser, lambda d: d.execute_script(script),
                      "a tracked face on the webcam overlay")
    assert labels[0].startswith("#1 ") and labels[0].split()[1] in EMOTION_WORDS, labels
    assert float(browser.find_element(By.ID, "fps").text) > 0
    assert browser.execute_script("return document.querySelectorAll('#cam-faces .face-card')"
                                  ".length") >= 1
    browser.find_element(By.ID, "cam-stop").click()  # closes the socket with a frame in flight
    assert browser.find_element(By.ID, "cam-status").text == "stopped"
    with urllib.request.urlopen(server_url + "/readyz", timeout=30) as r:
        assert r.status == 200


def test_api_docs_render_offline(browser, server_url):
    from selenium.webdriver.common.by import By

    browser.get(server_url + "/docs")
    ops = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"),
                   "Swagger UI to list the operations", timeout=60)
    assert "/v1/predict" in {o.get_attribute("data-path") or o.text for o in ops}
