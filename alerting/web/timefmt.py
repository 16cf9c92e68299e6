"""One time display for every page: the person's timezone (set on the account page, else the
app's ALERTING_TIMEZONE until static/js/time.js shows the browser's), one exact format, and a
relative time ("3 min ago") with the exact one on hover. static/js/time.js formats every
`<time datetime>` the same way in the browser, those htmx and the live WebSocket insert too."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from markupsafe import Markup

from ..auth import session_user
from . import bp

EXACT = "%Y-%m-%d %H:%M:%S"


def user_timezone_name() -> str | None:
    """The logged-in person's chosen timezone, or None (the browser's then)."""
    if not has_request_context():
        return None
    user = session_user()
    return user.timezone if user is not None else None


def display_zone() -> tzinfo:
    name = user_timezone_name() or current_app.config.get("TIMEZONE") or "UTC"
    return ZoneInfo(str(name))


def _aware(dt: datetime | str) -> datetime:
    if isinstance(dt, str):  # an API object's ISO 8601 time (2026-12-06T02:41:39Z)
        dt = datetime.fromisoformat(dt)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def offset_name(local: datetime) -> str:
    """`GMT`, `GMT+1`, `GMT-3:30`: the offset as browsers name it (Intl's "shortOffset"), so
    the server and static/js/time.js write the same text."""
    minutes = round(local.utcoffset().total_seconds() / 60)
    if not minutes:
        return "GMT"
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return f"GMT{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def exact(dt: datetime | str) -> str:
    """`2026-12-06 03:12:05 GMT+1`: in the person's timezone, with its offset."""
    local = _aware(dt).astimezone(display_zone())
    return f"{local.strftime(EXACT)} {offset_name(local)}"


def clock(dt: datetime | str) -> str:
    """`03:12` in the person's timezone (the day too when it is not today)."""
    zone = display_zone()
    local = _aware(dt).astimezone(zone)
    today = datetime.now(UTC).astimezone(zone).date()
    return local.strftime("%H:%M" if local.date() == today else "%Y-%m-%d %H:%M")


def relative(dt: datetime | str, now: datetime | None = None) -> str:
    """`just now`, `3 min ago`, `2 h ago`, `5 d ago` (or `in 3 min`): static/js/time.js
    computes the same."""
    seconds = ((now or datetime.now(UTC)) - _aware(dt)).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size or unit == "min":
            text = f"{max(1, round(seconds / size))} {unit}"
            break
    return f"in {text}" if ahead else f"{text} ago"


def when(dt: datetime | str | None) -> Markup:
    """A `<time>`: the relative time, the exact one in its title; a dash for no time."""
    if not dt:
        return Markup("—")
    dt = _aware(dt)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        dt.isoformat(), exact(dt), relative(dt))


def percent(value: float | None) -> str:
    """A confidence 0..1 as `72%`; a dash for none."""
    return "—" if value is None else f"{round(value * 100)}%"


bp.add_app_template_filter(when, "when")
bp.add_app_template_filter(exact, "exact")
bp.add_app_template_filter(clock, "clock")
bp.add_app_template_filter(percent, "percent")
bp.add_app_template_global(user_timezone_name)

