"""How many alerts the live page shows on one screen, at 1280x800 and at 390x844.

    .venv/bin/python bench/live_rows_per_screen.py [--repo PATH]

Starts the repository's own server (PATH: another checkout, e.g. the code before a change) on
a fresh SQLite database, makes the alerts of 40 events on four cameras, opens /live in Debian's
Chromium and counts the alert rows wholly inside the viewport. Not a timing: a count.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

SIZES = {"1280x800": {"width": 1280, "height": 800}, "390x844": {"width": 390, "height": 844}}
PASSWORD = "bench-admin-password"
KEY = "bench-admin-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args()
    sys.path.insert(0, args.repo)  # that checkout's tests.support.server runs its own app
    import requests
    from playwright.sync_api import sync_playwright

    from tests.support.server import running_server

    with tempfile.TemporaryDirectory() as tmp, running_server(
            Path(tmp), ALERTING_ADMIN_PASSWORD=PASSWORD, ALERTING_BOOTSTRAP_API_KEY=KEY) as (
            url, _proc, _log):
        api = requests.Session()
        api.headers["x-access-token"] = KEY
        for severity in ("critical", "high", "medium", "low"):
            api.post(f"{url}/api/alerts/rules", json={
                "name": f"{severity} anywhere", "severity": severity, "cooldown_seconds": 0,
                "channels": [], "risk_threshold": {"critical": 90, "high": 70, "medium": 40,
                                                   "low": 0}[severity]}).raise_for_status()
        # 11 minutes apart: no two alerts are repeats that the page would fold into one row.
        start = datetime.now(UTC) - timedelta(hours=8)
        for i in range(40):
            api.post(f"{url}/api/events", json={
                "camera_id": f"camera-{i % 4}", "started_at": (start + timedelta(minutes=11 * i))
                .isoformat(), "risk_score": 10 if i % 3 else 95,
                "detections": [{"object_type": "cat" if i % 3 else "person",
                                "confidence": 0.8, "zone_ids": ["yard"]}]}).raise_for_status()
        deadline = time.monotonic() + 30
        while api.get(f"{url}/api/alerts?limit=1").json()["count"] < 40:
            if time.monotonic() > deadline:
                raise SystemExit("the matcher did not make the alerts")
            time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--headless", "--no-sandbox"])
            for name, size in SIZES.items():
                page = browser.new_page(viewport=size)
                page.goto(f"{url}/login")
                page.get_by_label("Username").fill("admin")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda u: "/login" not in u)
                page.goto(f"{url}/live")
                page.wait_for_selector("#alert-list [data-alert-id]")
                shown = page.evaluate("""([h, w]) => [...document.querySelectorAll(
                    '#alert-list [data-alert-id]')].filter(row => {
                      const box = row.getBoundingClientRect();
                      return box.height > 0 && box.top >= 0 && box.bottom <= h && box.right <= w;
                    }).length""", [size["height"], size["width"]])
                print(f"{name}: {shown} alerts on one screen ({args.repo})")
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
