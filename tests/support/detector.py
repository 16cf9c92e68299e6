"""A detector's media server on loopback (a real HTTP server, playing Frigate's HTTP API for
snapshots, thumbnails and clips) and the real JPEG bytes it serves (made by Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_httpserver import HTTPServer

JPEG = Path(__file__).resolve().parent / "jpeg"
SNAPSHOT = (JPEG / "snapshot.jpg").read_bytes()
THUMBNAIL = (JPEG / "thumbnail.jpg").read_bytes()
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8  # an mp4's opening box, and filler


@contextmanager
def detector_server() -> Iterator[HTTPServer]:
    """A started HTTP server on 127.0.0.1, one thread per request; stopped afterwards."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def base_url(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def serve_frigate_media(server: HTTPServer, object_id: str) -> dict[str, str]:
    """Serve a tracked object's snapshot, thumbnail and clip at Frigate's paths; the event's
    `media` pointing at them."""
    media = {}
    for key, name, body, content_type in (
            ("snapshot_url", "snapshot.jpg", SNAPSHOT, "image/jpeg"),
            ("thumbnail_url", "thumbnail.jpg", THUMBNAIL, "image/jpeg"),
            ("clip_url", "clip.mp4", CLIP, "video/mp4")):
        path = f"/api/events/{object_id}/{name}"
        server.expect_request(path).respond_with_data(body, content_type=content_type)
        media[key] = server.url_for(path)
    return media


def requests_to(server: HTTPServer, path: str) -> int:
    """How many requests the server has answered for `path`."""
    return sum(1 for request, _ in server.log if request.path == path)
