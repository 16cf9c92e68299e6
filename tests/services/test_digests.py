"""Digests through the outbox, against real receivers on loopback (a webhook receiver, an
aiosmtpd server): one summary per period with the counts, sent once, never repeated, and
nothing for an empty period unless asked."""

import email
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer

from alerting.extensions import db
from alerting.models import Alert, Delivery, DigestState, utcnow
from alerting.notify.media import verify_media_path
from alerting.services import digests
from alerting.workers.digest_loop import DigestLoop
from tests.support.app import make_app, make_key
from tests.support.detector import SNAPSHOT
from tests.support.factories import configure, create_rule, post_event, run_dispatcher, run_matcher
from tests.support.receivers import Collector
from tests.support.web import login


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], RETRY_SCHEDULE=[0.05],
                    PUBLIC_URL="https://alerts.example.com")


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def put_digests(app, headers, *entries):
    response = app.test_client().put("/api/notification/digests", headers=headers,
                                     json={"digests": list(entries)})
    assert response.status_code == 200, response.json
    return response.json


def hourly(target, channel="webhook", **overrides):
    return {"name": "hourly", "channel": channel, "target": target,
            "schedule": {"every_seconds": 3600}, **overrides}


def fire(app, headers, n, **event):
    client = app.test_client()
    for i in range(n):
        post_event(client, headers, external_id=f"d-{i}-{event.get('camera_id', '')}",
                   source="t", **event)
    run_matcher(app)


def home_then_away(client, headers) -> datetime:
    """An event "home" at home, then the mode set to away and an event "away" a second
    later; the first one's time."""
    now = datetime.now(UTC)
    post_event(client, headers, external_id="home", started_at=now.isoformat())
    assert client.put("/api/mode", json={"mode": "away"}, headers=headers).status_code == 200
    post_event(client, headers, external_id="away",
               started_at=(now + timedelta(seconds=1)).isoformat())
    return now


def send(app, now):
    with app.app_context():
        return digests.send_due(now)


def test_one_summary_per_period_with_the_counts(app, headers, httpserver: HTTPServer):
    httpserver.expect_request("/digest", method="POST").respond_with_data("ok")
    create_rule(app.test_client(), headers, name="Person", camera_ids=None)
    put_digests(app, headers, hourly(httpserver.url_for("/digest")))
    start = utcnow()
    assert send(app, start) == []  # first seen: it starts collecting now
    fire(app, headers, 3, camera_id="porch",
         media={"snapshot_url": "http://93.184.215.14/s.jpg"})
    fire(app, headers, 2, camera_id="garden")
    assert send(app, start + timedelta(minutes=59)) == []  # not yet due
    due = start + timedelta(hours=1, seconds=1)
    assert send(app, due) == ["hourly"]
    assert send(app, due) == []  # advanced: never twice
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    body = request.get_json()
    assert body["type"] == "digest"
    data = body["data"]["digest"]
    assert data["total"] == 5 and data["by_severity"] == {"high": 5}
    assert [(g["camera_id"], g["count"]) for g in data["groups"]] == [("porch", 3),
                                                                      ("garden", 2)]
    assert len(data["snapshots"]) == 3
    assert data["snapshots"][0]["url"].startswith("https://alerts.example.com/media/events/")
    # The link opens the snapshot without a session (signed, expiring), as alerts' do.
    link = urlsplit(data["snapshots"][0]["url"])
    query = parse_qs(link.query)
    assert link.path.endswith("/snapshot.jpg")
    assert verify_media_path(app.secret_key, link.path, query["exp"][0], query["sig"][0])
    assert data["alerts_url"].startswith("https://alerts.example.com/alerts?since=")
    listed = app.test_client().get("/api/notification/digests", headers=headers).json
    state = listed["digests"][0]["state"]
    assert state["last_count"] == 5
    assert datetime.fromisoformat(state["next_due_at"]) == due + timedelta(hours=1)
    with app.app_context():
        [delivery] = db.session.query(Delivery).all()
        assert (delivery.kind, delivery.alert_id, delivery.status) == ("digest", None,
                                                                       "delivered")


def test_a_digests_snapshot_link_opens_the_snapshot(app, headers, httpserver: HTTPServer):
    """The link a digest gives for a snapshot is the media route's, signed, so whoever gets
    the digest sees the picture without logging in (it was a 404 without the file's name,
    and the login page without a signature)."""
    httpserver.expect_request("/digest", method="POST").respond_with_data("ok")
    httpserver.expect_request("/s.jpg").respond_with_data(SNAPSHOT, content_type="image/jpeg")
    create_rule(app.test_client(), headers, name="Person", camera_ids=None)
    put_digests(app, headers, hourly(httpserver.url_for("/digest")))
    start = utcnow()
    send(app, start)
    fire(app, headers, 1, camera_id="porch", media={"snapshot_url": httpserver.url_for("/s.jpg")})
    assert send(app, start + timedelta(hours=1, seconds=1)) == ["hourly"]
    run_dispatcher(app)
    [(request, _)] = [entry for entry in httpserver.log if entry[0].path == "/digest"]
    [snapshot] = request.get_json()["data"]["digest"]["snapshots"]
    link = urlsplit(snapshot["url"])
    response = app.test_client().get(f"{link.path}?{link.query}")
    assert response.status_code == 200
    assert (response.mimetype, response.data) == ("image/jpeg", SNAPSHOT)


def test_an_empty_period_sends_nothing_unless_asked(app, headers, httpserver: HTTPServer):
    httpserver.expect_request("/digest").respond_with_data("ok")
    put_digests(app, headers, hourly(httpserver.url_for("/digest")),
                hourly(httpserver.url_for("/digest"), name="always", send_empty=True))
    start = utcnow()
    send(app, start)
    assert send(app, start + timedelta(hours=2)) == ["always"]
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    assert request.get_json()["data"]["digest"]["total"] == 0


def test_a_digest_missed_while_down_is_sent_once_covering_the_gap(app, headers,
                                                                  httpserver: HTTPServer):
    httpserver.expect_request("/digest").respond_with_data("ok")
    create_rule(app.test_client(), headers)
    put_digests(app, headers, hourly(httpserver.url_for("/digest")))
    start = utcnow() - timedelta(hours=5)
    send(app, start)  # its state is stored: a restart picks it up from the database
    fire(app, headers, 2)
    now = utcnow() + timedelta(seconds=digests.SETTLE_SECONDS)
    assert send(app, now) == ["hourly"]
    assert send(app, now + timedelta(minutes=30)) == []
    with app.app_context():
        state = db.session.get(DigestState, "hourly")
        assert state.next_due_at == now + timedelta(hours=1)
        assert state.last_count == 2


def test_a_stale_view_of_the_state_sends_nothing(app, headers, httpserver: HTTPServer):
    """Two processes saw the digest due: the second one's compare-and-set finds it moved."""
    put_digests(app, headers, hourly(httpserver.url_for("/digest"), send_empty=True))
    start = utcnow()
    send(app, start)
    with app.app_context():
        stale = db.session.get(DigestState, "hourly")
        db.session.expunge(stale)
    assert send(app, start + timedelta(hours=1)) == ["hourly"]
    with app.app_context():
        [entry] = digests.configured()
        from alerting.engine.digest import schedule_from_record

        assert not digests._send(entry, stale, schedule_from_record(entry["schedule"]),
                                 start + timedelta(hours=1), "UTC")
        assert db.session.query(Delivery).count() == 1


def test_the_filter_takes_alerts_of_its_mode_and_severity(app, headers,
                                                          httpserver: HTTPServer):
    httpserver.expect_request("/digest").respond_with_data("ok")
    client = app.test_client()
    create_rule(client, headers, name="Low", severity="low")
    put_digests(app, headers, hourly(httpserver.url_for("/digest"),
                                     filter={"modes": ["away"], "max_severity": "medium"}))
    start = utcnow()
    send(app, start)
    now = home_then_away(client, headers)
    create_rule(client, headers, name="High", severity="high")
    post_event(client, headers, external_id="away-high",
               started_at=(now + timedelta(seconds=2)).isoformat())
    run_matcher(app)
    assert send(app, start + timedelta(hours=1, seconds=5)) == ["hourly"]
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    data = request.get_json()["data"]["digest"]
    # Each rule matched the three events: the one at home and the high ones are left out.
    assert [(g["rule_name"], g["count"]) for g in data["groups"]] == [("Low", 2)]


def test_a_digest_takes_its_targets_immediate_sends_of_what_it_collects(
        app, headers, httpserver: HTTPServer):
    """"While the mode is away, one summary every hour": a rule's immediate send to the
    digest's own target is taken over while the filter takes the alert (the alert names the
    digest); at home, and to the rule's other targets, alerts go at once as before."""
    digest_url, other_url = httpserver.url_for("/digest"), httpserver.url_for("/other")
    httpserver.expect_request("/digest").respond_with_data("ok")
    httpserver.expect_request("/other").respond_with_data("ok")
    client = app.test_client()
    to_digest = create_rule(client, headers, name="Porch", channels=["webhook"],
                            targets={"webhook_url": digest_url})
    elsewhere = create_rule(client, headers, name="Also elsewhere", channels=["webhook"],
                            targets={"webhook_url": other_url})
    put_digests(app, headers, hourly(digest_url, filter={"modes": ["away"]}))
    start = utcnow()
    send(app, start)
    home_then_away(client, headers)
    run_matcher(app)
    run_dispatcher(app)
    immediate = [(request.path, request.get_json()["data"]["event"]["external_id"])
                 for request, _ in httpserver.log]
    assert sorted(immediate) == [("/digest", "home"), ("/other", "away"), ("/other", "home")]
    alerts = {(a["rule_id"], a["event_id"]): a for a in client.get(
        "/api/alerts", headers=headers).json["alerts"]}
    away = client.get("/api/events", headers=headers).json["events"][0]["id"]
    taken = alerts[(to_digest["id"], away)]
    assert (taken["digest"], taken["status"]) == ("hourly", "delivered")
    assert alerts[(elsewhere["id"], away)]["digest"] is None
    assert client.get(f"/api/alerts/{taken['id']}", headers=headers).json["deliveries"] == []
    assert send(app, start + timedelta(hours=1, seconds=5)) == ["hourly"]
    run_dispatcher(app)
    request, _ = httpserver.log[-1]
    data = request.get_json()["data"]["digest"]
    assert request.path == "/digest" and data["total"] == 2  # both rules' away alerts
    login(client)
    assert '<span class="status-word">in digest</span>' in client.get(
        f"/alerts/{taken['id']}").text


def test_email_digest_to_a_real_smtp_server_from_the_loop(app, headers, smtp_server):
    collector = Collector()
    smtp = smtp_server(collector)
    configure(app, headers, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_use_tls=False,
              smtp_from_address="alerts@example.com")
    create_rule(app.test_client(), headers)
    put_digests(app, headers, hourly("me@example.com", channel="email",
                                     schedule={"every_seconds": 1}))
    loop = DigestLoop(app)
    loop.run_once()  # starts collecting
    fire(app, headers, 4)
    with app.app_context():  # as if made 10 s ago, and the digest due now
        ago = utcnow() - timedelta(seconds=10)
        db.session.query(Alert).update({"created_at": ago})
        db.session.query(DigestState).update({"next_due_at": utcnow(),
                                              "covered_until": ago - timedelta(seconds=1)})
        db.session.commit()
    loop.run_once()
    run_dispatcher(app)
    [envelope] = collector.envelopes
    assert envelope.rcpt_tos == ["me@example.com"]
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == "Digest hourly: 4 alerts"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain") \
        .get_payload(decode=True).decode()
    assert "4 x Person at the back door on back-door (high)" in text
    assert "All alerts: https://alerts.example.com/alerts?since=" in text


def test_digests_are_validated_and_their_secrets_kept(app, headers):
    client = app.test_client()
    bad = client.put("/api/notification/digests", headers=headers, json={"digests": [
        {"name": "a", "channel": "email", "target": "not-an-address",
         "schedule": {"every_seconds": 60}},
        {"name": "b", "channel": "webhook", "target": "https://127.0.0.1/x",
         "schedule": {"at": "25:00"}},
        {"name": "c", "channel": "push", "target": "ntfy://t",
         "schedule": {"every_seconds": 60}, "filter": {"modes": ["moon"]}}]})
    assert bad.status_code == 422
    assert {"digests.0.target", "digests.1.schedule.at"} <= set(bad.json["fields"])
    bad_mode = client.put("/api/notification/digests", headers=headers, json={"digests": [
        {"name": "c", "channel": "push", "target": "ntfy://t",
         "schedule": {"every_seconds": 60}, "filter": {"modes": ["moon"]}}]})
    assert bad_mode.status_code == 422 and "digests.0.filter.modes.0" in bad_mode.json["fields"]
    shown = put_digests(app, headers, hourly("https://u:pa55@93.184.215.14/d"))
    assert shown["digests"][0]["target"] == "https://u:***@93.184.215.14/d"
    again = put_digests(app, headers, hourly("https://u:***@93.184.215.14/d"))  # as shown
    assert again["digests"][0]["target"] == "https://u:***@93.184.215.14/d"
    with app.app_context():
        from alerting.services.notification_targets import unseal

        [entry] = digests.configured()
        assert unseal(entry["target"], entry["target_sealed"]) == "https://u:pa55@93.184.215.14/d"
    audit = client.get("/api/audit?action=digests_update", headers=headers).json
    assert audit["count"] == 2 and "pa55" not in str(audit)
