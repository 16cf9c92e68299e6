"""Rate limits: login attempts per address, ingest per API key; 429 with Retry-After."""

from tests.conftest import make_app, make_key
from tests.factories import event_body
from tests.test_auth import csrf_token


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
