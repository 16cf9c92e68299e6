"""GET /api/config/export and POST /api/config/apply: YAML or JSON, dry run, prune, errors
by line, admin only."""

from __future__ import annotations

import yaml

from alerting.extensions import db
from alerting.models import AlertRule
from tests.support.app import make_key
from tests.support.factories import create_rule

YAML = {"Content-Type": "application/yaml"}


def test_export_is_yaml_unless_json_is_asked_for(client, admin_headers):
    create_rule(client, admin_headers, name="Back door")
    response = client.get("/api/config/export", headers=admin_headers)
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    assert "attachment" in response.headers["Content-Disposition"]
    document = yaml.safe_load(response.get_data(as_text=True))
    assert [r["name"] for r in document["rules"]] == ["Back door"]
    as_json = client.get("/api/config/export",
                         headers={**admin_headers, "Accept": "application/json"})
    assert as_json.mimetype == "application/json" and as_json.json == document


def test_round_trip_over_the_api_changes_nothing(client, admin_headers):
    create_rule(client, admin_headers, name="Back door", schedule={
        "days": ["mon"], "start_time": "22:00", "end_time": "06:00"})
    text = client.get("/api/config/export", headers=admin_headers).get_data(as_text=True)
    response = client.post("/api/config/apply", data=text, headers={**admin_headers, **YAML})
    assert response.status_code == 200, response.json
    assert response.json["applied"] is False and response.json["changes"] == []
    assert "No changes." in response.json["diff"]
    document = client.get("/api/config/export",
                          headers={**admin_headers, "Accept": "application/json"}).json
    again = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert again.status_code == 200 and again.json["changes"] == []


def test_dry_run_then_apply_then_prune(app, client, admin_headers):
    create_rule(client, admin_headers, name="Old")
    text = "rules:\n  - name: New\n    severity: low\n    object_types: [car]\n"
    dry = client.post("/api/config/apply?dry_run=1", data=text,
                      headers={**admin_headers, **YAML})
    assert dry.status_code == 200, dry.json
    body = dry.json
    assert body["dry_run"] is True and body["applied"] is False
    assert [(c["action"], c["name"]) for c in body["changes"]] == [("create", "New"),
                                                                   ("keep", "Old")]
    assert body["replays"][0]["name"] == "New" and body["replays"][0]["alerts"] == 0
    with app.app_context():
        assert db.session.query(AlertRule).count() == 1
    done = client.post("/api/config/apply?prune=true", data=text,
                       headers={**admin_headers, **YAML})
    assert done.status_code == 200 and done.json["applied"] is True
    assert [(c["action"], c["name"]) for c in done.json["changes"]] == [("create", "New"),
                                                                        ("delete", "Old")]
    with app.app_context():
        assert [r.name for r in db.session.query(AlertRule)] == ["New"]


def test_a_broken_file_is_422_naming_line_and_field(app, client, admin_headers):
    text = "rules:\n  - name: New\n    severity: loud\n"
    response = client.post("/api/config/apply", data=text, headers={**admin_headers, **YAML})
    assert response.status_code == 422
    assert response.json["fields"] == {"rules.0.severity": "must be one of critical, high, "
                                                           "medium, low"}
    assert "request body:3: rules.0.severity" in response.json["message"]
    bad_query = client.post("/api/config/apply?dry_run=maybe", data=text,
                            headers={**admin_headers, **YAML})
    assert bad_query.status_code == 422 and "dry_run" in bad_query.json["fields"]
    not_yaml = client.post("/api/config/apply", data="rules: [", headers={**admin_headers,
                                                                          **YAML})
    assert not_yaml.status_code == 422 and "YAML" in not_yaml.json["fields"]["body"]
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0


def test_only_admin_keys(app, client):
    reader = {"x-access-token": make_key(app, "read")}
    assert client.get("/api/config/export", headers=reader).status_code == 403
    assert client.post("/api/config/apply", json={}, headers=reader).status_code == 403
    assert client.get("/api/config/export").status_code == 401


def test_a_json_file_with_a_mute_timing_a_mode_and_the_rule_naming_them(client,
                                                                         admin_headers):
    """Over the API too: sections in one JSON body, applied in one go; the answer lists
    the changes per section; the same body again changes nothing; a bad silence is a 422
    naming its field."""
    document = {
        "mute_timings": [{"name": "school run", "intervals": [
            {"days": ["mon"], "start_time": "08:00", "end_time": "08:45"}]}],
        "modes": ["home", "away", "night", "vacation", "disarmed", "party"],
        "rules": [{"name": "Drive", "severity": "low", "mute_timings": ["school run"],
                   "modes": ["party"]}],
        "silences": [{"matchers": [{"field": "camera_id", "op": "=", "value": "gate"}],
                      "duration": 3600, "comment": "painting"}],
    }
    response = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert response.status_code == 200, response.json
    assert [(c["section"], c["action"], c["name"]) for c in response.json["changes"]] == [
        ("mute_timings", "create", "school run"), ("modes", "create", "party"),
        ("rules", "create", "Drive"), ("silences", "create", "painting")]
    listed = client.get("/api/silences?state=active", headers=admin_headers).json
    document["silences"][0].pop("duration")  # its end is stored: the same silence
    document["silences"][0]["ends_at"] = listed["silences"][0]["ends_at"]
    again = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert again.status_code == 200 and again.json["changes"] == [], again.json
    document["silences"][0]["matchers"][0]["op"] = "~"
    bad = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert bad.status_code == 422 and "silences.0.matchers.0.op" in bad.json["fields"]


def test_an_unknown_file_version_is_a_422_in_words(client, admin_headers):
    response = client.post("/api/config/apply", data="version: 2\n",
                           headers={**admin_headers, **YAML})
    assert response.status_code == 422
    assert response.json["fields"] == {"version": "must be 1, the file format this server reads"}
    assert "request body:1: version" in response.json["message"]


def test_a_json_file_reads_its_environment_references_as_a_yaml_one_does(
        app, client, admin_headers, monkeypatch):
    """`${VAR}` is read from the environment in a JSON body too: the JSON export's
    `${ALERTING_SMTP_PASSWORD}` given back must not become the SMTP password itself."""
    from alerting.models import NotificationSettings
    from alerting.services import secrets_box
    from tests.support.factories import configure

    configure(app, admin_headers, smtp_host="smtp.example.com", smtp_password="hunter2")
    monkeypatch.setenv("ALERTING_SMTP_PASSWORD", "hunter2")
    document = client.get("/api/config/export",
                          headers={**admin_headers, "Accept": "application/json"}).json
    assert document["notification_settings"]["smtp_password"] == "${ALERTING_SMTP_PASSWORD}"
    again = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert again.status_code == 200 and again.json["changes"] == [], again.json
    monkeypatch.setenv("ALERTING_SMTP_PASSWORD", "n3w-password")
    document["rules"] = [{"name": "Literal", "severity": "low", "description": "costs $${x}"}]
    done = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert done.status_code == 200, done.json
    with app.app_context():
        row = db.session.get(NotificationSettings, 1)
        assert secrets_box.decrypt(row.smtp_password_encrypted) == "n3w-password"
        assert db.session.query(AlertRule).one().description == "costs ${x}"


def test_the_exported_secret_references_keep_the_stored_secrets_when_unset(
        app, client, admin_headers, monkeypatch):
    """The export writes `${ALERTING_SMTP_PASSWORD}` and `${ALERTING_PUSH_URLS}` for secrets
    set on the Notifications page, which the server's environment need not hold: given back
    unchanged, with the variable unset, they keep the stored secrets (a round trip through
    the API or the Config page changes nothing). With nothing stored, unset is an error."""
    from alerting.models import NotificationSettings
    from alerting.services import notification_settings, secrets_box
    from tests.support.factories import configure

    monkeypatch.delenv("ALERTING_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("ALERTING_PUSH_URLS", raising=False)
    configure(app, admin_headers, smtp_host="smtp.example.com", smtp_password="hunter2",
              push_urls=["ntfy://secret-topic-token"])
    text = client.get("/api/config/export", headers=admin_headers).get_data(as_text=True)
    assert "${ALERTING_SMTP_PASSWORD}" in text and "${ALERTING_PUSH_URLS}" in text
    again = client.post("/api/config/apply", data=text, headers={**admin_headers, **YAML})
    assert again.status_code == 200, again.json
    assert again.json["changes"] == [] and "No changes." in again.json["diff"]
    document = client.get("/api/config/export",
                          headers={**admin_headers, "Accept": "application/json"}).json
    document["notification_settings"]["smtp_port"] = 2525
    done = client.post("/api/config/apply", json=document, headers=admin_headers)
    assert done.status_code == 200, done.json
    assert [f["field"] for f in done.json["changes"][0]["fields"]] == ["smtp_port"]
    with app.app_context():
        row = db.session.get(NotificationSettings, 1)
        assert secrets_box.decrypt(row.smtp_password_encrypted) == "hunter2"
        assert notification_settings.push_urls(row) == ["ntfy://secret-topic-token"]
    # One of these where nothing is stored must be set.
    configure(app, admin_headers, push_urls=[])
    empty = client.post("/api/config/apply", data=text, headers={**admin_headers, **YAML})
    assert empty.status_code == 422
    assert empty.json["fields"] == {"notification_settings.push_urls":
                                    "the environment variable ALERTING_PUSH_URLS is not set"}
    assert "request body:" in empty.json["message"]



def test_over_the_api_a_reference_reads_only_the_secret_the_export_writes_there(
        app, client, admin_headers, monkeypatch):
    """A file sent over the API (or the Config page) cannot read the server's environment
    back: `${ALERTING_SECRET_KEY}` in a description (or a webhook URL to a host of the
    sender's) would hand it to whoever sent the file. Over the API only the export's own
    references are read, at their own fields; the CLI on the server reads any."""
    monkeypatch.setenv("H7_HOOK", "https://93.184.215.14/hook")
    monkeypatch.setenv("ALERTING_SMTP_PASSWORD", "hunter2")
    leak = ("rules:\n- name: Leak\n  severity: low\n"
            "  description: 'key ${ALERTING_SECRET_KEY}'\n"
            "  targets: {webhook_url: '${H7_HOOK}'}\n"
            "notification_settings:\n  smtp_host: smtp.example.com\n"
            "  smtp_password: ${ALERTING_SMTP_PASSWORD}\n"
            "  smtp_username: ${ALERTING_SMTP_PASSWORD}\n")
    for dry_run in ("1", "0"):
        response = client.post(f"/api/config/apply?dry_run={dry_run}", data=leak,
                               headers={**admin_headers, **YAML})
        assert response.status_code == 422, response.json
        body = response.get_data(as_text=True)
        assert app.config["SECRET_KEY"] not in body and "hunter2" not in body
        assert set(response.json["fields"]) == {"rules.0.description",
                                                "rules.0.targets.webhook_url",
                                                "notification_settings.smtp_username"}
        assert "flask rules apply" in response.json["fields"]["rules.0.description"]
        assert "request body:4: rules.0.description" in response.json["message"]
    as_json = client.post("/api/config/apply?dry_run=1", headers=admin_headers, json={
        "rules": [{"name": "Leak", "severity": "low", "description": "${ALERTING_SECRET_KEY}"}]})
    assert as_json.status_code == 422 and "rules.0.description" in as_json.json["fields"]
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0
