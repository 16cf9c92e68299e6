"""Snapshots, links, priority and templates in real deliveries: the app matches an event whose
snapshot a real HTTP server (the detector) serves, and a real aiosmtpd server, webhook
receiver and ntfy-style receiver get what the dispatcher sends."""

import email
import email.policy
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from alerting.extensions import db
from alerting.models import utcnow
from alerting.services import escalations, groups
from tests.support.app import make_app, make_key
from tests.support.detector import SNAPSHOT as JPEG
from tests.support.detector import THUMBNAIL, detector_server
from tests.support.factories import configure, create_rule, post_event, run_dispatcher, run_matcher
from tests.support.receivers import Collector
from tests.support.webpush import start_push_service

PUBLIC = "https://alerts.example.com"


@pytest.fixture
def detector():
    with detector_server() as server:
        yield server


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], SMTP_USE_TLS=False,
                    PUBLIC_URL=PUBLIC, RETRY_SCHEDULE=[60], NOTIFY_SNAPSHOT_TIMEOUT_SECONDS=2)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def media_of(detector: HTTPServer) -> dict:
    base = f"http://127.0.0.1:{detector.port}/api/events/e1"
    return {"snapshot_url": f"{base}/snapshot.jpg", "thumbnail_url": f"{base}/thumbnail.jpg"}


def email_setup(app, headers, smtp_server) -> Collector:
    collector = Collector()
    smtp = smtp_server(collector)
    configure(app, headers, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_use_tls=False,
              smtp_from_address="alerts@example.com", default_email_recipients=["me@example.com"])
    return collector


def attempt_note(app, headers) -> str | None:
    detail = app.test_client().get("/api/alerts/1", headers=headers).json
    return detail["deliveries"][0]["attempt_log"][-1]["error"]


def test_email_shows_the_snapshot_inline_and_attached(app, headers, smtp_server, detector):
    detector.expect_request("/api/events/e1/snapshot.jpg").respond_with_data(
        JPEG, content_type="image/jpeg")
    collector = email_setup(app, headers, smtp_server)
    create_rule(app.test_client(), headers, channels=["email"])
    post_event(app.test_client(), headers, media=media_of(detector))
    run_matcher(app)
    run_dispatcher(app)

    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    html = mail.get_body(preferencelist=("html",))
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    [inline] = [p for p in related.iter_parts() if p.get_content_type() == "image/jpeg"]
    assert inline.get_content() == JPEG  # the snapshot's bytes, a valid JPEG
    assert inline.get_content()[:3] == b"\xff\xd8\xff" and inline.get_content()[-2:] == b"\xff\xd9"
    cid = inline["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    attachments = [p for p in mail.iter_attachments() if p.get_content_type() == "image/jpeg"]
    assert [a.get_content() for a in attachments] == [JPEG]
    assert attachments[0].get_filename() == "snapshot-1.jpg"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{PUBLIC}/alerts/1" in text  # the text part keeps the link
    assert attempt_note(app, headers) is None


@pytest.mark.parametrize("serve, reason", [
    ("slow", "did not answer within 1s"),
    ("big", "larger than 1000 bytes"),
    ("missing", "no such media"),
])
def test_email_without_the_snapshot_says_why(tmp_path, smtp_server, detector, serve, reason):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], SMTP_USE_TLS=False,
                   PUBLIC_URL=PUBLIC, NOTIFY_SNAPSHOT_TIMEOUT_SECONDS=1,
                   NOTIFY_SNAPSHOT_MAX_BYTES=1000 if serve == "big" else 2 * 1024 * 1024)
    headers = {"x-access-token": make_key(app)}
    path = "/api/events/e1/snapshot.jpg"
    if serve == "slow":
        def handler(request):
            time.sleep(2)
            from werkzeug import Response
            return Response(JPEG, content_type="image/jpeg")
        detector.expect_request(path).respond_with_handler(handler)
    elif serve == "big":
        detector.expect_request(path).respond_with_data(JPEG, content_type="image/jpeg")
    else:
        detector.expect_request(path).respond_with_data("no", status=404)
    collector = email_setup(app, headers, smtp_server)
    create_rule(app.test_client(), headers, channels=["email"])
    post_event(app.test_client(), headers, media=media_of(detector))
    run_matcher(app)
    started = time.monotonic()
    run_dispatcher(app)
    assert time.monotonic() - started < 10

    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert not [p for p in mail.walk() if p.get_content_maintype() == "image"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "snapshot not attached" in text and reason in text
    assert "cid:" not in mail.get_body(preferencelist=("html",)).get_content()
    note = attempt_note(app, headers)
    assert "snapshot not attached" in note and reason in note
    detail = app.test_client().get("/api/alerts/1", headers=headers).json
    assert detail["deliveries"][0]["status"] == "delivered"


def test_push_without_the_snapshot_says_why(app, headers, detector):
    """The ntfy-style receiver gets the message without an attachment, and the message says
    why, as the delivery attempt does."""
    detector.expect_request("/api/events/e1/snapshot.jpg").respond_with_data("no", status=404)
    with detector_server() as ntfy:
        ntfy.expect_request("/", method="POST").respond_with_json({"id": "x", "event": "message"})
        create_rule(app.test_client(), headers, channels=["push"],
                    targets={"push_urls": [f"ntfy://127.0.0.1:{ntfy.port}/alerts"]})
        post_event(app.test_client(), headers, media=media_of(detector))
        run_matcher(app)
        run_dispatcher(app)
        [(request, _)] = ntfy.log
    sent = request.get_json()  # JSON, not an attachment's bytes
    assert "Person at the back door" in sent["title"]
    why = "snapshot not attached (event 1: the detector has no such media)"
    assert sent["message"].endswith("\n\n" + why)
    assert attempt_note(app, headers) == why


def signed_links(app, headers, httpserver, detector) -> dict:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = app.test_client().post("/api/notification/webhook-secret/reveal",
                                 headers=headers).json["webhook_secret"]
    create_rule(app.test_client(), headers, channels=["webhook"])
    post_event(app.test_client(), headers, media=media_of(detector))
    run_matcher(app)
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    body = Webhook(key).verify(request.get_data(), dict(request.headers))
    assert body["data"]["alert_url"] == f"{PUBLIC}/alerts/1"
    return body["data"]["media"]


def test_webhook_gets_signed_media_links_a_receiver_can_fetch(app, headers, httpserver,
                                                              detector):
    detector.expect_request("/api/events/e1/snapshot.jpg").respond_with_data(
        JPEG, content_type="image/jpeg")
    links = signed_links(app, headers, httpserver, detector)
    assert set(links) == {"snapshot", "thumbnail"}
    assert links["snapshot"].startswith(f"{PUBLIC}/media/events/1/snapshot.jpg?exp=")
    assert JPEG not in str(links).encode()  # links, never bytes
    anonymous = app.test_client()  # no session, no key
    response = anonymous.get(links["snapshot"].removeprefix(PUBLIC))
    assert response.status_code == 200 and response.data == JPEG
    assert response.content_type == "image/jpeg"
    # Without the signature it needs a login, as before.
    plain = anonymous.get("/media/events/1/snapshot.jpg")
    assert plain.status_code == 302 and "/login" in plain.headers["Location"]


def _altered(link: str) -> list[str]:
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    flip = query["sig"][:-1] + ("A" if query["sig"][-1] != "A" else "B")
    return [
        f"{parts.path}?exp={query['exp']}&sig={flip}",  # another signature
        f"{parts.path}?exp={int(query['exp']) + 60}&sig={query['sig']}",  # a longer life
        f"{parts.path.replace('snapshot.jpg', 'thumbnail.jpg')}?{parts.query}",  # other media
        f"{parts.path.replace('/1/', '/2/')}?{parts.query}",  # another event
        f"{parts.path}?exp={query['exp']}",  # no signature
        f"{parts.path}?exp=&sig={query['sig']}",
    ]


def test_altered_and_expired_links_are_refused(app, headers, httpserver, detector):
    detector.expect_request("/api/events/e1/snapshot.jpg").respond_with_data(
        JPEG, content_type="image/jpeg")
    links = signed_links(app, headers, httpserver, detector)
    anonymous = app.test_client()
    for link in _altered(links["snapshot"]):
        response = anonymous.get(link)
        assert response.status_code == 403, link
        assert response.data != JPEG
    from alerting.notify.media import sign_media_path

    with app.app_context():
        expired = sign_media_path(app.secret_key, "/media/events/1/snapshot.jpg", 60,
                                  now=time.time() - 120)
        valid = sign_media_path(app.secret_key, "/media/events/1/snapshot.jpg", 60)
    assert anonymous.get(expired).status_code == 403
    assert anonymous.get(valid).status_code == 200
    assert not detector.log or all(r.path.endswith("snapshot.jpg") for r, _ in detector.log)


@pytest.mark.parametrize("priority, expected", [
    ("urgent", "max"), ("high", "high"), ("low", "low"), ("normal", None)])  # ntfy: 5, 4, 2
def test_ntfy_gets_the_snapshot_click_url_and_priority(app, headers, detector, priority,
                                                       expected):
    """A local ntfy-style receiver: Apprise's ntfy plugin posts the attachment as the body
    (title, message and file name in the query), with X-Priority and X-Click."""
    detector.expect_request("/api/events/e1/snapshot.jpg").respond_with_data(
        JPEG, content_type="image/jpeg")
    with detector_server() as ntfy:  # a real HTTP server, here playing ntfy
        ntfy.expect_request("/alerts").respond_with_json({"id": "x", "event": "message"})
        create_rule(app.test_client(), headers, channels=["push"], priority=priority,
                    targets={"push_urls": [f"ntfy://127.0.0.1:{ntfy.port}/alerts"]})
        post_event(app.test_client(), headers, media=media_of(detector))
        run_matcher(app)
        run_dispatcher(app)
        [(request, _)] = ntfy.log
    assert request.method == "POST"
    assert request.get_data() == JPEG
    assert request.args["filename"] == "snapshot-1.jpg"
    assert request.headers.get("X-Priority") == expected
    assert unquote(request.headers["X-Click"]) == f"{PUBLIC}/alerts/1"
    assert "Person at the back door" in request.args["title"]


def test_templates_render_in_email_and_push(app, headers, smtp_server, detector):
    collector = email_setup(app, headers, smtp_server)
    with detector_server() as ntfy:  # without an attachment: JSON, the topic inside, to /
        ntfy.expect_request("/", method="POST").respond_with_json({"id": "x", "event": "message"})
        create_rule(app.test_client(), headers, channels=["email", "push"], templates={
            "email": {"subject": "{{ camera.name }}: {{ detections[0].object_type }} "
                                 "{{ (detections[0].confidence * 100) | round | int }}%",
                      "body": "Rule {{ rule.name }} on {{ event.camera_id }}. {{ links.alert }}"},
            "push": {"title": "{{ rule.name | upper }}",
                     "body": "{{ alert.nonexistent.deeper }}{{ 1 / 0 }}"}},
            targets={"push_urls": [f"ntfy://127.0.0.1:{ntfy.port}/alerts"]})
        post_event(app.test_client(), headers)
        run_matcher(app)
        run_dispatcher(app)
        [(request, _)] = ntfy.log
    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "back-door: person 91%"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"Rule Person at the back door on back-door. {PUBLIC}/alerts/1" in text
    # No snapshot (the event has none): title and message in the JSON body.
    sent = request.get_json()
    assert sent["title"] == "PERSON AT THE BACK DOOR"
    # The body failed (division by zero): the default body went, and the attempt says why.
    assert "matched an event on camera back-door" in sent["message"]
    detail = app.test_client().get("/api/alerts/1", headers=headers).json
    push = next(d for d in detail["deliveries"] if d["channel"] == "push")
    assert push["status"] == "delivered"
    assert re.search(r"template push\.body failed \(ZeroDivisionError",
                     push["attempt_log"][-1]["error"])


def test_site_default_templates_apply_where_the_rule_has_none(app, headers, smtp_server):
    collector = email_setup(app, headers, smtp_server)
    configure(app, headers, templates={"email": {"subject": "Site: {{ rule.name }}"}})
    create_rule(app.test_client(), headers, channels=["email"])
    post_event(app.test_client(), headers)
    run_matcher(app)
    run_dispatcher(app)
    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "Site: Person at the back door"

# -- beyond the single alert's notification: web push through the outbox (signed action
# links the service worker POSTs, the signed snapshot link, priority and sound), a group's
# notification (the email's thumbnail strip, the webhook's per-alert signed media links and
# pages, push attaching the worst alert's snapshot) and an escalation's (the same snapshot and
# actions as the alert's own).

# Two events' snapshots, different JPEGs, so which one went where can be checked.
SNAPSHOTS = {"e0": JPEG, "e1": THUMBNAIL}


@pytest.fixture
def snapshots(detector):
    for name, body in SNAPSHOTS.items():
        detector.expect_request(f"/api/events/{name}/snapshot.jpg").respond_with_data(
            body, content_type="image/jpeg")
    return detector


@pytest.fixture
def push():
    service = start_push_service()
    yield service
    service.server.stop()


def media_named(server: HTTPServer, name: str) -> dict:
    return {"snapshot_url": f"http://127.0.0.1:{server.port}/api/events/{name}/snapshot.jpg"}


def grouped(app, headers, snapshots, **rule) -> None:
    """Two alerts of one group (camera back-door), flushed once."""
    create_rule(app.test_client(), headers, group_by=["camera_id"], group_wait=5, **rule)
    for name in SNAPSHOTS:
        post_event(app.test_client(), headers, external_id=name, source="t",
                   media=media_named(snapshots, name))
    run_matcher(app)
    with app.app_context():
        assert groups.flush_due(now=utcnow() + timedelta(seconds=6)) == 1
        db.session.remove()
    run_dispatcher(app)


def alert_status(app, headers, alert_id: int) -> str:
    return app.test_client().get(f"/api/alerts/{alert_id}", headers=headers).json["status"]


# -- web push ---------------------------------------------------------------------------------


def test_web_push_carries_the_action_links_and_its_buttons_act(app, headers, push, snapshots):
    client = app.test_client()
    response = client.post("/api/push/subscriptions", json=push.subscribe("phone"),
                           headers=headers)
    assert response.status_code == 201, response.json
    create_rule(client, headers, severity="low", priority="urgent", sound="alarm")
    post_event(client, headers, external_id="e0", source="t", media=media_named(snapshots, "e0"))
    run_matcher(app)
    run_dispatcher(app)

    [got] = push.received
    payload = got.payload
    assert got.headers["Urgency"] == "high"  # priority urgent, though the severity is low
    assert payload["priority"] == "urgent" and payload["sound"] == "alarm"
    assert payload["url"] == "/alerts/1"
    assert [(a["action"], a["method"]) for a in payload["actions"]] == [
        ("acknowledge", "POST"), ("snooze_camera", "POST"), ("snooze_rule", "POST")]
    assert all(a["url"].startswith("/actions/") for a in payload["actions"])
    # The snapshot is the signed link: it loads without a session.
    snapshot = payload["snapshot_url"]
    assert snapshot.startswith(f"{PUBLIC}/media/events/1/snapshot.jpg?exp=")
    anonymous = app.test_client()
    assert anonymous.get(snapshot.removeprefix(PUBLIC)).data == JPEG

    # What the service worker does on the acknowledge button: POST, asking for JSON.
    acknowledge = payload["actions"][0]["url"]
    done = anonymous.post(acknowledge, headers={"Accept": "application/json"})
    assert done.status_code == 200
    assert done.json == {"ok": True, "action": "acknowledge", "alert_id": 1,
                         "message": "Alert #1 acknowledged."}
    assert alert_status(app, headers, 1) == "acknowledged"
    again = anonymous.post(acknowledge, headers={"Accept": "application/json"})
    assert again.status_code == 409 and "already been used" in again.json["message"]


def test_a_group_web_push_shows_the_worst_alerts_snapshot(app, headers, push, snapshots):
    response = app.test_client().post("/api/push/subscriptions",
                                      json=push.subscribe("phone"), headers=headers)
    assert response.status_code == 201
    grouped(app, headers, snapshots, severity="low", priority="urgent", sound="alarm")

    [got] = push.received
    assert got.headers["Urgency"] == "high"  # priority urgent, though the severity is low
    assert (got.payload["priority"], got.payload["sound"]) == ("urgent", "alarm")
    assert got.payload["title"].endswith(": 2 alerts")
    worst = got.payload["alert_id"]
    assert got.payload["url"] == f"/alerts/{worst}"
    assert got.payload["snapshot_url"].startswith(f"{PUBLIC}/media/events/{worst}/snapshot.jpg?")
    [button] = got.payload["actions"]
    assert (button["action"], button["title"], button["method"]) == (
        "acknowledge_group", "Acknowledge all", "POST")
    done = app.test_client().post(button["url"], headers={"Accept": "application/json"})
    assert done.status_code == 200
    assert [alert_status(app, headers, i) for i in (1, 2)] == ["acknowledged"] * 2


# -- grouped notifications ----------------------------------------------------------------------


def test_a_group_email_shows_the_thumbnail_strip(app, headers, smtp_server, snapshots):
    collector = email_setup(app, headers, smtp_server)
    grouped(app, headers, snapshots, channels=["email"])

    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    html = mail.get_body(preferencelist=("html",)).get_content()
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    inline = [p for p in related.iter_parts() if p.get_content_type() == "image/jpeg"]
    assert sorted(p.get_content() for p in inline) == sorted(SNAPSHOTS.values())
    for part in inline:  # each referenced by the HTML, in the strip's size
        assert re.search(rf'src="cid:{re.escape(part["Content-ID"].strip("<>"))}"[^>]*'
                         r'width="176"', html)
    attached = [p.get_filename() for p in mail.iter_attachments()
                if p.get_content_type() == "image/jpeg"]
    assert sorted(attached) == ["snapshot-1.jpg", "snapshot-2.jpg"]
    # the group's acknowledge button, and every alert's page, in the text and the HTML
    assert re.search(rf'href="{re.escape(PUBLIC)}/actions/[^"]+"[^>]*>Acknowledge all<', html)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    for alert_id in (1, 2):
        assert f"{PUBLIC}/alerts/{alert_id}" in text and f"{PUBLIC}/alerts/{alert_id}" in html


def test_a_group_email_strip_is_capped(app, headers, smtp_server, snapshots):
    from alerting.services.notification_content import SNAPSHOT_CHANNELS, STRIP_MAX

    assert SNAPSHOT_CHANNELS["email"] == STRIP_MAX
    collector = email_setup(app, headers, smtp_server)
    create_rule(app.test_client(), headers, channels=["email"], group_by=["camera_id"],
                group_wait=5)
    for i in range(STRIP_MAX + 2):
        post_event(app.test_client(), headers, external_id=f"many-{i}", source="t",
                   media=media_named(snapshots, "e0"))
    run_matcher(app)
    with app.app_context():
        assert groups.flush_due(now=utcnow() + timedelta(seconds=6)) == 1
        db.session.remove()
    run_dispatcher(app)

    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    assert len([p for p in related.iter_parts()
                if p.get_content_type() == "image/jpeg"]) == STRIP_MAX


def test_a_group_webhook_carries_each_alerts_signed_media_and_page(app, headers, httpserver,
                                                                   snapshots):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = app.test_client().post("/api/notification/webhook-secret/reveal",
                                 headers=headers).json["webhook_secret"]
    grouped(app, headers, snapshots, channels=["webhook"])

    [(request, _)] = httpserver.log
    body = Webhook(key).verify(request.get_data(), dict(request.headers))
    alerts = body["data"]["alerts"]
    assert sorted(a["id"] for a in alerts) == [1, 2]
    anonymous = app.test_client()
    for alert in alerts:
        assert alert["alert_url"] == f"{PUBLIC}/alerts/{alert['id']}"
        link = alert["media"]["snapshot"]
        assert link.startswith(f"{PUBLIC}/media/events/{alert['event_id']}/snapshot.jpg?exp=")
        fetched = anonymous.get(link.removeprefix(PUBLIC))
        assert fetched.status_code == 200
        assert fetched.data == SNAPSHOTS[f"e{alert['event_id'] - 1}"]
        assert anonymous.get(link.removeprefix(PUBLIC).replace("sig=", "sig=x")
                             ).status_code == 403
    # The group's link acknowledges every alert of it, once.
    acknowledge = body["data"]["actions"]["acknowledge_group"].removeprefix(PUBLIC)
    done = anonymous.post(acknowledge, headers={"Accept": "application/json"})
    assert done.json == {"ok": True, "action": "acknowledge_group",
                         "group_id": body["data"]["group_id"],
                         "message": f"2 alerts of group #{body['data']['group_id']} "
                                    "acknowledged."}
    assert [alert_status(app, headers, i) for i in (1, 2)] == ["acknowledged"] * 2
    assert anonymous.post(acknowledge).status_code == 409


def test_a_group_webhook_without_a_public_url_has_null_links(tmp_path, httpserver, snapshots):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])
    headers = {"x-access-token": make_key(app)}
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    grouped(app, headers, snapshots, channels=["webhook"])

    [(request, _)] = httpserver.log
    alerts = request.get_json()["data"]["alerts"]
    assert [(a["alert_url"], a["media"]) for a in alerts] == [(None, None), (None, None)]


def test_a_group_push_attaches_the_worst_alerts_snapshot(app, headers, snapshots):
    with detector_server() as ntfy:  # a real HTTP server, here playing ntfy
        ntfy.expect_request("/alerts").respond_with_json({"id": "x", "event": "message"})
        grouped(app, headers, snapshots, channels=["push"], priority="urgent",
                targets={"push_urls": [f"ntfy://127.0.0.1:{ntfy.port}/alerts"]})
        [(request, _)] = ntfy.log
    assert request.headers.get("X-Priority") == "max"  # the rule's priority: urgent, ntfy's 5
    assert request.get_data() in SNAPSHOTS.values()  # one snapshot attached: the worst's
    worst = int(re.search(r"snapshot-(\d+)\.jpg", request.args["filename"]).group(1))
    assert request.get_data() == SNAPSHOTS[f"e{worst - 1}"]
    assert ": 2 alerts" in request.args["title"]


# -- escalation ---------------------------------------------------------------------------------


def test_an_escalation_email_has_the_snapshot_and_the_action_links(app, headers, smtp_server,
                                                                   snapshots, httpserver):
    collector = email_setup(app, headers, smtp_server)
    httpserver.expect_request("/neighbour", method="POST").respond_with_data("ok")
    create_rule(app.test_client(), headers, channels=[], escalate_after=300,
                escalation_targets={"email_recipients": ["neighbour@example.com"],
                                    "webhook_url": httpserver.url_for("/neighbour")})
    post_event(app.test_client(), headers, external_id="e0", source="t",
               media=media_named(snapshots, "e0"))
    run_matcher(app)
    with app.app_context():
        assert escalations.escalate_due(utcnow() + timedelta(seconds=301)) == [1]
        db.session.remove()
    run_dispatcher(app)

    [envelope] = collector.envelopes
    assert envelope.rcpt_tos == ["neighbour@example.com"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"].startswith("Escalated: not acknowledged within 5 min")
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    [inline] = [p for p in related.iter_parts() if p.get_content_type() == "image/jpeg"]
    assert inline.get_content() == JPEG
    html = mail.get_body(preferencelist=("html",)).get_content()
    tokens = re.findall(rf'href="{re.escape(PUBLIC)}(/actions/[^"]+)"', html)
    assert len(tokens) == 3  # acknowledge, snooze camera, snooze rule
    assert f'href="{PUBLIC}/alerts/1"' in html

    [(request, _)] = httpserver.log
    data = request.get_json()["data"]
    assert request.get_json()["type"] == "alert.escalated"
    assert set(data["actions"]) == {"open", "acknowledge", "snooze_camera", "snooze_rule"}
    assert data["media"]["snapshot"].startswith(f"{PUBLIC}/media/events/1/snapshot.jpg?exp=")
    assert data["alert_url"] == f"{PUBLIC}/alerts/1"
    # the escalation's acknowledge link acts
    anonymous = app.test_client()
    path = data["actions"]["acknowledge"].removeprefix(PUBLIC)
    assert anonymous.post(path, headers={"Accept": "application/json"}).status_code == 200
    assert alert_status(app, headers, 1) == "acknowledged"


def test_an_alert_email_says_each_fact_once(app, headers, smtp_server):
    """The email lists camera, time, objects, zones, summary and conditions; the built-in
    text (push's body, which has no such list) is not appended to say them all again. An
    escalation's email keeps its reason."""
    collector = email_setup(app, headers, smtp_server)
    create_rule(app.test_client(), headers, channels=["email"], escalate_after=300,
                escalation_targets={"email_recipients": ["neighbour@example.com"]})
    post_event(app.test_client(), headers, summary="A man in a red coat at the door")
    run_matcher(app)
    with app.app_context():
        assert escalations.escalate_due(utcnow() + timedelta(seconds=301)) == [1]
        db.session.remove()
    run_dispatcher(app)

    alert, escalation = sorted(collector.envelopes, key=lambda e: e.rcpt_tos)
    for envelope in (alert, escalation):
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for kind in ("plain", "html"):
            body = mail.get_body(preferencelist=(kind,)).get_content()
            assert body.count("A man in a red coat at the door") == 1, kind
            assert "matched an event on" not in body and "Matched: " not in body
    mail = email.message_from_bytes(escalation.content, policy=email.policy.default)
    assert escalation.rcpt_tos == ["neighbour@example.com"]
    for kind in ("plain", "html"):
        body = mail.get_body(preferencelist=(kind,)).get_content()
        assert body.count("Escalated: not acknowledged within 5 min.") == 1, kind
