"""A rule's priority, sound and templates through the API; the site's default templates in
the notification settings; the templates' preview; rules as code round-trips them."""

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.support.factories import configure, create_rule, post_event, run_matcher

TEMPLATES = {"email": {"subject": "{{ camera.name }}: {{ detections[0].object_type }}",
                       "body": "{{ rule.name }}\n{{ links.alert }}"},
             "push": {"title": "{{ rule.name | upper }}"}}


def test_rule_keeps_priority_sound_and_templates(client, admin_headers):
    rule = create_rule(client, admin_headers, priority="URGENT", sound="alarm",
                       templates={**TEMPLATES, "push": {"title": TEMPLATES["push"]["title"],
                                                        "body": "  "}})
    assert rule["priority"] == "urgent" and rule["sound"] == "alarm"
    assert rule["templates"] == TEMPLATES  # a blank part is no part
    fetched = client.get(f"/api/alerts/rules/{rule['id']}", headers=admin_headers).json
    assert fetched["templates"] == TEMPLATES
    updated = client.put(f"/api/alerts/rules/{rule['id']}", headers=admin_headers,
                         json={"templates": None, "priority": "low"}).json
    assert updated["templates"] is None and updated["priority"] == "low"
    assert updated["sound"] == "alarm"


def test_defaults(client, admin_headers):
    rule = create_rule(client, admin_headers)
    assert (rule["priority"], rule["sound"], rule["templates"]) == ("normal", "default", None)


@pytest.mark.parametrize("body, field, says", [
    ({"templates": {"email": {"subject": "{{ alert.id "}}}, "templates.email.subject",
     "does not compile"),
    ({"templates": {"email": {"body": "{% if x %}"}}}, "templates.email.body",
     "does not compile"),
    ({"templates": {"push": {"title": "{{ ''.__class__.__mro__ }}"}}}, "templates.push.title",
     "names starting with _"),
    ({"templates": {"push": {"body": "{{ cycler.__init__.__globals__ }}"}}},
     "templates.push.body", "names starting with _"),
    ({"templates": {"push": {"body": 5}}}, "templates.push.body", "string"),
    ({"templates": {"webhook": {"body": "x"}}}, "templates.webhook", "unknown"),
    ({"templates": {"email": {"title": "x"}}}, "templates.email.title", "unknown"),
    ({"templates": "x"}, "templates", "object"),
    ({"priority": "max"}, "priority", "low, normal, high, urgent"),
    ({"sound": "siren"}, "sound", "default, chime, alarm, none"),
])
def test_bad_values_are_422_naming_the_field(client, admin_headers, body, field, says):
    rule = create_rule(client, admin_headers)
    for response in (
            client.post("/api/alerts/rules", headers=admin_headers,
                        json={"name": "x", "severity": "low", **body}),
            client.put(f"/api/alerts/rules/{rule['id']}", headers=admin_headers, json=body)):
        assert response.status_code == 422, response.json
        assert list(response.json["fields"]) == [field]
        assert says in response.json["fields"][field]


def test_site_templates_in_the_notification_settings(app, client, admin_headers):
    configure(app, admin_headers, templates={"email": {"subject": "S {{ rule.name }}",
                                                       "body": ""}})
    settings = client.get("/api/notification/settings", headers=admin_headers)
    assert settings.json["templates"] == {"email": {"subject": "S {{ rule.name }}"}}
    bad = client.put("/api/notification/config", headers=admin_headers,
                     json={"templates": {"push": {"title": "{{ x.__class__ }}"}}})
    assert bad.status_code == 422 and list(bad.json["fields"]) == ["templates.push.title"]


def test_preview_renders_against_the_rules_latest_alert(client, admin_headers):
    rule = create_rule(client, admin_headers)
    post_event(client, admin_headers, summary="A person at the door")
    run_matcher(client.application)
    response = client.post("/api/alerts/rules/templates/preview", headers=admin_headers, json={
        "rule_id": rule["id"],
        "templates": {"email": {"subject": "{{ camera.id }} / {{ event.summary }} / {{ mode }}"},
                      "push": {"title": "{{ detections | length }} {{ 1 / 0 }}"}}})
    assert response.status_code == 200, response.json
    preview = response.json
    assert preview["alert_id"] == 1 and preview["event_id"] == 1
    assert preview["email"]["subject"] == "back-door / A person at the door / home"
    assert preview["push"]["title"].startswith("[HIGH] Person at the back door")  # default
    assert preview["notes"] == ["template push.title failed (ZeroDivisionError: division by "
                                "zero); the default was used"]


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def test_preview_of_a_rule_without_alerts_renders_the_latest_event_it_matches(
        client, admin_headers):
    """Another rule's alert is no stand-in: the rule's own latest match of the last 7 days
    is, as the alert it would have raised (none stored)."""
    create_rule(client, admin_headers, name="Front", camera_ids=["front-door"])
    post_event(client, admin_headers, camera_id="front-door", started_at=_ago(1))
    for hours, summary in ((3, "Earlier at the back"), (2, "Latest at the back")):
        post_event(client, admin_headers, started_at=_ago(hours), summary=summary)
    post_event(client, admin_headers, started_at=_ago(24 * 8), summary="Too old")
    run_matcher(client.application)
    [alert] = client.get("/api/alerts", headers=admin_headers).json["alerts"]
    assert alert["camera_id"] == "front-door"
    rule = create_rule(client, admin_headers, name="Back")  # after those events: no alert
    response = client.post("/api/alerts/rules/templates/preview", headers=admin_headers, json={
        "rule_id": rule["id"],
        "templates": {"push": {"title": "{{ rule.name }} {{ camera.id }}",
                               "body": "{{ event.summary }} {{ detections[0].object_type }}"}}})
    assert response.status_code == 200, response.json
    preview = response.json
    assert (preview["alert_id"], preview["event_id"]) == (None, 3)
    assert preview["push"] == {"title": "Back back-door", "body": "Latest at the back person"}
    assert client.get("/api/alerts", headers=admin_headers).json["count"] == 1  # none stored


def test_preview_finds_the_latest_event_a_rule_on_identity_matches(client, admin_headers):
    """A rule on who the detector recognised finds its latest match by the identity the
    event carries (as the matcher judges it), not none."""
    bob = [{"object_type": "person", "confidence": 0.9, "identity": "Bob"}]
    post_event(client, admin_headers, started_at=_ago(3), detections=bob, summary="Bob")
    post_event(client, admin_headers, started_at=_ago(2), summary="Someone else")
    run_matcher(client.application)
    rule = create_rule(client, admin_headers, name="Bob", conditions=[
        {"field": "identity", "op": "eq", "value": "bob"}])
    preview = client.post("/api/alerts/rules/templates/preview", headers=admin_headers, json={
        "rule_id": rule["id"], "templates": {"push": {"title": "{{ event.summary }}",
                                                      "body": "x"}}}).json
    assert (preview["alert_id"], preview["event_id"], preview["push"]["title"]) == (
        None, 1, "Bob")


def test_preview_without_alerts_uses_a_sample_and_refuses_escapes(client, admin_headers):
    ok = client.post("/api/alerts/rules/templates/preview", headers=admin_headers,
                     json={"templates": {"push": {"body": "{{ camera.id }}"}}})
    assert ok.status_code == 200 and ok.json["alert_id"] is None
    assert ok.json["push"]["body"] == "front-door"
    bad = client.post("/api/alerts/rules/templates/preview", headers=admin_headers,
                      json={"templates": {"push": {"body": "{{ ''.__class__ }}"}}})
    assert bad.status_code == 422 and list(bad.json["fields"]) == ["templates.push.body"]
    missing = client.post("/api/alerts/rules/templates/preview", headers=admin_headers,
                          json={"alert_id": 99})
    assert missing.status_code == 404


def test_rules_as_code_round_trips_the_new_fields(app, client, admin_headers, runner,
                                                   tmp_path):
    create_rule(client, admin_headers, priority="high", sound="chime", templates=TEMPLATES)
    configure(app, admin_headers, templates={"push": {"title": "${literal} {{ rule.name }}"}})
    exported = runner.invoke(args=["rules", "export"])
    assert exported.exit_code == 0, exported.output
    document = yaml.safe_load(exported.output)
    [rule] = document["rules"]
    assert (rule["priority"], rule["sound"], rule["templates"]) == ("high", "chime", TEMPLATES)
    assert document["notification_settings"]["templates"] == {
        "push": {"title": "$${literal} {{ rule.name }}"}}
    path = tmp_path / "site.yaml"
    path.write_text(exported.output)
    applied = runner.invoke(args=["rules", "apply", str(path)])
    assert applied.exit_code == 0 and "No changes." in applied.output, applied.output
    rule["templates"] = {"push": {"title": "changed"}}
    path.write_text(yaml.safe_dump(document))
    applied = runner.invoke(args=["rules", "apply", str(path)])
    assert applied.exit_code == 0, applied.output
    assert "templates" in applied.output
    [stored] = client.get("/api/alerts/rules", headers=admin_headers).json["rules"]
    assert stored["templates"] == {"push": {"title": "changed"}}
