"""Notification groups through the real matcher, groups service and dispatcher against a
real webhook receiver (pytest-httpserver), times given to flush_due."""

import time
from datetime import timedelta

import pytest
from standardwebhooks import Webhook
from werkzeug import Response

from alerting.extensions import db
from alerting.models import Alert, AlertGroup, Delivery, utcnow
from alerting.services import groups
from tests.support.app import make_app, make_key
from tests.support.factories import (
    ACKNOWLEDGE_FROM,
    acknowledge_from,
    configure,
    create_rule,
    post_event,
    run_dispatcher,
    run_matcher,
)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"],
                    RETRY_SCHEDULE=[0.05, 0.05, 0.05])


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def fire(app, headers, n, cameras=("back-door",), **rule):
    client = app.test_client()
    made = create_rule(client, headers, **{"channels": ["webhook"], "camera_ids": None, **rule})
    for i in range(n):
        post_event(client, headers, external_id=f"ev-{i}", source="t",
                   camera_id=cameras[i % len(cameras)])
    run_matcher(app)
    return made


def flush(app, seconds_from_now):
    with app.app_context():
        try:
            return groups.flush_due(now=utcnow() + timedelta(seconds=seconds_from_now))
        finally:
            db.session.remove()


def bodies(httpserver, key=None):
    out = []
    for request, _response in httpserver.log:
        if key:
            out.append(Webhook(key).verify(request.get_data(), dict(request.headers)))
        else:
            out.append(request.get_json())
    return out


def test_grouped_alerts_wait_then_go_as_one_signed_webhook(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = app.test_client().post("/api/notification/webhook-secret/reveal",
                                 headers=headers).json["webhook_secret"]
    fire(app, headers, 5, group_by=["rule_id"], group_wait=60)
    with app.app_context():
        alerts = db.session.query(Alert).all()
        assert len(alerts) == 5 and len({a.group_id for a in alerts}) == 1
        assert alerts[0].group_id is not None
        assert db.session.query(Delivery).count() == 0  # nothing until the group flushes
    assert flush(app, 30) == 0  # still waiting
    assert flush(app, 61) == 1
    assert flush(app, 62) == 0  # nothing new: nothing sent
    run_dispatcher(app)
    [body] = bodies(httpserver, key)
    assert body["type"] == "alert_group"
    data = body["data"]
    assert data["status"] == "firing" and data["count"] == 5 and not data["truncated"]
    assert len(data["alerts"]) == 5 and data["group_key"] == f"rule_id={data['rule']['id']}"
    with app.app_context():
        assert {a.status for a in db.session.query(Alert)} == {"delivered"}
        assert {d.status for d in db.session.query(Delivery)} == {"delivered"}


def test_group_by_camera_splits_and_caps_the_list(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 6, cameras=("a", "b"), group_by=["camera_id"], group_wait=1,
         group_max_alerts=2)
    assert flush(app, 2) == 2
    run_dispatcher(app)
    sent = sorted((b["data"]["labels"]["camera_id"], b["data"]["count"],
                   len(b["data"]["alerts"]), b["data"]["truncated"]) for b in bodies(httpserver))
    assert sent == [("a", 3, 2, True), ("b", 3, 2, True)]


def test_worst_severity_first(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    client = app.test_client()
    for name, severity in (("low one", "low"), ("critical one", "critical")):
        create_rule(client, headers, name=name, severity=severity, channels=["webhook"],
                    group_by=["camera_id"], group_wait=1)
    post_event(client, headers, external_id="e1", source="t")
    run_matcher(app)
    assert flush(app, 2) == 2  # a group per rule
    run_dispatcher(app)
    assert sorted(b["data"]["rule"]["severity"] for b in bodies(httpserver)) == \
        ["critical", "low"]


def test_repeat_until_acknowledged_then_resolved_once(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 2, group_by=["rule_id"], group_wait=0, repeat_interval=120)
    assert flush(app, 0) == 1
    run_dispatcher(app)  # (one at a time: the order received is the order sent)
    assert flush(app, 60) == 0
    assert flush(app, 121) == 1  # the repeat
    run_dispatcher(app)
    assert [(b["data"]["kind"], b["data"]["count"]) for b in bodies(httpserver)] == [
        ("flush", 2), ("repeat", 2)]
    client = app.test_client()
    for alert_id in (1, 2):
        assert client.post(f"/api/alerts/{alert_id}/acknowledge",
                           headers=headers).status_code == 200
    assert flush(app, 121) == 1  # resolved
    assert flush(app, 1000) == 0  # and nothing more
    run_dispatcher(app)
    last = bodies(httpserver)[-1]["data"]
    assert (last["kind"], last["status"]) == ("resolved", "resolved")
    with app.app_context():
        [group] = db.session.query(AlertGroup).all()
        assert group.status == "resolved" and group.open_key is None


@pytest.mark.parametrize("where", (*ACKNOWLEDGE_FROM, "api_group", "page_group"))
def test_acknowledged_from_anywhere_the_repeats_stop_at_once(app, headers, where, httpserver):
    """Acknowledged from any place, a repeating group is resolved the moment it is looked
    at next (the groups worker is woken), not at its next repeat time, and never repeats."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 1, group_by=["rule_id"], group_wait=0, repeat_interval=3600)
    assert flush(app, 0) == 1
    run_dispatcher(app)  # (one at a time: the order received is the order sent)
    acknowledge_from(app, headers, where, 1)
    assert flush(app, 1) == 1  # now: the resolved notification
    assert flush(app, 3601) == 0  # and never a repeat
    run_dispatcher(app)
    assert [(b["data"]["kind"], b["data"]["status"]) for b in bodies(httpserver)] == [
        ("flush", "firing"), ("resolved", "resolved")]


def test_a_repeat_not_yet_sent_when_acknowledged_is_never_sent(app, headers, httpserver):
    """A repeat written but not sent (its receiver was down, say) is taken back when the
    group resolves: no "still firing" after the acknowledge, only the resolved one."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 1, group_by=["rule_id"], group_wait=0, repeat_interval=60)
    assert flush(app, 0) == 1
    run_dispatcher(app)
    assert flush(app, 61) == 1  # the repeat, in the outbox
    acknowledge_from(app, headers, "api", 1)
    assert flush(app, 62) == 1  # resolved
    run_dispatcher(app)
    assert [b["data"]["kind"] for b in bodies(httpserver)] == ["flush", "resolved"]
    with app.app_context():
        assert db.session.query(Delivery).count() == 2


def test_acknowledged_before_the_flush_sends_nothing(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 1, group_by=["rule_id"], group_wait=60)
    assert app.test_client().post("/api/alerts/1/acknowledge",
                                  headers=headers).status_code == 200
    assert flush(app, 120) == 0
    with app.app_context():
        assert db.session.query(AlertGroup).one().status == "resolved"


def group_statuses(app):
    with app.app_context():
        return ([d.status for d in db.session.query(Delivery)],
                sorted(a.status for a in db.session.query(Alert)))


def dispatch_until(app, deliveries, seconds=10):
    deadline = time.monotonic() + seconds
    while group_statuses(app)[0] != deliveries and time.monotonic() < deadline:
        run_dispatcher(app)
        time.sleep(0.06)


def test_a_group_notification_is_retried_with_the_same_webhook_id(app, headers, httpserver):
    """The outbox's retries as for a single alert: one webhook-id over the tries, and every
    alert of the flush (the listed ones and those past the cap) delivered when it is."""
    replies = iter([500, 503, 200])
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("x", status=next(replies)))
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 3, group_by=["rule_id"], group_wait=1, group_max_alerts=2)
    assert flush(app, 2) == 1
    dispatch_until(app, ["delivered"])
    assert len(httpserver.log) == 3
    assert len({request.headers["webhook-id"] for request, _ in httpserver.log}) == 1
    assert group_statuses(app) == (["delivered"], ["delivered"] * 3)


def test_a_group_notification_runs_out_into_a_dead_letter_retried_by_hand(app, headers,
                                                                         httpserver):
    """Dead-lettered as a single alert's is: its alerts failed; retried by hand from the
    dead letters, delivered."""
    failing = [True]
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("x", status=500 if failing[0] else 200))
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 3, group_by=["rule_id"], group_wait=1, group_max_alerts=2)
    assert flush(app, 2) == 1
    dispatch_until(app, ["dead"])
    assert len(httpserver.log) == 4  # the first try and three retries
    assert group_statuses(app) == (["dead"], ["failed"] * 3)
    client = app.test_client()
    [dead] = client.get("/api/deliveries?status=dead", headers=headers).json["deliveries"]
    failing[0] = False
    assert client.post(f"/api/deliveries/{dead['id']}/retry",
                       headers=headers).status_code == 200
    run_dispatcher(app)
    assert group_statuses(app) == (["delivered"], ["delivered"] * 3)
    body = httpserver.log[-1][0].get_json()
    assert (body["type"], body["data"]["count"], len(body["data"]["alerts"])) == (
        "alert_group", 3, 2)


def test_site_default_groups_rules_that_set_nothing(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"),
              grouping={"group_by": ["camera_id"], "group_wait": 10})
    fire(app, headers, 3)
    with app.app_context():
        assert db.session.query(Delivery).count() == 0
    assert flush(app, 11) == 1


def test_without_grouping_one_alert_is_one_notification(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 3)
    with app.app_context():
        assert {a.group_id for a in db.session.query(Alert)} == {None}
        assert db.session.query(AlertGroup).count() == 0
    run_dispatcher(app)
    assert [b["type"] for b in bodies(httpserver)] == ["alert.created"] * 3


def test_alert_groups_api(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    rule = fire(app, headers, 3, group_by=["rule_id"], group_wait=1)
    flush(app, 2)
    client = app.test_client()
    listing = client.get("/api/alert-groups", headers=headers).json
    assert listing["count"] == 1
    [group] = listing["alert_groups"]
    assert group["rule_id"] == rule["id"] and group["alert_count"] == 3
    assert client.get(f"/api/alert-groups?rule_id={rule['id']}&status=resolved",
                      headers=headers).json["count"] == 0
    detail = client.get(f"/api/alert-groups/{group['id']}", headers=headers).json
    assert [a["group_id"] for a in detail["alerts"]] == [group["id"]] * 3
    assert detail["flushes"][0]["count"] == 3
    assert client.get("/api/alert-groups/999", headers=headers).status_code == 404
    assert client.get("/api/alert-groups?status=nope", headers=headers).status_code == 422
    assert client.get("/api/alerts/1", headers=headers).json["group_id"] == group["id"]


def test_two_flushers_at_once_flush_each_group_once(app, headers, httpserver):
    """Two flushers (threads, each with its own session and connection; on PostgreSQL they
    claim with SKIP LOCKED) over 60 due groups: every group flushed exactly once."""
    import threading

    from alerting.models import AlertGroupFlush

    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 60, group_by=["..."], group_wait=1)
    when = utcnow() + timedelta(seconds=2)
    totals = []

    def flusher():
        with app.app_context():
            try:
                total = 0
                while written := groups.flush_due(limit=5, now=when):
                    total += written
                totals.append(total)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=flusher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(totals) == 60
    with app.app_context():
        assert db.session.query(AlertGroupFlush).count() == 60
        assert db.session.query(Delivery).count() == 60
        assert {g.flush_count for g in db.session.query(AlertGroup)} == {1}


def test_a_group_and_a_single_alert_claimed_together_both_go(app, headers, httpserver):
    """One claim can hold a group's delivery and a single alert's: the single alerts'
    messages were built over the group's, and the claim failed on every try (KeyError),
    holding both back."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, 2, cameras=("gate",), camera_ids=["gate"], group_by=["rule_id"],
         group_wait=1)
    flush(app, 2)
    client = app.test_client()
    create_rule(client, headers, channels=["webhook"], camera_ids=["porch"])
    post_event(client, headers, external_id="porch-1", source="t", camera_id="porch")
    run_matcher(app)
    run_dispatcher(app)
    assert sorted(b["type"] for b in bodies(httpserver)) == ["alert.created", "alert_group"]
