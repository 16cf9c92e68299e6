"""The new-rule form's document height at 1280 px in headless Chromium, with two cameras' events
seen (BENCHMARKS.md, "Rule form length"). Not a timing: a length, printed in px."""

import tempfile
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

from tests.support.browser import ADMIN_PASSWORD, log_in
from tests.support.server import running_server

KEY = "len-key-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    with running_server(Path(tempfile.mkdtemp()), ALERTING_ADMIN_PASSWORD=ADMIN_PASSWORD,
                        ALERTING_BOOTSTRAP_API_KEY=KEY) as (url, _proc, _log):
        for camera, zone, kind in (("back-door", "porch", "person"),
                                   ("garage", "drive", "car")):
            requests.post(url + "/api/events", headers={"x-access-token": KEY}, timeout=10,
                          json={"camera_id": camera, "risk_score": 70, "detections": [
                              {"object_type": kind, "confidence": 0.9, "zone_ids": [zone]}]})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, url)
            page.goto(url + "/rules/new")
            height = page.evaluate("document.documentElement.scrollHeight")
            print(f"rule form height at 1280 px: {height} px")
            browser.close()


if __name__ == "__main__":
    main()
