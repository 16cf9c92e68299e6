"""The rule form's helpers: presets, the live summary, dedup presets with a key preview,
cooldown units, schedule times that cannot be cleared silently, zones under their cameras,
and "duplicate rule"."""

from __future__ import annotations

import re

import pytest

from alerting.extensions import db
from alerting.models import AuditLog
from tests.support.factories import create_rule, post_event
from tests.support.pages import HX, error_beside, only_rule, rule_count, rule_form


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"[^>]*checked', html) + \
        re.findall(rf'<input[^>]*checked[^>]*name="{name}"[^>]*value="([^"]*)"', html)


def value_of(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html).group(1)


def selected(html: str, name: str) -> str:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    return re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                     select).group(0).split('"')[1]


def test_a_preset_fills_the_new_rule_form(client, token):
    html = client.get("/rules/new?preset=person-at-night").get_data(as_text=True)
    assert value_of(html, "name") == "Person at night"
    assert selected(html, "severity") == "high"
    assert "person" in checked(html, "object_types")
    assert "schedule_on" in re.search(r'<input[^>]*checked[^>]*name="schedule_on"|'
                                      r'<input[^>]*name="schedule_on"[^>]*checked', html).group(0)
    assert value_of(html, "schedule_start") == "22:00" and value_of(html, "schedule_end") == "06:00"
    assert checked(html, "dedup_preset") == ["camera_object"]
    assert "High: a person (at least 60% sure) on any camera at night" in html
    assert 'aria-current="true">Person at night</a>' in html
    # Nothing is saved by opening a preset.
    assert rule_count(client.application) == 0


def test_a_new_rule_offers_every_preset_and_an_unknown_one_is_a_blank_form(client, token):
    html = client.get("/rules/new?preset=nope").get_data(as_text=True)
    for name in ("person-at-night", "vehicle-in-driveway", "animals", "package-left"):
        assert f'href="/rules/new?preset={name}"' in html
    assert not re.search(r'name="name"[^>]*value="[^"]', html)
    assert checked(html, "dedup_preset") == ["camera"]
    assert value_of(html, "cooldown_seconds") == "5" and selected(html, "cooldown_unit") == "min"


def test_the_summary_endpoint_describes_the_form_as_typed(client, token):
    data = rule_form(token, zone_ids_other="porch", schedule_on="y", schedule_start="22:00",
                     schedule_end="06:00", schedule_timezone="Europe/London",
                     cooldown_seconds="5", cooldown_unit="min", dedup_preset="camera_object")
    response = client.post("/rules/summary", data=data, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert ("High: a person on back-door in porch at night (22:00-06:00 Europe/London), at "
            "most once every 5 min per camera and object") in html
    assert re.search(r"<code>RULE:back-door:person</code>", html)


def test_the_summary_shows_the_dedup_key_of_a_custom_template(client, token):
    data = rule_form(token, dedup_preset="custom", dedup_key_template="{camera_id}/{zone_id}",
                     cooldown_seconds="60")
    html = client.post("/rules/summary", data=data, headers=HX).get_data(as_text=True)
    assert "<code>back-door/driveway</code>" in html and "per camera and zone" in html


@pytest.mark.parametrize(("preset", "typed", "stored"), [
    ("camera", "{camera_id}:{hour}", "{rule_id}:{camera_id}"),
    ("camera_object", "", "{rule_id}:{camera_id}:{object_type}"),
    ("zone", "", "{rule_id}:{camera_id}:{zone_id}"),
    ("custom", "{camera_id}:{hour}", "{camera_id}:{hour}"),
])
def test_dedup_presets_save_their_template(app, client, token, preset, typed, stored):
    client.post("/rules/new", data=rule_form(token, dedup_preset=preset,
                                             dedup_key_template=typed))
    assert only_rule(app)["dedup_key_template"] == stored


@pytest.mark.parametrize(("value", "unit", "seconds"), [("90", "s", 90), ("5", "min", 300),
                                                        ("2", "h", 7200), ("1.5", "min", 90)])
def test_cooldown_units(app, client, token, value, unit, seconds):
    client.post("/rules/new", data=rule_form(token, cooldown_seconds=value, cooldown_unit=unit))
    assert only_rule(app)["cooldown_seconds"] == seconds


def test_edit_shows_the_cooldown_in_its_unit_and_the_dedup_preset(client, token, headers):
    rule = create_rule(client, headers, cooldown_seconds=7200,
                       dedup_key_template="{rule_id}:{camera_id}:{zone_id}")
    html = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    assert value_of(html, "cooldown_seconds") == "2" and selected(html, "cooldown_unit") == "h"
    assert checked(html, "dedup_preset") == ["zone"]


@pytest.mark.parametrize(("field", "label"), [("schedule_end", "Until"),
                                              ("schedule_start", "From")])
def test_a_cleared_schedule_time_is_an_error_not_midnight(app, client, token, field, label):
    data = rule_form(token, schedule_on="y", schedule_start="22:00", schedule_end="06:00")
    data[field] = ""
    response = client.post("/rules/new", data=data, headers=HX)
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), field).startswith(f"{label} is empty")
    assert rule_count(app) == 0


def test_the_timezone_placeholder_and_the_plain_words_for_equal_times(app, client, token):
    app.config["TIMEZONE"] = "Europe/Paris"
    html = client.get("/rules/new").get_data(as_text=True)
    assert 'placeholder="Europe/Paris (the default)"' in html
    assert "From equal to\n      Until: the whole day" in html


def test_zones_are_grouped_under_their_cameras(client, token, headers):
    post_event(client, headers, camera_id="garage",
               detections=[{"object_type": "car", "zone_ids": ["drive", "street"]}])
    post_event(client, headers, camera_id="back-door",
               detections=[{"object_type": "person", "zone_ids": ["porch", "drive"]}])
    html = client.get("/rules/new").get_data(as_text=True)
    zones = re.search(r'<fieldset class="field group zones.*?</fieldset>\s*<div class="field other',
                      html, re.S).group(0)
    groups = re.findall(r'<legend>([^<]+)</legend>\s*<div class="checks">(.*?)</div>', zones, re.S)
    assert [(camera, re.findall(r'value="([^"]+)"', body)) for camera, body in groups] == [
        ("back-door", ["drive", "porch"]), ("garage", ["drive", "street"])]


def test_a_chosen_zone_not_seen_lately_is_under_other_zones(client, token, headers):
    rule = create_rule(client, headers, zone_ids=["attic"])
    html = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    assert re.search(r"<legend>Other zones</legend>\s*<div class=\"checks\">\s*<label "
                     r'class="check"><input type="checkbox" name="zone_ids" value="attic"', html)
    assert checked(html, "zone_ids") == ["attic"]


def test_duplicate_from_the_rule_page(app, client, token, headers):
    rule = create_rule(client, headers, name="Porch")
    html = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    assert f'action="/rules/{rule["id"]}/duplicate"' in html
    response = client.post(f"/rules/{rule['id']}/duplicate", data={"csrf_token": token})
    assert response.status_code == 303
    copy_id = response.headers["Location"].split("/")[-2]
    assert copy_id != rule["id"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert value_of(page, "name") == "Porch (copy)" and "Porch (copy)” created, disabled" in page
    with app.app_context():
        entry = db.session.query(AuditLog).filter_by(action="rule_create",
                                                     target_id=copy_id).one()
        assert entry.details["duplicate_of"] == rule["id"]
