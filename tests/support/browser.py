"""What the browser tests do with a page: log in, take a screenshot (docs/screenshots/)."""

from __future__ import annotations

from pathlib import Path

ADMIN_PASSWORD = "browser-admin-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def log_in(page, server: str) -> None:
    page.goto(server + "/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def shot(page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot of the whole page (or what the viewport shows) as
    docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
