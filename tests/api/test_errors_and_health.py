from alerting.errors import ApiError
from tests.support.app import make_app


def test_health_needs_no_key_and_tells_no_secrets(client, app):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json
    assert body["database"] == "ok"
    assert body["backlog"] == {"events_unprocessed": 0, "deliveries_pending": 0,
                               "oldest_unprocessed_seconds": None,
                               "oldest_overdue_delivery_seconds": None}
    assert app.config["SECRET_KEY"] not in response.get_data(as_text=True)


def test_health_says_what_has_stalled_whichever_process_should_do_it(tmp_path):
    """The matcher and dispatcher may run in a separate `flask worker`, which this process
    cannot see: work waiting longer than ALERTING_HEALTH_LAG_SECONDS says it."""
    from datetime import timedelta

    from alerting.extensions import db
    from alerting.models import Delivery, Event, utcnow

    app = make_app(tmp_path, HEALTH_LAG_SECONDS=60)
    client = app.test_client()
    now = utcnow()
    with app.app_context():
        db.session.add(Event(camera_id="cam", started_at=now, received_at=now - timedelta(
            seconds=30)))  # waiting, but not for long yet
        db.session.add(Delivery(channel="email", target="a@example.org",
                                next_attempt_at=now + timedelta(minutes=5)))  # a retry, later
        db.session.commit()
    body = client.get("/api/health").json
    assert body["status"] == "ok" and "stalled" not in body
    assert 30 <= body["backlog"]["oldest_unprocessed_seconds"] < 60
    assert body["backlog"]["oldest_overdue_delivery_seconds"] is None
    with app.app_context():
        db.session.add(Event(camera_id="cam", started_at=now, received_at=now - timedelta(
            minutes=5)))
        # A revision waits too, but since its first version's arrival: not a stall.
        db.session.add(Event(camera_id="cam", started_at=now, revision=2,
                             received_at=now - timedelta(days=1)))
        db.session.add(Delivery(channel="email", target="a@example.org",
                                next_attempt_at=now - timedelta(minutes=2)))
        db.session.commit()
    response = client.get("/api/health")
    body = response.json
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["stalled"] == ["matching", "delivery"]
    assert 300 <= body["backlog"]["oldest_unprocessed_seconds"] < 400
    assert 120 <= body["backlog"]["oldest_overdue_delivery_seconds"] < 200


def test_unknown_api_route_is_json_404(client, admin_headers):
    response = client.get("/api/nothing-here", headers=admin_headers)
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_wrong_method_is_json_405(client, admin_headers):
    response = client.put("/api/health", headers=admin_headers)
    assert response.status_code == 405 and response.is_json


def test_unhandled_error_is_json_500_without_traceback(tmp_path, caplog):
    app = make_app(tmp_path, AUTH=False)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/api/conflict")
    def conflict():
        raise ApiError(409, "conflict", "no")

    client = app.test_client()
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.json == {"error": "server_error", "message": "Internal server error"}
    assert "secret internals" not in response.get_data(as_text=True)
    assert "RuntimeError: secret internals" in caplog.text
    assert client.get("/api/conflict").status_code == 409


def test_html_error_page_for_browsers(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404 and b"<html" in response.data
