"""The rule form's "How noisy would this be?": the form's rule, not saved, replayed over the
last 7 days; the counts in the page for the chart to draw; errors beside their fields."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from alerting.engine.vocabulary import DAYS
from alerting.extensions import db
from alerting.models import AlertRule, utcnow
from tests.support.factories import post_event
from tests.support.web import csrf_token, login

HX = {"HX-Request": "true"}


def _form(token: str, **fields) -> dict:
    data = {"csrf_token": token, "name": "Person at the back door", "severity": "high",
            "enabled": "y", "object_types_other": "person", "camera_ids_other": "back-door",
            "cooldown_seconds": "0", "schedule_days": list(DAYS), "schedule_start": "00:00",
            "schedule_end": "00:00", "conditions-0-field": "", "conditions-0-op": "eq",
            "conditions-0-value": "", "action": "backtest"}
    data.update(fields)
    return data


def test_noise_is_shown_and_nothing_is_saved(app, client, admin_headers):
    now = utcnow().replace(microsecond=0)
    for i, hours in enumerate((1, 2, 3, 50, 300)):  # 300 h ago: older than 7 days
        post_event(client, admin_headers, source="t", external_id=str(i),
                   started_at=(now - timedelta(hours=hours)).isoformat())
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    response = client.post("/rules/new", data=_form(token), headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="rule-form"' in html and "<html" not in html  # the form fragment, swapped
    assert "<strong>4</strong> alerts" in html and "4 events replayed" in html
    series = re.search(r"data-chart=\"per-day\"[^>]*data-series='([^']*)'", html).group(1)
    days = json.loads(series.replace("&#39;", "'"))
    assert len(days) in (7, 8) and sum(d["alerts"] for d in days) == 4
    hours = json.loads(re.search(r"data-chart=\"hour-of-week\"[^>]*data-series='([^']*)'",
                                 html).group(1))
    assert set(hours) == set(DAYS) and sum(map(sum, hours.values())) == 4
    assert 'value="Person at the back door"' in html  # the form keeps what was typed
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0


def test_what_follows_an_object_over_time_is_said_to_be_left_out(app, client, admin_headers):
    now = utcnow().replace(microsecond=0)
    post_event(client, admin_headers, started_at=(now - timedelta(hours=1)).isoformat())
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    html = client.post("/rules/new", data=_form(token, min_dwell_seconds="30"),
                       headers=HX).get_data(as_text=True)
    assert "At most <strong>1</strong> alert" in html
    assert re.search(r"\(dwell\) is not replayed", html)
    plain = client.post("/rules/new", data=_form(token), headers=HX).get_data(as_text=True)
    assert "At most" not in plain and "not replayed" not in plain


def test_an_invalid_rule_shows_errors_not_noise(app, client):
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    response = client.post("/rules/new", data=_form(token, name="", cooldown_seconds="-1"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="noise"' not in html and 'aria-invalid="true"' in html


def test_the_form_page_loads_the_chart_library_from_this_server(client):
    login(client)
    html = client.get("/rules/new").get_data(as_text=True)
    assert '<script src="/static/vendor/uPlot.iife.min.js" defer>' in html
    assert '<script src="/static/js/noise_chart.js" defer>' in html
    response = client.get("/static/vendor/uPlot.iife.min.js")
    assert response.status_code == 200
    response.close()
