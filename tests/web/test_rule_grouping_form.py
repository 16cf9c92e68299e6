"""The rule form's grouping fields: saved through the same schema as the API, shown again
on edit, errors beside their input."""

from __future__ import annotations

from alerting.services import rules as rule_service
from tests.support.web import csrf_token, login


def _form(token: str, **fields) -> dict:
    return {"csrf_token": token, "name": "Garden", "severity": "high", "enabled": "y",
            "cooldown_seconds": "0", "schedule_days": ["mon"], "schedule_start": "00:00",
            "schedule_end": "00:00", "conditions-0-field": "", "conditions-0-op": "eq",
            "conditions-0-value": "", "action": "save", "kind": "detection", **fields}


def test_rule_form_saves_and_shows_grouping(app, client):
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    response = client.post("/rules/new", data=_form(
        token, group_by=["camera_id", "zone_id"], group_wait="5", group_interval="30",
        repeat_interval="600", group_max_alerts="10"))
    assert response.status_code == 303
    with app.app_context():
        [rule], _ = rule_service.list_rules()
        assert (rule.group_by, rule.group_wait, rule.group_interval, rule.repeat_interval,
                rule.group_max_alerts) == (["camera_id", "zone_id"], 5, 30, 600, 10)
        page = client.get(f"/rules/{rule.id}/edit").text
    assert 'value="600"' in page and 'value="camera_id"' in page


def test_rule_form_empty_grouping_is_the_site_default(app, client):
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    assert client.post("/rules/new", data=_form(token)).status_code == 303
    with app.app_context():
        [rule], _ = rule_service.list_rules()
        assert (rule.group_by, rule.group_wait, rule.repeat_interval) == (None, None, None)


def test_rule_form_places_the_grouping_error_beside_its_input(client):
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    response = client.post("/rules/new", data=_form(token, group_interval="0"))
    assert response.status_code == 422
    assert 'id="group_interval-error"' in response.text


def test_alerts_page_shows_a_group_as_one_row_that_expands(app, client, admin_headers):
    from tests.support.factories import create_rule, post_event, run_matcher

    create_rule(client, admin_headers, channels=["email"], group_by=["rule_id"],
                group_wait=60, targets={"email_recipients": ["ops@example.com"]})
    create_rule(client, admin_headers, name="Alone", channels=[], camera_ids=["other"])
    for i in range(3):
        post_event(client, admin_headers, external_id=f"g{i}", source="t")
    post_event(client, admin_headers, external_id="o", source="t", camera_id="other")
    run_matcher(app)
    login(client)
    page = client.get("/alerts").text
    assert page.count('class="history-item"') == 2  # the group's row, the ungrouped alert
    assert "3 alerts, firing" in page
    part = client.get("/alerts/groups/1", headers={"HX-Request": "true"}).text
    assert part.count('class="history-item"') == 3 and "<html" not in part
    assert client.get("/alerts/groups/99").status_code == 404


def test_a_group_is_acknowledged_as_a_whole_from_its_page_and_the_api(app, client,
                                                                      admin_headers):
    """One notification per incident, one acknowledge per incident: every open alert of the
    group at once, from the group's page or POST /api/alert-groups/{id}/acknowledge."""
    from tests.support.factories import create_rule, post_event, run_matcher
    from tests.support.web import csrf_token

    create_rule(client, admin_headers, channels=["email"], group_by=["rule_id"],
                group_wait=60, targets={"email_recipients": ["ops@example.com"]})
    for i in range(3):
        post_event(client, admin_headers, external_id=f"g{i}", source="t")
    run_matcher(app)
    client.post("/api/alerts/2/dismiss", headers=admin_headers)
    login(client)
    page = client.get("/alerts/groups/1").text
    assert "Acknowledge the group (2 open)" in page
    token = csrf_token(client.get("/keys").data)
    done = client.post("/alerts/groups/1/acknowledge", data={"csrf_token": token},
                       follow_redirects=True).text
    assert "Acknowledged 2 alerts of group #1." in done and "Acknowledge the group" not in done
    statuses = {a["id"]: a["status"] for a in client.get(
        "/api/alert-groups/1", headers=admin_headers).json["alerts"]}
    assert statuses == {1: "acknowledged", 2: "dismissed", 3: "acknowledged"}
    again = client.post("/alerts/groups/1/acknowledge", data={"csrf_token": token},
                        follow_redirects=True).text
    assert "Group #1 has no open alert left." in again
    api = client.post("/api/alert-groups/1/acknowledge", headers=admin_headers)
    assert api.status_code == 409 and api.json["error"] == "conflict"
    assert client.post("/api/alert-groups/99/acknowledge",
                       headers=admin_headers).status_code == 404
