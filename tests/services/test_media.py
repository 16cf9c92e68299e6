"""services/media.py on its own (what the notification work calls): fetch_bytes under a
FetchPolicy against a real local HTTP server, and the connection trying each address."""

from __future__ import annotations

import time

import pytest

from alerting.services import media
from tests.support.detector import SNAPSHOT, base_url, detector_server, serve_frigate_media


@pytest.fixture
def frigate():
    with detector_server() as server:
        yield server


def test_fetch_bytes_under_a_policy(frigate):
    urls = serve_frigate_media(frigate, "1.2-ab")
    policy = media.FetchPolicy(max_bytes=10_000, timeout=2,
                               trusted=frozenset([media.origin(base_url(frigate))]))
    fetched = media.fetch_bytes(urls["snapshot_url"], policy, expect="image/")
    assert fetched == media.Media(SNAPSHOT, "image/jpeg")
    with pytest.raises(media.MediaUnavailable, match="loopback") as refused:
        media.fetch_bytes(urls["snapshot_url"], media.FetchPolicy(10_000, 2), expect="image/")
    assert refused.value.status == 502
    allowed = media.FetchPolicy(10_000, 2, allow_cidrs=("127.0.0.0/8",))
    assert media.fetch_bytes(urls["snapshot_url"], allowed).body == SNAPSHOT
    with pytest.raises(media.MediaUnavailable, match="larger than 100 bytes"):
        media.fetch_bytes(urls["snapshot_url"], media.FetchPolicy(100, 2, ("127.0.0.0/8",)))


def test_policy_from_the_settings():
    policy = media.policy_from({"FRIGATE_URL": "http://Frigate.lan:5000", "MEDIA_MAX_BYTES": 5,
                                "MEDIA_TIMEOUT_SECONDS": 3, "WEBHOOK_ALLOW_CIDRS": ["10.0.0.0/8"]})
    assert policy == media.FetchPolicy(5, 3.0, ("10.0.0.0/8",),
                                       frozenset([("http", "frigate.lan", 5000)]))
    assert media.policy_from({"MEDIA_MAX_BYTES": 5, "MEDIA_TIMEOUT_SECONDS": 3}).trusted == \
        frozenset()
    instances = media.policy_from({"FRIGATE_URL": "http://frigate.lan:5000",
                                   "FRIGATE_PREFIXES": ["frigate", "garage=https://10.0.0.9/",
                                                        "shed", "bad=ftp://x"],
                                   "MEDIA_MAX_BYTES": 5, "MEDIA_TIMEOUT_SECONDS": 3})
    assert instances.trusted == frozenset([("http", "frigate.lan", 5000),
                                           ("https", "10.0.0.9", 443)])


def test_each_address_is_tried_in_turn(frigate):
    # Nothing listens on ::1 at the server's port: the next address takes the connection.
    conn = media._connected("http", ["::1", "127.0.0.1"], frigate.port, "localhost",
                            time.monotonic() + 2)
    try:
        assert conn.sock.getpeername()[0] == "127.0.0.1"
    finally:
        conn.close()
    with pytest.raises(OSError):
        media._connected("http", ["::1"], frigate.port, "localhost", time.monotonic() + 2)


def test_the_cache_keeps_for_its_seconds_and_within_its_bytes():
    cache = media.MediaCache(ttl=0.2, max_bytes=800)
    small, big = media.Media(b"x" * 90, "image/jpeg"), media.Media(b"y" * 200, "image/jpeg")
    cache.put("a", small)
    cache.put("big", big)  # over an eighth of the cache: not kept
    assert cache.get("a") == small and cache.get("big") is None
    for name in "bcdefghij":
        cache.put(name, small)
    assert cache.size <= 800 and cache.get("a") is None  # the least recently used went
    time.sleep(0.25)
    assert cache.get("j") is None and cache.size < 800


def test_frigate_media_urls():
    assert media.frigate_media("http://frigate.lan:5000/", "1718987129.308396-fqk5ka",
                               has_clip=True) == {
        "snapshot_url": "http://frigate.lan:5000/api/events/1718987129.308396-fqk5ka/snapshot.jpg",
        "thumbnail_url":
            "http://frigate.lan:5000/api/events/1718987129.308396-fqk5ka/thumbnail.jpg",
        "clip_url": "http://frigate.lan:5000/api/events/1718987129.308396-fqk5ka/clip.mp4"}
    bare = media.frigate_media("http://f", "a/b", has_snapshot=False)
    assert bare == {"snapshot_url": None, "thumbnail_url": "http://f/api/events/a%2Fb/thumbnail.jpg",
                    "clip_url": None}
