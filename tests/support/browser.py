"""What the browser tests do with a page: log in, take a screenshot (docs/screenshots/)."""

from __future__ import annotations

from pathlib import Path

ADMIN_PASSWORD = "browser-admin-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# axe-core from npm (package.json devDependencies, `npm ci`): injected by the tests only.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_SOURCE = AXE.read_text() + "\n;window.axe !== undefined;" if AXE.exists() else ""
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


NAV_MENUS = {"Alerts": ("Live", "Alerts", "Events", "Silences"),
             "Setup": ("Rules", "Cameras", "Notifications", "Integrations", "Modes", "Keys",
                       "Config"),
             "Admin": ("Audit", "API")}


def nav_link(page, label: str):
    """The navigation link `label`, its menu opened (and the hamburger first, on a phone)."""
    nav = page.get_by_role("navigation", name="Main")
    toggle = page.locator("#nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    menu = next(name for name, labels in NAV_MENUS.items() if label in labels)
    details = nav.locator("details.menu", has=page.locator("summary", has_text=menu))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return nav.get_by_role("link", name=label, exact=True)


def console_errors(page) -> list[str]:
    """The errors the page logs from now on, but for event media: the shared server's event
    list shows other tests' events, whose detectors (loopback receivers) have since stopped,
    so their thumbnails answer 502 by design."""
    errors: list[str] = []

    def record(message) -> None:
        if message.type == "error" and "/media/events/" not in message.location.get("url", ""):
            errors.append(f"{message.text} ({message.location.get('url', '')})")
    page.on("console", record)
    return errors


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (each: rule id,
    help, up to three elements)."""
    # Evaluated over the DevTools protocol: the page's CSP (no inline script) stays as it is.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.id + ": " + v.help + " -> "
                 + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
    }""")
