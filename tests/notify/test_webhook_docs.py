"""docs/webhooks.md shows the body a receiver gets: its example has exactly the fields that
a real delivery to a real receiver carries, at every level."""

import json
import re
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.support.app import make_app, make_key
from tests.support.factories import configure, create_rule, post_event, run_dispatcher, run_matcher

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
FRIGATE = "http://frigate.lan:5000/api/events/1765000000.1-abc"
MEDIA = {"snapshot_url": f"{FRIGATE}/snapshot.jpg", "thumbnail_url": f"{FRIGATE}/thumbnail.jpg",
         "clip_url": f"{FRIGATE}/clip.mp4"}
PUBLIC_URL = "https://alerts.example.com"


@pytest.fixture
def app(tmp_path):
    """An app whose webhooks may reach the test receiver on loopback, with a public URL."""
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], PUBLIC_URL=PUBLIC_URL)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


@pytest.fixture
def hook(httpserver) -> str:
    """The URL of a real receiver that answers every POST with 200."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver.url_for("/hook")


@pytest.fixture
def signing_key(app, headers, client, hook) -> str:
    """The default webhook set to the receiver; the secret its deliveries are signed with."""
    configure(app, headers, default_webhook_url=hook)
    return client.post("/api/notification/webhook-secret/reveal",
                       headers=headers).json["webhook_secret"]


def received(httpserver, key: str | None = None) -> dict:
    """The one body the receiver got, its signature verified with `key` when given."""
    [(request, _)] = httpserver.log
    if key is None:
        return request.get_json()
    return Webhook(key).verify(request.get_data(), dict(request.headers))


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


def test_the_documented_body_is_the_one_sent(app, headers, client, httpserver, signing_key):
    create_rule(client, headers, channels=["webhook"])
    post_event(client, headers, external_id="ev-1", source="t", media=MEDIA)
    run_matcher(app)
    run_dispatcher(app)
    sent = received(httpserver, signing_key)
    same_fields(sent, "## The body\n")
    assert sent["type"] == "alert.created"
    # The links work: the documented ones are examples, the sent ones real tokens.
    actions = sent["data"]["actions"]
    assert set(actions) == set(documented_body()["data"]["actions"])
    assert actions["open"] == f"{PUBLIC_URL}/alerts/{sent['data']['alert']['id']}"
    path = actions["acknowledge"].removeprefix(PUBLIC_URL)
    assert client.get(path).status_code == 200


def test_the_documented_group_body_is_the_one_sent(app, headers, client, httpserver,
                                                   signing_key):
    from datetime import timedelta

    from alerting.extensions import db
    from alerting.models import utcnow
    from alerting.services import groups

    create_rule(client, headers, channels=["webhook"], group_by=["camera_id"], group_wait=5)
    for i in range(2):
        post_event(client, headers, external_id=f"ev-{i}", source="t", media=MEDIA)
    run_matcher(app)
    with app.app_context():
        assert groups.flush_due(now=utcnow() + timedelta(seconds=6)) == 1
        db.session.remove()
    run_dispatcher(app)
    sent = received(httpserver, signing_key)
    same_fields(sent, "## The body of a group\n")
    assert sent["type"] == "alert_group"
    # Each alert's page and its event's signed media links (docs/webhooks.md, data.media).
    for alert in sent["data"]["alerts"]:
        assert alert["alert_url"] == f"{PUBLIC_URL}/alerts/{alert['id']}"
        assert set(alert["media"]) == {"snapshot", "thumbnail", "clip"}
    # The group's acknowledge link shows its confirmation page.
    path = sent["data"]["actions"]["acknowledge_group"].removeprefix(PUBLIC_URL)
    assert client.get(path).status_code == 200


def test_the_documented_escalation_body_is_the_one_sent(app, headers, client, httpserver, hook):
    from datetime import timedelta

    from alerting.models import utcnow
    from alerting.services import escalations

    create_rule(client, headers, escalate_after=300, escalation_targets={"webhook_url": hook})
    post_event(client, headers, external_id="ev-1", source="t", media=MEDIA)
    run_matcher(app)
    with app.app_context():
        assert escalations.escalate_due(utcnow() + timedelta(seconds=301)) == [1]
    run_dispatcher(app)
    same_fields(received(httpserver), "## Escalation")


def test_the_documented_digest_body_is_the_one_sent(app, headers, client, httpserver, hook):
    from datetime import timedelta

    from alerting.models import utcnow
    from alerting.services import digests

    assert client.put("/api/notification/digests", headers=headers, json={"digests": [{
        "name": "hourly", "channel": "webhook", "target": hook,
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
    same_fields(received(httpserver), "## Digests")


def test_the_documented_test_body_is_the_one_sent(client, headers, httpserver, signing_key):
    """What "Test webhook" (the Notifications page, POST /api/notification/test) posts, so a
    receiver can tell it from an alert."""
    response = client.post("/api/notification/test", headers=headers,
                           json={"channel": "webhook"})
    assert response.status_code == 200 and response.json["success"], response.json
    sent = received(httpserver, signing_key)
    same_fields(sent, "## The test delivery")
    [(request, _)] = httpserver.log
    assert request.headers["webhook-id"].startswith("test-")
