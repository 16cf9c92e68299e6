"""Rate limits: login attempts per address, ingest per API key; 429 with Retry-After."""

import time
import uuid

import pytest
from limits.storage import storage_from_string

from alerting import ratelimit
from tests.support.app import make_app, make_key
from tests.support.databases import REDIS_URL, redis_reachable
from tests.support.factories import event_body
from tests.support.web import csrf_token


def post_event(client, headers=None, address="127.0.0.1", body=None):
    return client.post("/api/events", json=body or event_body(), headers=headers,
                       environ_base={"REMOTE_ADDR": address})


def fresh_address() -> str:
    """An address no earlier run has counted (Redis keeps counts between runs)."""
    return "10." + ".".join(str(b) for b in uuid.uuid4().bytes[:3])


def test_ingest_is_limited_per_key(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_INGEST="3 per minute")
    client = app.test_client()
    first, second = ({"x-access-token": make_key(app, "ingest", name=n)} for n in ("a", "b"))
    statuses = [client.post("/api/events", json=event_body(), headers=first).status_code
                for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = client.post("/api/events", json=event_body(), headers=first)
    assert limited.status_code == 429 and limited.is_json
    assert limited.json["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # Another key has its own allowance.
    assert client.post("/api/events", json=event_body(), headers=second).status_code == 201


def test_a_batch_counts_once(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_INGEST="2 per minute")
    client, headers = app.test_client(), {"x-access-token": make_key(app, "ingest")}
    batch = {"events": [event_body(camera_id=f"cam-{n}") for n in range(3)]}
    assert [post_event(client, headers, body=batch).status_code for _ in range(3)] == [
        201, 201, 429]


def test_without_auth_ingest_is_limited_per_address(tmp_path):
    app = make_app(tmp_path, AUTH=False, RATE_LIMIT_INGEST="1 per minute")
    client = app.test_client()
    assert [post_event(client, address="10.0.0.1").status_code for _ in range(2)] == [201, 429]
    assert post_event(client, address="10.0.0.2").status_code == 201


def test_limited_answers_carry_rate_limit_headers(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_INGEST="2 per minute")
    client, headers = app.test_client(), {"x-access-token": make_key(app, "ingest")}
    now = time.time()
    answers = [post_event(client, headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    for answer in answers:
        assert answer.headers["X-RateLimit-Limit"] == "2"
        assert now < int(answer.headers["X-RateLimit-Reset"]) <= now + 62
        assert 0 < int(answer.headers["Retry-After"]) <= 61
    assert "X-RateLimit-Limit" not in client.get("/api/events", headers=headers).headers


def test_several_limits_all_count_and_the_breached_one_is_reported(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_INGEST="2 per hour; 5 per minute")
    client, headers = app.test_client(), {"x-access-token": make_key(app, "ingest")}
    answers = [post_event(client, headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    # Within the limits, the shortest window is reported; once over, the limit breached.
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["5", "5", "2"]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "0"]
    assert answers[2].json["message"] == "2 per 1 hour"


def test_the_allowance_comes_back_when_the_window_ends(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_INGEST="1 per second")
    client, headers = app.test_client(), {"x-access-token": make_key(app, "ingest")}
    assert [post_event(client, headers).status_code for _ in range(2)] == [201, 429]
    time.sleep(1.1)
    assert post_event(client, headers).status_code == 201


def test_login_attempts_are_limited_per_address(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_LOGIN="2 per minute")
    client = app.test_client()
    token = csrf_token(client.get("/login").data)
    codes = [client.post("/login", data={"username": "admin", "password": "wrong",
                                         "csrf_token": token}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert client.get("/login").status_code == 200  # showing the form is not limited
    other = client.post("/login", data={"username": "admin", "password": "wrong",
                                        "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 401


def test_a_limited_login_shows_a_page_with_retry_after(tmp_path):
    app = make_app(tmp_path, RATE_LIMIT_LOGIN="1 per minute")
    client = app.test_client()
    form = {"username": "admin", "password": "wrong",
            "csrf_token": csrf_token(client.get("/login").data)}
    assert client.post("/login", data=form).headers["X-RateLimit-Remaining"] == "0"
    limited = client.post("/login", data=form)
    assert limited.status_code == 429 and limited.mimetype == "text/html"
    assert b"1 per 1 minute" in limited.data and int(limited.headers["Retry-After"]) > 0


@pytest.mark.parametrize("trust_proxy", [True, False])
def test_login_address_honours_trust_proxy(tmp_path, trust_proxy):
    app = make_app(tmp_path, RATE_LIMIT_LOGIN="1 per minute", TRUST_PROXY=trust_proxy)
    client = app.test_client()
    form = {"username": "admin", "password": "wrong",
            "csrf_token": csrf_token(client.get("/login").data)}
    codes = [client.post("/login", data=form, headers={"X-Forwarded-For": address}).status_code
             for address in ("198.51.100.1", "198.51.100.2")]
    # Behind a trusted proxy each forwarded address has its own allowance; else the header
    # is anyone's to forge, and the connecting address is counted.
    assert codes == ([401, 401] if trust_proxy else [401, 429])


def test_storage_errors_do_not_break_requests(tmp_path):
    # Nothing listens on port 1: the limit is then counted in this process.
    app = make_app(tmp_path, RATE_LIMIT_INGEST="2 per minute", REDIS_URL="redis://127.0.0.1:1/0")
    client, headers = app.test_client(), {"x-access-token": make_key(app, "ingest")}
    assert [post_event(client, headers).status_code for _ in range(3)] == [201, 201, 429]


needs_redis = pytest.mark.skipif(
    not redis_reachable(), reason="needs Redis: set ALERTING_TEST_REDIS_URL (.ci/run does)")


@needs_redis
def test_processes_sharing_redis_count_together(tmp_path):
    apps = [make_app(tmp_path, AUTH=False, RATE_LIMIT_INGEST="3 per minute", REDIS_URL=REDIS_URL)
            for _ in range(2)]
    clients, address = [app.test_client() for app in apps], fresh_address()
    codes = [post_event(clients[n % 2], address=address).status_code for n in range(4)]
    assert codes == [201, 201, 201, 429]


def test_processes_without_redis_count_alone(tmp_path):
    apps = [make_app(tmp_path, AUTH=False, RATE_LIMIT_INGEST="1 per minute") for _ in range(2)]
    assert [post_event(app.test_client()).status_code for app in apps] == [201, 201]


@needs_redis
def test_after_a_storage_error_redis_is_tried_again_later(monkeypatch):
    windows, key = ratelimit.Windows("redis://127.0.0.1:1/0"), f"test/{uuid.uuid4()}"
    assert windows.hit(key, 60)[0] == 1  # counted in this process
    windows.redis = storage_from_string(REDIS_URL)  # Redis answers again
    assert windows.hit(key, 60)[0] == 2  # not tried on every request meanwhile
    later = time.monotonic() + ratelimit.REDIS_RETRY_SECONDS
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: later)
    assert windows.hit(key, 60)[0] == 1  # counted in Redis again


def test_ended_windows_are_swept(monkeypatch):
    windows = ratelimit.MemoryWindows()
    windows.hit("a", 1)
    later = time.time() + ratelimit.SWEEP_SECONDS
    monkeypatch.setattr(ratelimit.time, "time", lambda: later)
    windows.hit("b", 1)
    assert list(windows._windows) == ["b"]


def test_a_mistyped_limit_stops_the_start_naming_the_setting(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="ALERTING_RATE_LIMIT_INGEST: 'lots'"):
        make_app(tmp_path, RATE_LIMIT_INGEST="lots")
