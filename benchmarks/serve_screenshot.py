"""Screenshot of the web page after uploading a photo, in headless Chromium (a manual check).

    python benchmarks/serve_screenshot.py --url http://127.0.0.1:8000 \
        [--image /work/shared/data/media/obama_and_biden.jpg] [--out benchmarks/results/...png]

Start ``ferkit serve`` first. Prints the labels the page shows and writes the PNG. Needs
selenium and Debian's chromium + chromium-driver (as the browser test does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = Path("/work/shared/data/media/obama_and_biden.jpg")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" /
                    f"serve-screenshot-{dt.date.today():%Y-%m-%d}.png")
    ap.add_argument("--min-confidence", type=float, default=None,
                    help="Set the page's slider first (default: leave the page default).")
    args = ap.parse_args(argv)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = Options()
    opts.binary_location = shutil.which("chromium") or "chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                     f"--user-data-dir={profile}", "--window-size=1280,1100"):
            opts.add_argument(flag)
        driver = webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver")))
        try:
            driver.get(args.url + "/")
            if args.min_confidence is not None:
                driver.execute_script("const s = document.getElementById('min-confidence');"
                                      "s.value = arguments[0]; s.dispatchEvent(new Event('input'))",
                                      args.min_confidence)
            driver.find_element(By.ID, "file-input").send_keys(str(args.image.resolve()))
            WebDriverWait(driver, 60).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#overlay .face-box"))
            labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#overlay .face-label")]
            status = driver.find_element(By.ID, "status").text
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
        finally:
            driver.quit()
    print(f"status: {status}")
    print(f"labels: {labels}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
