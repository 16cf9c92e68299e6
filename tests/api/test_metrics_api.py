"""GET /metrics: who may read it, and its samples moving as events, alerts and delivery
failures happen (SQLite and PostgreSQL)."""

import time

import pytest
from pytest_httpserver import HTTPServer  # noqa: F401  (the httpserver fixture)
from werkzeug import Response

from tests.support.app import make_app, make_key
from tests.support.factories import (
    configure,
    create_rule,
    post_event,
    run_dispatcher,
    run_matcher,
)
from tests.support.metrics import samples, scrape, value


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], RETRY_SCHEDULE=[0.01])


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


@pytest.mark.parametrize(("scope", "status"), [
    (None, 401), ("read", 403), ("ingest", 403), ("metrics", 200), ("admin", 200)])
def test_a_metrics_or_admin_key_may_read_it(app, scope, status):
    sent = {"Authorization": f"Bearer {make_key(app, scope)}"} if scope else {}
    response = app.test_client().get("/metrics", headers=sent)
    assert response.status_code == status
    if status == 200:
        assert response.content_type.startswith("text/plain")
        assert "alerting_events_unprocessed" in response.text
    else:
        assert response.json["error"] in ("unauthorized", "forbidden")


def test_a_metrics_key_may_read_nothing_else(app):
    key = {"x-access-token": make_key(app, "metrics")}
    assert app.test_client().get("/api/events", headers=key).status_code == 403


@pytest.mark.parametrize(("cidrs", "peer", "status"), [
    (["127.0.0.0/8"], "127.0.0.1", 200), (["10.0.0.0/8", "::1/128"], "127.0.0.1", 401),
    ([], "127.0.0.1", 401),
    # A server listening on [::] sees an IPv4 Prometheus as ::ffff:a.b.c.d: still that host.
    (["10.0.0.0/8"], "::ffff:10.1.2.3", 200), (["10.0.0.0/8"], "::ffff:192.168.1.2", 401),
    (["::ffff:10.0.0.0/104"], "::ffff:10.1.2.3", 200), (["fd00::/8"], "fd00::7", 200),
    (["fd00::/8"], "fe80::1%eth0", 401)])
def test_an_allowed_address_needs_no_key(tmp_path, cidrs, peer, status):
    app = make_app(tmp_path, METRICS_ALLOW_CIDRS=cidrs)
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == status


def test_with_authentication_off_it_is_open(tmp_path):
    app = make_app(tmp_path, AUTH=False)
    assert app.test_client().get("/metrics").status_code == 200


def test_events_alerts_and_lag_move(app, headers):
    client = app.test_client()
    rule = create_rule(client, headers, severity="critical")
    before = scrape(client, **headers)
    for i in range(3):
        post_event(client, headers, source="metrics-test", external_id=f"m-{i}")
    stored = scrape(client, **headers)
    assert value(stored, "alerting_events_ingested_total", source="metrics-test") - \
        value(before, "alerting_events_ingested_total", source="metrics-test") == 3
    assert value(stored, "alerting_events_unprocessed") == 3
    assert value(stored, "alerting_events_oldest_unprocessed_age_seconds") >= 0
    run_matcher(app)
    matched = scrape(client, **headers)
    assert value(matched, "alerting_alerts_total", severity="critical", rule_id=rule["id"]) - \
        value(before, "alerting_alerts_total", severity="critical", rule_id=rule["id"]) == 3
    assert value(matched, "alerting_matching_lag_seconds_count") - \
        value(before, "alerting_matching_lag_seconds_count") == 3
    assert value(matched, "alerting_events_unprocessed") == 0


def test_delivery_failures_retries_and_dead_letters_move(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_handler(lambda r: Response("no", 500))
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    client = app.test_client()
    create_rule(client, headers, channels=["webhook"])
    post_event(client, headers)
    run_matcher(app)
    before = scrape(client, **headers)
    assert value(before, "alerting_outbox_depth", status="pending") == 1
    run_dispatcher(app)  # the first try fails
    time.sleep(0.05)
    run_dispatcher(app)  # the one retry fails too: dead
    after = samples(client.get("/metrics", headers=headers).text)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("alerting_deliveries_total", channel="webhook", outcome="retry") == 1
    assert delta("alerting_deliveries_total", channel="webhook", outcome="dead") == 1
    assert delta("alerting_dead_letters_total", channel="webhook") == 1
    assert delta("alerting_delivery_duration_seconds_count", channel="webhook") == 2
    assert delta("alerting_delivery_attempts_sum", channel="webhook") == 2
    assert value(after, "alerting_dead_letters") == 1
    assert value(after, "alerting_outbox_depth", status="pending") == 0
    assert value(after, "alerting_outbox_oldest_due_age_seconds") == 0


def test_a_delivered_alert_counts_its_latency(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    client = app.test_client()
    create_rule(client, headers, channels=["webhook"])
    post_event(client, headers)
    run_matcher(app)
    before = scrape(client, **headers)
    run_dispatcher(app)
    after = scrape(client, **headers)
    for name in ("alerting_alert_delivery_latency_seconds_count",
                 "alerting_delivery_attempts_count"):
        assert value(after, name, channel="webhook") - value(before, name, channel="webhook") == 1
    assert value(after, "alerting_deliveries_total", channel="webhook", outcome="delivered") - \
        value(before, "alerting_deliveries_total", channel="webhook", outcome="delivered") == 1
    assert value(after, "alerting_outbox_depth", status="pending") == 0


def test_a_due_delivery_ages(app, headers, httpserver):
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))  # never sent
    client = app.test_client()
    create_rule(client, headers, channels=["webhook"])
    post_event(client, headers)
    run_matcher(app)
    first = value(scrape(client, **headers), "alerting_outbox_oldest_due_age_seconds")
    time.sleep(0.05)
    later = value(scrape(client, **headers), "alerting_outbox_oldest_due_age_seconds")
    assert later > first >= 0


def test_events_matched_on_ingest_count_too(app, headers):
    from alerting.extensions import db
    from alerting.workers.matcher_loop import Matcher

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("matching on ingest is for SQLite")
    app.extensions["alerting.matcher"] = Matcher(app)  # a process that runs the matcher
    client = app.test_client()
    rule = create_rule(client, headers, severity="medium")
    before = scrape(client, **headers)
    post_event(client, headers, source="on-ingest")  # matched in the transaction storing it
    after = scrape(client, **headers)
    assert value(after, "alerting_events_unprocessed") == 0
    assert value(after, "alerting_alerts_total", severity="medium", rule_id=rule["id"]) - \
        value(before, "alerting_alerts_total", severity="medium", rule_id=rule["id"]) == 1
    assert value(after, "alerting_matching_lag_seconds_count") - \
        value(before, "alerting_matching_lag_seconds_count") == 1
