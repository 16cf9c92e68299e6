"""What makes the pages an installable web app and lets them take web push: the service
worker at /sw.js (scope /), the manifest, and its icons, drawn here as PNGs (the favicon's
bell), so the app serves everything itself."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from pathlib import Path

from flask import Response, abort, current_app, url_for

from . import bp

THEME_COLOUR = "#1f5fbf"  # static/css/app.css's --accent
BACKGROUND_COLOUR = "#f5f6f8"  # --bg
ICON_SIZES = (192, 512)
BADGE_SIZE = 96  # the small monochrome icon Android shows in the status bar
_WHITE = (255, 255, 255, 255)
_CLEAR = (0, 0, 0, 0)


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the site's root so its scope may be the whole site."""
    script = Path(current_app.static_folder, "sw.js").read_bytes()
    return Response(script, mimetype="text/javascript", headers={
        "Service-Worker-Allowed": "/",
        "Cache-Control": "no-cache"})  # a new version is picked up at once


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, icons, start page, standalone display, colours."""
    icons = [{"src": url_for("web.icon", size=size), "sizes": f"{size}x{size}",
              "type": "image/png", "purpose": "any maskable"} for size in ICON_SIZES]
    body = {"name": "alerting", "short_name": "alerting",
            "description": "Alerts from your cameras, live",
            "id": url_for("web.live"), "start_url": url_for("web.live"), "scope": "/",
            "display": "standalone", "theme_color": THEME_COLOUR,
            "background_color": BACKGROUND_COLOUR, "icons": icons}
    response = current_app.response_class(
        current_app.json.dumps(body), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/icons/icon-<int:size>.png")
def icon(size: int):
    """The app icon (192 and 512 pixels) and the notification badge (96)."""
    if size not in (*ICON_SIZES, BADGE_SIZE):
        abort(404)
    return Response(_png(size, badge=size == BADGE_SIZE), mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@lru_cache(maxsize=4)
def _png(size: int, *, badge: bool) -> bytes:
    """The bell on the theme colour (edge to edge, so a maskable crop keeps it whole); the
    badge: the white bell alone on transparency."""
    theme = (*bytes.fromhex(THEME_COLOUR[1:]), 255)
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter: none
        for x in range(size):
            # The favicon's 32-unit grid, the bell scaled into the middle 60% (the safe zone
            # of a maskable icon).
            u = (x + 0.5) / size * 32 / 0.6 - 16 / 0.6 + 16
            v = (y + 0.5) / size * 32 / 0.6 - 16 / 0.6 + 16
            inside = _bell(u, v)
            if badge:
                row += bytes(_WHITE if inside and not _eye(u, v) else _CLEAR)
            else:
                row += bytes(theme if not inside or _eye(u, v) else _WHITE)
        rows.append(bytes(row))
    return _encode(size, b"".join(rows))


def _bell(u: float, v: float) -> bool:
    """static/favicon.svg's bell: a dome, a flaring body, a rim and the clapper."""
    dome = v <= 12 and (u - 16) ** 2 + (v - 12) ** 2 <= 81
    body = 12 <= v <= 18 and 7 <= u <= 25
    flare = 18 <= v <= 23 and abs(u - 16) <= 9 + (v - 18) * 0.6
    rim = 23 <= v <= 25 and 4 <= u <= 28
    clapper = (u - 16) ** 2 + (v - 27) ** 2 <= 9
    return dome or body or flare or rim or clapper


def _eye(u: float, v: float) -> bool:
    """The lens in the bell: a ring."""
    distance = (u - 16) ** 2 + (v - 13) ** 2
    return 4 <= distance <= 16


def _encode(size: int, raw: bytes) -> bytes:
    """A PNG file of `size`×`size` RGBA pixels (rows already prefixed by their filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
