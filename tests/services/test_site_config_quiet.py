"""Rules as code for silences, mute timings, the arming modes and the mode schedule: a round
trip changes nothing; a file defining a mute timing and a mode and the rule naming them
applies in one go; broken entries name file, line and field; prune and ended silences."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from alerting.engine.timeparse import isoformat_z
from alerting.extensions import db
from alerting.models import (
    AlertRule,
    AuditLog,
    Mode,
    ModeSettings,
    MuteTiming,
    Silence,
    utcnow,
)
from alerting.services.site_config.silences import derived_id
from tests.support.factories import create_rule, post_event

LUNCH = {"name": "lunch", "intervals": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                         "start_time": "12:00", "end_time": "13:30"}],
         "timezone": "Europe/Paris"}
XMAS = {"name": "christmas", "intervals": [{"start_time": "00:00", "end_time": "00:00"}],
        "date_ranges": [{"start": "2026-12-24", "end": "2026-12-26"}]}


def _iso(delta: timedelta) -> str:
    return isoformat_z(utcnow().replace(microsecond=0) + delta)


@pytest.fixture
def quiet_site(app, client, admin_headers):
    """Two mute timings, a mode added, a mode schedule, a rule naming a mute timing and
    modes, an active, a pending and an expired silence."""
    for body in (LUNCH, XMAS):
        assert client.post("/api/mute-timings", json=body,
                           headers=admin_headers).status_code == 201
    assert client.put("/api/modes", json={"modes": ["home", "away", "night", "party"]},
                      headers=admin_headers).status_code == 200
    assert client.put("/api/mode/schedule", headers=admin_headers, json={
        "timezone": "Europe/Paris", "windows": [
            {"mode": "night", "days": ["sun", "sat"], "start_time": "23:00",
             "end_time": "06:30"}]}).status_code == 200
    assert client.put("/api/notification/config", headers=admin_headers, json={
        "channel_mute_timings": {"email": ["christmas"]}}).status_code == 200
    create_rule(client, admin_headers, name="Garden", object_types=["person"],
                mute_timings=["lunch"], modes=["away", "night"])
    for body in ({"matchers": [{"field": "camera_id", "op": "=", "value": "drive"}],
                  "duration": 3600, "comment": "gardener"},
                 {"matchers": [{"field": "object_type", "op": "=~", "value": "cat|dog"}],
                  "starts_at": _iso(timedelta(days=1)), "ends_at": _iso(timedelta(days=2)),
                  "comment": ""}):
        assert client.post("/api/silences", json=body, headers=admin_headers).status_code == 201
    with app.app_context():
        db.session.add(Silence(matchers=[{"field": "camera_id", "op": "=", "value": "porch"}],
                               starts_at=utcnow() - timedelta(days=3),
                               ends_at=utcnow() - timedelta(days=2), comment="old",
                               created_by="test"))
        db.session.commit()
    return app


def _export(runner) -> str:
    result = runner.invoke(args=["rules", "export"])
    assert result.exit_code == 0, result.output
    return result.output


def _apply(runner, tmp_path, text: str, *options: str):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return runner.invoke(args=["rules", "apply", str(path), *options]), str(path)


def _dump(document) -> str:
    return yaml.safe_dump(document, sort_keys=False)


def _state(app):
    with app.app_context():
        def rows(model, key):
            return [(getattr(r, key), r.updated_at if hasattr(r, "updated_at") else None)
                    for r in db.session.scalars(select(model).order_by(key))]
        return (rows(MuteTiming, "name"), rows(Silence, "id"), rows(AlertRule, "id"),
                [(m.name, m.position) for m in db.session.scalars(select(Mode)
                                                                 .order_by(Mode.name))],
                db.session.get(ModeSettings, 1).schedule,
                db.session.scalar(select(func.count()).select_from(AuditLog)))


def test_export_then_apply_changes_nothing(quiet_site, runner, tmp_path):
    text = _export(runner)
    document = yaml.safe_load(text)
    assert [m["name"] for m in document["mute_timings"]] == ["christmas", "lunch"]
    assert document["modes"] == ["home", "away", "night", "party"]
    assert document["mode_schedule"]["windows"][0]["mode"] == "night"
    assert [s.get("comment") for s in document["silences"]] == ["gardener", None]
    assert "old" not in [s.get("comment") for s in document["silences"]]  # ended: history
    assert list(document)[:4] == ["version", "mute_timings", "modes", "mode_schedule"]
    assert document["notification_settings"]["channel_mute_timings"] == \
        {"email": ["christmas"]}
    before = _state(quiet_site)
    result, _ = _apply(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output
    assert _state(quiet_site) == before
    assert _export(runner) == text


def test_a_rule_naming_a_mute_timing_and_a_mode_of_the_same_file_applies_in_one_go(
        quiet_site, runner, tmp_path):
    document = yaml.safe_load(_export(runner))
    document["mute_timings"].append({"name": "school run", "intervals": [
        {"days": ["mon", "fri"], "start_time": "08:00", "end_time": "08:45"}]})
    document["mute_timings"][1]["intervals"][0]["end_time"] = "14:00"  # lunch
    document["modes"] = ["home", "holiday", "away", "night", "party"]
    document["mode_schedule"]["windows"].append(
        {"mode": "holiday", "days": ["mon"], "start_time": "09:00", "end_time": "17:00"})
    document["rules"].append({"name": "Drive", "severity": "low",
                              "mute_timings": ["school run", "lunch"], "modes": ["holiday"]})
    document["silences"].append({"matchers": [{"field": "camera_id", "op": "=",
                                               "value": "gate"}],
                                 "ends_at": _iso(timedelta(hours=5)), "comment": "painting"})
    document["silences"][0]["ends_at"] = _iso(timedelta(hours=3))  # the gardener: extended
    result, _ = _apply(runner, tmp_path, _dump(document))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("mute_timings:") < out.index("modes:") < out.index("rules:")
    assert '+ create "school run"' in out and '~ update "lunch"' in out
    assert '"end_time": "13:30"' in out and '"end_time": "14:00"' in out
    assert '+ create "holiday"' in out and "position: 1" in out
    assert '~ update' in out and 'windows: [' in out
    assert '+ create "Drive"' in out and 'mute_timings: ["school run", "lunch"]' in out
    assert '+ create "painting"' in out and '~ update "gardener"' in out
    assert "ends_at: " in out and "Applied 7 change(s)." in out
    with quiet_site.app_context():
        rule = db.session.scalar(select(AlertRule).where(AlertRule.name == "Drive"))
        assert rule.mute_timings == ["school run", "lunch"] and rule.modes == ["holiday"]
        painting = db.session.scalar(select(Silence).where(Silence.comment == "painting"))
        assert painting.id == derived_id(painting.matchers, "painting")
        assert painting.created_by.startswith("cli")
        actions = [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions[-8:] == ["mute_timing_update", "mute_timing_create", "modes_update",
                                "mode_schedule_update", "rule_create", "silence_update",
                                "silence_create", "config_apply"]
    again, _ = _apply(runner, tmp_path, _dump(document))  # the same file: nothing to do
    assert again.exit_code == 0 and "No changes." in again.output, again.output


BROKEN = """\
version: 1
mute_timings:
  - name: fine
    intervals: [{start_time: "08:00", end_time: "09:00"}]
  - name: broken
    intervals:
      - days: [mon, someday]
        start_time: "08:00"
silences:
  - matchers:
      - {field: camera_id, op: "=~", value: "(unclosed"}
    duration: 600
  - matchers: [{field: camera_id, op: "=", value: gate}]
    starts_at: "2030-01-02T00:00:00Z"
    ends_at: "2030-01-01T00:00:00Z"
"""


def test_a_broken_silence_or_mute_timing_changes_nothing_and_names_file_line_and_field(
        quiet_site, runner, tmp_path):
    before = _state(quiet_site)
    result, path = _apply(runner, tmp_path, BROKEN)
    assert result.exit_code == 1
    assert f"{path}:7: mute_timings.1.intervals.0.days.1:" in result.output, result.output
    assert f"{path}:11: silences.0.matchers.0.value:" in result.output
    assert "nothing was changed" in result.output
    assert _state(quiet_site) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("silences:\n  - matchers: [{field: camera_id, op: '=', value: gate}]\n"
     "    starts_at: '2030-01-02T00:00:00Z'\n    ends_at: '2030-01-01T00:00:00Z'\n",
     ":4: silences.0.ends_at: must be after starts_at"),
    ("silences:\n  - comment: everything\n    duration: 600\n",
     ":2: silences.0.matchers: a silence without matchers silences every alert"),
    ("silences:\n  - matchers: [{field: camera_id, op: '=', value: gate}]\n",
     ":2: silences.0.ends_at: is required"),
    ("rules:\n  - name: a\n    severity: low\n    mute_timings: [nowhere]\n",
     ":4: rules.0.mute_timings.0: unknown mute timing 'nowhere'"),
    ("rules:\n  - name: a\n    severity: low\n    modes: [party, nowhere]\n",
     ":4: rules.0.modes.1: unknown mode 'nowhere'"),
    ("modes: [home, away]\nmode_schedule:\n  windows:\n    - mode: party\n"
     "      start_time: '22:00'\n      end_time: '06:00'\n",
     ":4: mode_schedule.windows.0.mode: unknown mode 'party'"),
    ("mute_timings:\n  - name: x\n    intervals: [{}]\n  - name: x\n    intervals: [{}]\n",
     ":4: mute_timings.1.name: is the name of mute_timings.0 too"),
    ("notification_settings:\n  channel_mute_timings:\n    push: [lunch, nowhere]\n",
     ":3: notification_settings.channel_mute_timings.push.1: unknown mute timing 'nowhere'"),
    ("mute_timings:\n  - name: lunch\n    intervals: [{}]\n",
     ":1: mute_timings.christmas: Mute timing 'christmas' is in use (channels: email)"),
    ("modes: []\n", ":1: modes:"),
    ("modes: [home]\n", ":1: modes.away: must keep 'away': rule 'Garden' uses it"),
])
def test_broken_entries_name_the_line(quiet_site, runner, tmp_path, text, expected):
    before = _state(quiet_site)
    result, path = _apply(runner, tmp_path, text, "--prune")
    assert result.exit_code == 1 and path + expected in result.output, result.output
    assert _state(quiet_site) == before


def test_prune_expires_silences_and_deletes_after_the_rules_changed(quiet_site, runner,
                                                                    tmp_path):
    document = yaml.safe_load(_export(runner))
    gardener = document["silences"][0]
    document["silences"] = [gardener]
    document["mute_timings"] = [m for m in document["mute_timings"] if m["name"] != "lunch"]
    document["modes"] = ["home", "away", "night"]  # party goes
    document["rules"][0].pop("mute_timings")  # the rule stops naming lunch in the same file
    text = _dump(document)
    kept, _ = _apply(runner, tmp_path, text)
    assert kept.exit_code == 0, kept.output
    assert '= keep "lunch" (not in the file; --prune deletes it)' in kept.output
    assert '= keep "party"' in kept.output and '= keep "object_type=~cat|dog"' in kept.output
    pruned, _ = _apply(runner, tmp_path, text, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert '- delete "lunch"' in pruned.output and '- delete "party"' in pruned.output
    assert '- delete "object_type=~cat|dog"' in pruned.output
    with quiet_site.app_context():
        assert db.session.get(MuteTiming, "lunch") is None
        assert db.session.scalars(select(Mode.name).order_by(Mode.position)).all() == \
            ["home", "away", "night"]
        pending = db.session.scalar(select(Silence).where(Silence.comment == ""))
        assert pending is not None and pending.ends_at <= utcnow()  # expired, kept
        assert db.session.scalar(select(func.count()).select_from(Silence)) == 3
    again = _export(runner)
    assert yaml.safe_load(again)["silences"] == [gardener]


def test_a_mute_timing_a_rule_still_names_is_not_pruned(quiet_site, runner, tmp_path):
    document = yaml.safe_load(_export(runner))
    document["mute_timings"] = [m for m in document["mute_timings"] if m["name"] != "lunch"]
    before = _state(quiet_site)
    result, path = _apply(runner, tmp_path, _dump(document), "--prune")
    assert result.exit_code == 1
    assert "rules.0.mute_timings.0: unknown mute timing 'lunch'" in result.output
    assert _state(quiet_site) == before


def test_ended_entries_are_skipped_and_ended_ids_refused(quiet_site, runner, tmp_path):
    with quiet_site.app_context():
        old = db.session.scalar(select(Silence).where(Silence.comment == "old")).id
    document = yaml.safe_load(_export(runner))
    document["silences"].append({"matchers": [{"field": "camera_id", "op": "=",
                                               "value": "shed"}],
                                 "starts_at": _iso(-timedelta(hours=5)),
                                 "ends_at": _iso(-timedelta(hours=1)), "comment": "done"})
    result, _ = _apply(runner, tmp_path, _dump(document))
    assert result.exit_code == 0 and '= keep "done" (ended ' in result.output, result.output
    assert "No changes." in result.output
    document["silences"][-1] = {"id": old, "matchers": [], "confirm_all": True,
                                "duration": 600}
    refused, path = _apply(runner, tmp_path, _dump(document))
    assert refused.exit_code == 1
    assert "silences.2.id: is a silence that has ended" in refused.output


def test_dry_run_changes_nothing(quiet_site, runner, tmp_path):
    document = yaml.safe_load(_export(runner))
    document["mute_timings"].append({"name": "new", "intervals": [{}]})
    document["silences"][0]["comment"] = "gardener and helper"
    before = _state(quiet_site)
    result, _ = _apply(runner, tmp_path, _dump(document), "--dry-run")
    assert result.exit_code == 0, result.output
    assert '+ create "new"' in result.output and "Dry run: nothing was changed." in result.output
    assert _state(quiet_site) == before


def test_the_dry_run_replay_counts_what_silences_and_mute_timings_quieted(
        quiet_site, client, admin_headers, runner, tmp_path):
    """A silence of the drive since an hour ago covers the newest event; the rule's mute
    timing (Christmas) covers none of them."""
    now = utcnow().replace(microsecond=0)
    assert client.post("/api/silences", headers=admin_headers, json={
        "matchers": [{"field": "camera_id", "op": "=", "value": "drive"}],
        "starts_at": isoformat_z(now - timedelta(hours=1)), "duration": 7200,
        "comment": "resurfacing"}).status_code == 201
    for i, minutes in enumerate((10, 60 * 30, 60 * 50)):
        post_event(client, admin_headers, camera_id="drive", source="t", external_id=str(i),
                   started_at=(now - timedelta(minutes=minutes)).isoformat(),
                   detections=[{"object_type": "car", "confidence": 0.9}])
    document = yaml.safe_load(_export(runner))
    document["rules"].append({"name": "Cars", "severity": "low", "object_types": ["car"],
                              "cooldown_seconds": 0, "mute_timings": ["christmas"]})
    result, _ = _apply(runner, tmp_path, _dump(document), "--dry-run")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith('replay "Cars"'))
    assert "over the last 7 days: 2 alerts, 1 silenced (" in line
