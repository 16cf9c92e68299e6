"""Rules as code through `flask rules export` / `flask rules apply`: a round trip changes
nothing; a broken file changes nothing and names file, line and field; the diff; the dry
run's replay; prune; secrets only by reference; one transaction and its audit entries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from alerting.extensions import db
from alerting.models import AlertRule, AuditLog, NotificationSettings, utcnow
from alerting.services import secrets_box
from alerting.services.site_config.rules import stable_id
from tests.support.factories import SPEC_RULE, configure, create_rule, post_event

SETTINGS = {"smtp_host": "smtp.example.com", "smtp_port": 2525,
            "smtp_password": "hunter2-secret", "smtp_from_address": "alerts@example.com",
            "default_email_recipients": ["a@example.com"],
            "push_urls": ["ntfy://secret-topic-token"]}


@pytest.fixture
def site(app, client, admin_headers, monkeypatch):
    """Two rules (one with a webhook URL holding a password) and notification settings
    with secrets; the environment holds the secrets the export refers to."""
    create_rule(client, admin_headers, **SPEC_RULE)
    create_rule(client, admin_headers, name="Night hook", description="two\nlines",
                conditions=[{"field": "summary", "op": "matches", "value": "car ${x}"}],
                channels=["webhook"],
                targets={"webhook_url": "https://user:pa55@93.184.215.14/hook"},
                escalate_after=300, escalate_min_severity="high",
                escalation_targets={"webhook_url": "https://user:pa55@93.184.215.14/esc"})
    configure(app, admin_headers, **SETTINGS)
    assert client.put("/api/notification/digests", headers=admin_headers, json={"digests": [
        {"name": "hourly", "channel": "webhook", "target": "https://u:pa55@93.184.215.14/d",
         "schedule": {"every_seconds": 3600}, "filter": {"modes": ["away"]}}]}
    ).status_code == 200
    monkeypatch.setenv("ALERTING_SMTP_PASSWORD", SETTINGS["smtp_password"])
    monkeypatch.setenv("ALERTING_PUSH_URLS", SETTINGS["push_urls"][0])
    return app


def _export(runner) -> str:
    result = runner.invoke(args=["rules", "export"])
    assert result.exit_code == 0, result.output
    return result.output


def _apply(runner, tmp_path, text: str, *options: str, name: str = "site.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return runner.invoke(args=["rules", "apply", str(path), *options]), str(path)


def _state(app):
    with app.app_context():
        rules = [(r.id, r.name, r.updated_at, r.targets_sealed, r.escalation_targets_sealed)
                 for r in db.session.scalars(select(AlertRule).order_by(AlertRule.id))]
        settings = db.session.get(NotificationSettings, 1)
        audit = db.session.scalar(select(func.count()).select_from(AuditLog))
        return rules, settings.updated_at, audit


def test_export_holds_no_secret(site, runner):
    text = _export(runner)
    assert "hunter2" not in text and "secret-topic-token" not in text and "pa55" not in text
    document = yaml.safe_load(text)
    settings = document["notification_settings"]
    assert settings["smtp_password"] == "${ALERTING_SMTP_PASSWORD}"
    assert settings["push_urls"] == "${ALERTING_PUSH_URLS}"
    hook = next(r for r in document["rules"] if r["name"] == "Night hook")
    assert hook["targets"]["webhook_url"] == "https://user:***@93.184.215.14/hook"
    assert hook["escalation_targets"]["webhook_url"] == "https://user:***@93.184.215.14/esc"
    assert (hook["escalate_after"], hook["escalate_min_severity"]) == (300, "high")
    assert hook["conditions"][0]["value"] == "car $${x}"  # a literal ${ stays literal
    assert "enabled" not in hook  # defaults are left out
    [digest] = document["digests"]
    assert digest["target"] == "https://u:***@93.184.215.14/d"
    assert digest["schedule"]["every_seconds"] == 3600 and digest["filter"]["modes"] == ["away"]


def test_apply_changes_the_digests_and_keeps_their_secret(site, runner, tmp_path):
    document = yaml.safe_load(_export(runner))
    document["digests"][0]["schedule"] = {"every_seconds": 600}
    document["digests"].append({"name": "morning", "channel": "email",
                                "target": "me@example.com", "schedule": {"at": "08:00"}})
    result, _ = _apply(runner, tmp_path, yaml.safe_dump(document))
    assert result.exit_code == 0, result.output
    with site.app_context():
        from alerting.services import digests
        from alerting.services.notification_targets import unseal

        hourly, morning = digests.configured()
        assert hourly["schedule"]["every_seconds"] == 600
        assert unseal(hourly["target"], hourly["target_sealed"]) \
            == "https://u:pa55@93.184.215.14/d"
        assert morning["schedule"]["days"] == ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "digests_update")) == 2  # the fixture's, and this one


def test_the_allow_list_is_exported_and_applied(site, runner, tmp_path):
    document = yaml.safe_load(_export(runner))
    assert document["notification_settings"]["webhook_allow_cidrs"] == []
    document["notification_settings"]["webhook_allow_cidrs"] = ["192.168.1.10"]
    result, _ = _apply(runner, tmp_path, yaml.safe_dump(document))
    assert result.exit_code == 0, result.output
    assert "webhook_allow_cidrs" in result.output
    with site.app_context():
        row = db.session.get(NotificationSettings, 1)
        assert row.webhook_allow_cidrs == ["192.168.1.10/32"]
    document["notification_settings"]["webhook_allow_cidrs"] = ["192.168.1.10/99"]
    result, _ = _apply(runner, tmp_path, yaml.safe_dump(document))
    assert result.exit_code != 0 and "webhook_allow_cidrs.0" in result.output


def test_export_then_apply_changes_nothing(site, runner, tmp_path):
    before = _state(site)
    text = _export(runner)
    result, _ = _apply(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output and "Nothing to apply." in result.output
    assert _state(site) == before  # not a row touched, no audit entry
    assert _export(runner) == text
    with site.app_context():
        row = db.session.get(NotificationSettings, 1)
        assert secrets_box.decrypt(row.smtp_password_encrypted) == "hunter2-secret"


def test_apply_prints_the_diff_field_by_field_and_audits(site, runner, tmp_path, monkeypatch):
    document = yaml.safe_load(_export(runner))
    spec = document["rules"][0]
    spec["cooldown_seconds"] = 900
    spec["severity"] = "high"
    document["rules"].append({"name": "Cars in the drive", "severity": "low",
                              "object_types": ["car"]})
    document["notification_settings"]["smtp_port"] = 587
    document["notification_settings"]["smtp_password"] = "${NEW_PASSWORD}"
    result, _ = _apply(runner, tmp_path, yaml.safe_dump(document, sort_keys=False))
    assert result.exit_code == 1 and "NEW_PASSWORD is not set" in result.output
    monkeypatch.setenv("NEW_PASSWORD", "n3w-password")
    result, _ = _apply(runner, tmp_path, yaml.safe_dump(document, sort_keys=False))
    assert result.exit_code == 0, result.output
    out = result.output
    assert '~ update "Critical Person Detection"' in out
    assert "severity: \"critical\" -> \"high\"" in out and "cooldown_seconds: 600 -> 900" in out
    assert '+ create "Cars in the drive"' in out and 'object_types: ["car"]' in out
    assert "smtp_port: 2525 -> 587" in out and "smtp_password: (secret) changed" in out
    assert "n3w-password" not in out and "Applied 3 change(s)." in out
    with site.app_context():
        created = db.session.scalar(select(AlertRule).where(AlertRule.name == "Cars in the drive"))
        assert created.id == stable_id("Cars in the drive")
        assert db.session.get(AlertRule, created.id).cooldown_seconds == 300
        actions = [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions[-4:] == ["rule_update", "rule_create", "notification_config_update",
                                "config_apply"]
        row = db.session.get(NotificationSettings, 1)
        assert secrets_box.decrypt(row.smtp_password_encrypted) == "n3w-password"



def test_urls_holding_secrets_are_shown_redacted_in_the_diff_and_the_audit(site, client,
                                                                          admin_headers,
                                                                          runner, tmp_path):
    """A webhook password or a push token written into the file (a rule's targets and
    escalation targets, the default webhook, a digest's target) is stored, but the diff
    (printed, and the API's answer) and the config_apply audit entry show it as `***`."""
    document = yaml.safe_load(_export(runner))
    document["rules"].append({
        "name": "Secret hook", "severity": "low", "channels": ["webhook", "push"],
        "targets": {"webhook_url": "https://u:hookpw123@93.184.215.14/h",
                    "push_urls": ["ntfy://tok999tok@93.184.215.14/t"]},
        "escalate_after": 60,
        "escalation_targets": {"webhook_url": "https://u:escpw789@93.184.215.14/e"}})
    document["notification_settings"]["default_webhook_url"] = \
        "https://u:defpw456@93.184.215.14/d"
    document["digests"].append({"name": "pushy", "channel": "push",
                                "target": "ntfy://digtok321@93.184.215.14/topic",
                                "schedule": {"every_seconds": 3600}})
    secrets = ("hookpw123", "tok999tok", "escpw789", "defpw456", "digtok321")
    text = yaml.safe_dump(document, sort_keys=False)
    dry = client.post("/api/config/apply?dry_run=1", data=text,
                      headers={**admin_headers, "Content-Type": "application/yaml"})
    assert dry.status_code == 200, dry.json
    assert not [s for s in secrets if s in dry.get_data(as_text=True)]
    result, _ = _apply(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert not [s for s in secrets if s in result.output], result.output
    assert "https://u:***@93.184.215.14/h" in result.output
    with site.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "config_apply")
                                   ).one()
        assert not [s for s in secrets if s in repr(entry.details)], entry.details
        hook = db.session.scalar(select(AlertRule).where(AlertRule.name == "Secret hook"))
        from alerting.services.notification_targets import unseal

        assert unseal(hook.targets["webhook_url"], hook.targets_sealed["webhook_url"]) \
            == "https://u:hookpw123@93.184.215.14/h"

BROKEN = """\
version: 1
rules:
  - name: Fine
    severity: high
  - name: Broken
    severity: loud
    schedule:
      days: [mon]
      start_time: 25:00
"""


def test_a_broken_file_changes_nothing_and_names_file_line_and_field(site, runner, tmp_path):
    before = _state(site)
    result, path = _apply(runner, tmp_path, BROKEN)
    assert result.exit_code == 1
    assert f"{path}:6: rules.1.severity: must be one of critical, high, medium, low" \
        in result.output
    assert f"{path}:9: rules.1.schedule.start_time:" in result.output
    assert "nothing was changed" in result.output
    assert _state(site) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  - name: a\n    severity: high\n  - name: a\n    severity: low\n",
     ":4: rules.1.name: is the name of rules.0 too"),
    ("rules:\n  - name: a\n    name: b\n", ":3: rules.0.name: is given twice"),
    ("rules:\n  - name: a\n    severity: [unclosed\n", ":4: body: is not valid YAML"),
    ("notification_settings:\n  smtp_password: ${NOT_SET_ANYWHERE}\n",
     ":2: notification_settings.smtp_password: the environment variable NOT_SET_ANYWHERE"),
    ("rules:\n  - name: a\n    severity: high\n    colour: red\n",
     ":4: rules.0.colour:"),
    ("version: 2\n", ":1: version:"),
    ("rules:\n  - name: !!float y\n", ":2: rules.0.name: cannot be read"),
    ("rules:\n  - !custom {name: a}\n  - name: !nope b\n", ":3: rules.1.name: cannot be read"),
    ("rules: " + "[" * 5000 + "]" * 5000 + "\n", ": body: is nested too deeply"),
    ("rules:\n  - name: a\n\tseverity: high\n",
     ":3: body: is not valid YAML: a tab at column 1: indent and separate with spaces"),
    ("notification_settings:\n  smtp_port:\t587\n",
     ":2: body: is not valid YAML: a tab at column 13"),
])
def test_broken_files_name_the_line(site, runner, tmp_path, text, expected):
    before = _state(site)
    result, path = _apply(runner, tmp_path, text)
    assert result.exit_code == 1 and path + expected in result.output, result.output
    assert _state(site) == before


def test_an_error_while_applying_rolls_back_every_change(site, runner, tmp_path):
    """A value only the service refuses (a webhook timeout too long for the lease), after a
    rule was already created in the transaction: nothing stays."""
    document = yaml.safe_load(_export(runner))
    document["rules"].append({"name": "New one", "severity": "low"})
    document["notification_settings"]["webhook_timeout_seconds"] = 100
    before = _state(site)
    result, path = _apply(runner, tmp_path, yaml.safe_dump(document, sort_keys=False))
    assert result.exit_code == 1
    assert "notification_settings.webhook_timeout_seconds" in result.output
    assert _state(site) == before



def test_a_dry_run_finds_what_only_applying_would_refuse(site, client, admin_headers,
                                                         runner, tmp_path):
    """A dry run says what Apply would refuse, not only what the schemas do: a webhook to a
    private address the outgoing policy refuses, a webhook timeout too long for the lease.
    It still changes nothing, and a file it passes applies."""
    document = yaml.safe_load(_export(runner))
    document["rules"].append({"name": "Home Assistant", "severity": "low",
                              "channels": ["webhook"],
                              "targets": {"webhook_url": "http://10.1.2.3:8123/api/webhook/x"}})
    document["notification_settings"]["webhook_timeout_seconds"] = 100
    text = yaml.safe_dump(document, sort_keys=False)
    before = _state(site)
    result, path = _apply(runner, tmp_path, text, "--dry-run")
    assert result.exit_code == 1, result.output
    assert re.search(rf"{re.escape(path)}:\d+: rules\.\d+\.targets\.webhook_url: refused",
                     result.output), result.output
    assert "Dry run: nothing was changed." not in result.output
    assert _state(site) == before
    over_api = client.post("/api/config/apply?dry_run=1", data=text, headers={
        **admin_headers, "Content-Type": "application/yaml"})
    assert over_api.status_code == 422, over_api.json
    assert any(f.endswith("targets.webhook_url") for f in over_api.json["fields"])
    document["rules"][-1]["targets"]["webhook_url"] = "https://93.184.215.14/hook"
    document["notification_settings"]["webhook_timeout_seconds"] = 30
    fine = yaml.safe_dump(document, sort_keys=False)
    result, _ = _apply(runner, tmp_path, fine, "--dry-run")
    assert result.exit_code == 0 and "Dry run: nothing was changed." in result.output
    assert _state(site) == before
    result, _ = _apply(runner, tmp_path, fine)
    assert result.exit_code == 0 and "Applied" in result.output, result.output

def test_prune_deletes_the_rules_not_in_the_file(site, runner, tmp_path):
    document = yaml.safe_load(_export(runner))
    document["rules"] = [r for r in document["rules"] if r["name"] != "Night hook"]
    text = yaml.safe_dump(document, sort_keys=False)
    kept, _ = _apply(runner, tmp_path, text)
    assert kept.exit_code == 0
    assert '= keep "Night hook" (not in the file; --prune deletes it)' in kept.output
    with site.app_context():
        assert db.session.scalar(select(func.count()).select_from(AlertRule)) == 2
    pruned, _ = _apply(runner, tmp_path, text, "--prune")
    assert pruned.exit_code == 0 and '- delete "Night hook"' in pruned.output
    with site.app_context():
        names = db.session.scalars(select(AlertRule.name)).all()
        assert names == ["Critical Person Detection"]


def test_dry_run_replays_new_and_changed_rules_and_changes_nothing(site, client,
                                                                  admin_headers, runner,
                                                                  tmp_path):
    now = utcnow().replace(microsecond=0)
    for i, hours in enumerate((1, 2, 30, 200)):  # 200 h ago: outside the 7 days
        post_event(client, admin_headers, camera_id="drive", source="t", external_id=str(i),
                   started_at=(now - timedelta(hours=hours)).isoformat(),
                   detections=[{"object_type": "car", "confidence": 0.9}])
    document = yaml.safe_load(_export(runner))
    document["rules"].append({"name": "Cars", "severity": "low", "object_types": ["car"],
                              "cooldown_seconds": 0})
    before = _state(site)
    result, _ = _apply(runner, tmp_path, yaml.safe_dump(document, sort_keys=False),
                       "--dry-run")
    assert result.exit_code == 0, result.output
    assert '+ create "Cars"' in result.output
    line = next(x for x in result.output.splitlines() if x.startswith('replay "Cars"'))
    assert "over the last 7 days: 3 alerts" in line
    days = re.findall(r"(\d{4}-\d\d-\d\d): (\d+)", line)  # a count for every day
    assert len(days) in (7, 8) and sum(int(n) for _, n in days) == 3
    assert (now.date().isoformat(), "2") in days or sum(int(n) for _, n in days[-2:]) >= 2
    assert "Dry run: nothing was changed." in result.output
    assert _state(site) == before


@pytest.mark.parametrize("text", [
    # a billion laughs: each level repeats the one before ten times
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
        for i in range(8)),
    "rules: &r [*r]\n",  # an alias inside itself
])
def test_aliases_cannot_blow_up_a_small_file(site, runner, tmp_path, text):
    result, path = _apply(runner, tmp_path, text)
    assert result.exit_code == 1
    assert "too large or too deep once its aliases are expanded" in result.output


def test_rules_sharing_a_name_must_be_renamed_first(app, client, admin_headers, runner,
                                                    tmp_path):
    create_rule(client, admin_headers, name="Twice")
    create_rule(client, admin_headers, name="Twice")
    result = runner.invoke(args=["rules", "export"])
    assert result.exit_code == 1 and "rename: Twice" in result.output
    applied, _ = _apply(runner, tmp_path, "rules: []\n")
    assert applied.exit_code == 1 and "rename: Twice" in applied.output
