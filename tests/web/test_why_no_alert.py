"""The event page's "Why no alert?": each enabled rule's verdict, required against actual
values, the stored alert whose cooldown suppressed it, the schedule; a link to the rule test."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from alerting.extensions import db
from alerting.models import Alert
from tests.support.factories import create_rule, post_event, run_matcher
from tests.support.web import login


def _section(page: str, rule_id: str) -> str:
    return re.search(rf'<li class="verdict-rule" id="why-{rule_id}">(.*?)</li>', page,
                     re.S).group(1)


def test_cooldown_names_the_stored_alert_and_its_end(app, client, admin_headers):
    rule = create_rule(client, admin_headers, name="Porch", cooldown_seconds=600)
    post_event(client, admin_headers, started_at="2026-01-15T03:02:00Z")
    later = post_event(client, admin_headers, started_at="2026-01-15T03:05:00Z")
    run_matcher(app)
    with app.app_context():
        [alert] = db.session.query(Alert).all()
    login(client)
    page = client.get(f"/events/{later['id']}").get_data(as_text=True)
    assert "Why no alert?" in page
    why = _section(page, rule["id"])
    assert 'suppressed until <time datetime="2026-01-15T03:12:00Z" data-exact>' in why
    assert "2026-01-15 03:12</time>" in why and f'>alert #{alert.id}</a>' in why
    assert f'/rules/{rule["id"]}/test?event_ids={later["id"]}' in why
    # The rule test opened from that link runs on that event and says the same.
    test = client.get(f'/rules/{rule["id"]}/test?event_ids={later["id"]}').get_data(as_text=True)
    assert f'>alert #{alert.id}</a>' in test and 'class="would-fire">0<' in test


def test_outside_schedule_shows_required_and_actual(app, client, admin_headers):
    rule = create_rule(client, admin_headers, name="Night", object_types=["person"],
                       min_confidence=0.8,
                       schedule={"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                 "start_time": "22:00", "end_time": "06:00",
                                 "timezone": "Europe/Paris"})
    event = post_event(client, admin_headers, started_at="2026-01-15T12:30:00Z",
                       detections=[{"object_type": "person", "confidence": 0.91,
                                    "zone_ids": ["porch"]}])
    run_matcher(app)
    login(client)
    page = client.get(f"/events/{event['id']}").get_data(as_text=True)
    why = _section(page, rule["id"])
    assert "no match: schedule" in why
    schedule = re.search(r'data-criterion="schedule">(.*?)</tr>', why, re.S).group(1)
    assert "every day 22:00-06:00 Europe/Paris" in schedule
    assert "thu 13:30 Europe/Paris" in schedule and ">no<" in schedule
    confidence = re.search(r'data-criterion="min_confidence">(.*?)</tr>', why, re.S).group(1)
    assert "≥ 80%" in confidence and "91%" in confidence and ">yes<" in confidence
    # Confidence is a percentage on the event page too.
    assert '<td data-label="Confidence">91%</td>' in page


def test_an_alert_raised_is_named_and_disabled_rules_are_left_out(app, client, admin_headers):
    rule = create_rule(client, admin_headers, name="Any")
    off = create_rule(client, admin_headers, name="Off", enabled=False)
    event = post_event(client, admin_headers)
    run_matcher(app)
    login(client)
    page = client.get(f"/events/{event['id']}").get_data(as_text=True)
    assert "Each rule’s verdict" in page and "raised <a" in _section(page, rule["id"])
    assert f'id="why-{off["id"]}"' not in page


def test_unmatched_event_has_no_verdicts_yet(client, admin_headers):
    create_rule(client, admin_headers)
    event = post_event(client, admin_headers)
    login(client)
    page = client.get(f"/events/{event['id']}").get_data(as_text=True)
    assert "the event has not been matched" in page and 'id="why"' not in page


def test_track_criteria_are_judged_on_the_events_track_with_their_rows(app, client,
                                                                      admin_headers):
    # A YOLO + ByteTrack pipeline: the same unknown person (track 7) in the gate twice.
    unknown = create_rule(client, admin_headers, name="Unknown", object_types=["person"],
                          exclude_identities=["*"], cooldown_seconds=600)
    loiter = create_rule(client, admin_headers, name="Loiter", object_types=["person"],
                         zone_ids=["gate"], min_dwell_seconds=600)
    seen = {"object_type": "person", "confidence": 0.9, "zone_ids": ["gate"], "track_id": 7}
    post_event(client, admin_headers, detections=[seen])
    second = post_event(client, admin_headers, detections=[seen])
    run_matcher(app)
    login(client)
    page = client.get(f"/events/{second['id']}").get_data(as_text=True)
    # The identity held (unknown): the cooldown of the first alert kept this one back.
    why = _section(page, unknown["id"])
    assert "no match" not in why and "suppressed until" in why
    identity = re.search(r'data-criterion="identity">(.*?)</tr>', why, re.S).group(1)
    assert "unknown" in identity and ">yes<" in identity
    # The dwell is the track's, said as the Tracks section and the rule test say it.
    why = _section(page, loiter["id"])
    assert "no match: dwell" in why
    dwell = re.search(r'data-criterion="dwell">(.*?)</tr>', why, re.S).group(1)
    assert "600 s in gate" in dwell and ">no<" in dwell
    assert re.search(r"in `gate` for [0-9.]+ s of the 600 s required", dwell)


def _criterion(why: str, name: str) -> str:
    return re.search(rf'data-criterion="{name}">(.*?)</tr>', why, re.S).group(1)


def test_zone_and_arming_mode_show_required_and_actual(app, client, admin_headers):
    """The issue's "wrong zone", and a rule for another arming mode: each criterion with what
    the rule requires, what the event had, and the mode in force when it happened."""
    rule = create_rule(client, admin_headers, name="Drive while away", zone_ids=["drive"],
                       modes=["away"])
    event = post_event(client, admin_headers)  # a person in the porch, in mode "home"
    run_matcher(app)
    login(client)
    why = _section(client.get(f"/events/{event['id']}").get_data(as_text=True), rule["id"])
    assert re.search(r"no match: (zone, mode|mode, zone)<", why), why
    zone = _criterion(why, "zone")
    assert "<td data-label=\"Required\">drive</td>" in zone
    assert "<td data-label=\"Actual\">porch</td>" in zone and ">no<" in zone
    mode = _criterion(why, "mode")
    assert "<td data-label=\"Required\">away</td>" in mode
    assert "<td data-label=\"Actual\">home</td>" in mode and ">no<" in mode


def test_a_silence_says_which_one_kept_the_alert_back(app, client, admin_headers):
    """A match under a silence: the alert raised is named with its status (silenced, never
    delivered); a rule made after the event was matched is judged as the matcher would now
    judge it, and names the silence that covers it."""
    now = datetime.now(UTC).replace(microsecond=0)
    silence = client.post("/api/silences", headers=admin_headers, json={
        "matchers": [{"field": "camera_id", "op": "=", "value": "back-door"}],
        "starts_at": (now - timedelta(minutes=5)).isoformat(), "duration": 7200,
        "comment": "painters"}).json
    matched = create_rule(client, admin_headers, name="Before")
    event = post_event(client, admin_headers, started_at=now.isoformat())
    run_matcher(app)
    later = create_rule(client, admin_headers, name="After")
    login(client)
    page = client.get(f"/events/{event['id']}").get_data(as_text=True)
    with app.app_context():
        [alert] = db.session.query(Alert).all()
    assert alert.status == "silenced"
    assert f'>alert #{alert.id}</a> (silenced)' in _section(page, matched["id"])
    assert f"silenced by silence {silence['id'][:8]}" in _section(page, later["id"])


def test_the_rules_of_other_cameras_are_folded_under_their_own_heading(app, client,
                                                                       admin_headers):
    """This camera's verdicts first; "no match: camera" for every other camera's rule would
    bury them (each is still there, folded, with its criteria)."""
    here = create_rule(client, admin_headers, name="Porch at 95%", min_confidence=0.95)
    away = create_rule(client, admin_headers, name="Garage", camera_ids=["garage"])
    event = post_event(client, admin_headers)  # on back-door
    lone = post_event(client, admin_headers, camera_id="shed")
    run_matcher(app)
    login(client)
    page = client.get(f"/events/{event['id']}").get_data(as_text=True)
    shown, folded = page.split('<details class="verdicts-elsewhere">', 1)
    assert f'id="why-{here["id"]}"' in shown and f'id="why-{away["id"]}"' not in shown
    assert "<summary>1 rule for other cameras</summary>" in folded
    assert "no match: camera" in _section(folded, away["id"])
    assert "garage" in _criterion(_section(folded, away["id"]), "camera")
    # An event no rule watches says so, above the folded ones.
    page = client.get(f"/events/{lone['id']}").get_data(as_text=True)
    assert "No enabled rule watches camera shed." in page
    assert "<summary>2 rules for other cameras</summary>" in page
