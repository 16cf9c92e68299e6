"""docs/webhooks.md shows the body a receiver gets: its example has exactly the fields that
a real delivery to a real receiver carries, at every level."""

import json
import re
from pathlib import Path

from standardwebhooks import Webhook

from tests.support.app import make_app, make_key
from tests.support.factories import configure, create_rule, post_event, run_dispatcher, run_matcher

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
FRIGATE = "http://frigate.lan:5000/api/events/1765000000.1-abc"
MEDIA = {"snapshot_url": f"{FRIGATE}/snapshot.jpg", "thumbnail_url": f"{FRIGATE}/thumbnail.jpg",
         "clip_url": f"{FRIGATE}/clip.mp4"}


def documented_body(heading: str = "## The body\n") -> dict:
    section = DOC.read_text().split(heading, 1)[1]
    return json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))


def same_fields(sent: dict, heading: str) -> None:
    documented = paths(documented_body(heading))
    assert paths(sent) - documented == set(), "sent but not documented"
    assert documented - paths(sent) == set(), "documented but not sent"
    assert sent["type"] == documented_body(heading)["type"]


def paths(value, at: str = "") -> set[str]:
    """The dotted path of every field at every level (a list by its first item)."""
    found = {at} if at else set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= paths(item, f"{at}.{key}" if at else key)
    elif isinstance(value, list) and value:
        found |= paths(value[0], f"{at}[]")
    return found


def test_the_documented_body_is_the_one_sent(tmp_path, httpserver):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"],
                   PUBLIC_URL="https://alerts.example.com")
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = client.post("/api/notification/webhook-secret/reveal",
                      headers=headers).json["webhook_secret"]
    create_rule(client, headers, channels=["webhook"])
    post_event(client, headers, external_id="ev-1", source="t", media=MEDIA)
    run_matcher(app)
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    sent = Webhook(key).verify(request.get_data(), dict(request.headers))
    documented = paths(documented_body())
    assert paths(sent) - documented == set(), "sent but not documented"
    assert documented - paths(sent) == set(), "documented but not sent"
    assert sent["type"] == documented_body()["type"] == "alert.created"
    # The links work: the documented ones are examples, the sent ones real tokens.
    actions = sent["data"]["actions"]
    assert set(actions) == set(documented_body()["data"]["actions"])
    assert actions["open"] == f"https://alerts.example.com/alerts/{sent['data']['alert']['id']}"
    path = actions["acknowledge"].removeprefix("https://alerts.example.com")
    assert client.get(path).status_code == 200


def test_the_documented_group_body_is_the_one_sent(tmp_path, httpserver):
    from datetime import timedelta

    from alerting.extensions import db
    from alerting.models import utcnow
    from alerting.services import groups

    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"],
                   PUBLIC_URL="https://alerts.example.com")
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = client.post("/api/notification/webhook-secret/reveal",
                      headers=headers).json["webhook_secret"]
    create_rule(client, headers, channels=["webhook"], group_by=["camera_id"], group_wait=5)
    for i in range(2):
        post_event(client, headers, external_id=f"ev-{i}", source="t", media=MEDIA)
    run_matcher(app)
    with app.app_context():
        assert groups.flush_due(now=utcnow() + timedelta(seconds=6)) == 1
        db.session.remove()
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    sent = Webhook(key).verify(request.get_data(), dict(request.headers))
    documented = documented_body("## The body of a group\n")
    assert sent["type"] == documented["type"] == "alert_group"
    assert paths(sent) == paths(documented)
    # Each alert's page and its event's signed media links (docs/webhooks.md, data.media).
    for alert in sent["data"]["alerts"]:
        assert alert["alert_url"] == f"https://alerts.example.com/alerts/{alert['id']}"
        assert set(alert["media"]) == {"snapshot", "thumbnail", "clip"}
    # The group's acknowledge link shows its confirmation page.
    path = sent["data"]["actions"]["acknowledge_group"].removeprefix("https://alerts.example.com")
    assert client.get(path).status_code == 200


def test_the_documented_escalation_body_is_the_one_sent(tmp_path, httpserver):
    from datetime import timedelta

    from alerting.models import utcnow
    from alerting.services import escalations

    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"],
                   PUBLIC_URL="https://alerts.example.com")
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    httpserver.expect_request("/neighbour", method="POST").respond_with_data("ok")
    create_rule(client, headers, escalate_after=300,
                escalation_targets={"webhook_url": httpserver.url_for("/neighbour")})
    post_event(client, headers, external_id="ev-1", source="t", media=MEDIA)
    run_matcher(app)
    with app.app_context():
        assert escalations.escalate_due(utcnow() + timedelta(seconds=301)) == [1]
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    same_fields(request.get_json(), "## Escalation")


def test_the_documented_digest_body_is_the_one_sent(tmp_path, httpserver):
    from datetime import timedelta

    from alerting.models import utcnow
    from alerting.services import digests

    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    httpserver.expect_request("/digest", method="POST").respond_with_data("ok")
    assert client.put("/api/notification/digests", headers=headers, json={"digests": [{
        "name": "hourly", "channel": "webhook", "target": httpserver.url_for("/digest"),
        "schedule": {"every_seconds": 3600}}]}).status_code == 200
    start = utcnow()
    with app.app_context():
        digests.send_due(start)
    create_rule(client, headers)
    post_event(client, headers, external_id="ev-1", source="t", media=MEDIA)
    run_matcher(app)
    with app.app_context():
        assert digests.send_due(start + timedelta(hours=1, seconds=3)) == ["hourly"]
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    same_fields(request.get_json(), "## Digests")
