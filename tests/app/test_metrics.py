"""alerting/metrics.py: each function moves the sample it names, labels stay bounded, files
of processes that are gone are removed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alerting import metrics
from tests.support.metrics import samples, value


def exposed(app):
    body, content_type = metrics.exposition(app)
    assert content_type.startswith("text/plain")
    return samples(body.decode())


def moved(app, action, name, **labels):
    before = value(exposed(app), name, **labels)
    action()
    return value(exposed(app), name, **labels) - before


@pytest.mark.parametrize(("action", "name", "labels", "delta"), [
    (lambda: metrics.event_ingested("frigate"), "alerting_events_ingested_total",
     {"source": "frigate"}, 1),
    (lambda: metrics.events_ingested(["a", "b", "a"]), "alerting_events_ingested_total",
     {"source": "a"}, 2),
    (lambda: metrics.alert_created("high", "rule-1"), "alerting_alerts_total",
     {"severity": "high", "rule_id": "rule-1"}, 1),
    (lambda: metrics.alert_silenced("rule-2"), "alerting_alerts_silenced_total",
     {"rule_id": "rule-2"}, 1),
    (lambda: metrics.delivery_attempted("webhook", "dead", 0.2, 4), "alerting_deliveries_total",
     {"channel": "webhook", "outcome": "dead"}, 1),
    (lambda: metrics.delivery_attempted("email", "dead", 0.2, 4), "alerting_dead_letters_total",
     {"channel": "email"}, 1),
    (lambda: metrics.delivery_attempted("push", "delivered", 0.3, 2),
     "alerting_delivery_attempts_sum", {"channel": "push"}, 2),
    (lambda: metrics.delivery_attempted("push", "retry", 0.3, 1),
     "alerting_delivery_duration_seconds_count", {"channel": "push"}, 1),
    (metrics.websocket_opened, "alerting_websocket_clients", {}, 1),
    (metrics.websocket_closed, "alerting_websocket_clients", {}, -1),
    (metrics.websocket_refused, "alerting_websocket_refused_total", {}, 1),
    (metrics.websocket_dropped, "alerting_websocket_dropped_total", {}, 1),
    (metrics.slow_request_closed, "alerting_http_slow_requests_closed_total", {}, 1),
    (lambda: metrics.mqtt_message("events"), "alerting_mqtt_messages_total",
     {"topic_kind": "events"}, 1),
    (lambda: metrics.mqtt_bad_payload("events"), "alerting_mqtt_bad_payloads_total",
     {"topic_kind": "events"}, 1),
])
def test_each_function_moves_its_sample(app, action, name, labels, delta):
    assert moved(app, action, name, **labels) == delta


def test_matching_lag_is_observed_per_event(app):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    before = exposed(app)
    metrics.events_matched([now - timedelta(seconds=3), now.replace(tzinfo=None), None], now)
    after = exposed(app)
    assert value(after, "alerting_matching_lag_seconds_count") - \
        value(before, "alerting_matching_lag_seconds_count") == 2
    assert value(after, "alerting_matching_lag_seconds_sum") - \
        value(before, "alerting_matching_lag_seconds_sum") == pytest.approx(3)
    assert value(after, "alerting_matching_lag_seconds_bucket", le="2.5") - \
        value(before, "alerting_matching_lag_seconds_bucket", le="2.5") == 1


def test_camera_status_is_the_latest_report(app):
    metrics.camera_status("porch", True)
    assert value(exposed(app), "alerting_camera_online", camera_id="porch") == 1
    metrics.camera_status("porch", False)
    assert value(exposed(app), "alerting_camera_online", camera_id="porch") == 0


def test_free_text_labels_are_bounded():
    bounded = metrics._Bounded(2)
    assert [bounded(v) for v in ("a", "b", "c", "a", None)] == ["a", "b", "other", "a", "other"]
    assert bounded("x" * 500) == "other"
    assert len(metrics._Bounded(5)("y" * 500)) == 100


def test_the_stored_gauges_are_exposed_with_nothing_stored(app):
    found = exposed(app)
    for name in ("alerting_outbox_oldest_due_age_seconds", "alerting_dead_letters",
                 "alerting_events_unprocessed", "alerting_events_oldest_unprocessed_age_seconds"):
        assert value(found, name) == 0
        assert (name, frozenset()) in found
    assert ("alerting_outbox_depth", frozenset({("status", "pending")})) in found


def test_files_of_processes_that_ended_are_removed(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(ended.stdout)
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db", f"counter_{os.getpid()}.db",
                 f"counter_{os.getppid()}.db", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert metrics.remove_dead_processes(str(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{os.getpid()}.db", f"counter_{os.getppid()}.db", "notes.txt"])


def test_the_values_live_in_the_shared_directory():
    assert metrics.DIRECTORY == os.environ["PROMETHEUS_MULTIPROC_DIR"]
    metrics.event_ingested("file-check")
    assert any(name.startswith("counter_") for name in os.listdir(metrics.DIRECTORY))


def test_children_past_the_bound_share_the_other_child():
    from prometheus_client import CollectorRegistry, Counter

    counter = Counter("bench_things_total", "things", ["kind"], registry=CollectorRegistry())
    children = metrics._Children(counter, metrics._Bounded(1))
    assert children("a") is children("a")
    assert children("b") is children("c") is counter.labels("other")


def test_the_dashboard_and_alert_rules_name_only_metrics_that_exist(app):
    import json
    import re
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
    dashboard = json.loads((folder / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    text = " ".join(exprs) + (folder / "prometheus-rules.yml").read_text()
    named = set(re.findall(r"\balerting_[a-z_]+", text))
    from prometheus_client.metrics import MetricWrapperBase

    defined = {name for name, _labels in exposed(app)}  # the database gauges
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for family in metric.describe():
                defined |= {family.name + suffix for suffix in
                            ("", "_total", "_bucket", "_sum", "_count")}
    assert named and named <= defined, named - defined


def test_a_fresh_process_exposes_every_delivery_counter_at_zero(tmp_path):
    """Prometheus sees no increase() in a counter whose series appears at 1: the first dead
    letter after a start would not fire AlertingDeadLetters, and AlertingOutboxStuck's "none
    sent in 10 minutes" is never true before a first send. A process's first scrape lists
    every channel's delivery and dead-letter counters, at 0."""
    code = (
        "import sys; sys.path.insert(0, '.')\n"
        "from tests.support.app import make_app\n"
        "from pathlib import Path\n"
        "from alerting import metrics\n"
        f"app = make_app(Path({str(tmp_path)!r}))\n"
        "print(metrics.exposition(app)[0].decode())\n")
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    env.pop("ALERTING_TEST_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=str(Path(__file__).resolve().parents[2]), timeout=120)
    assert done.returncode == 0, done.stderr
    exposed = samples(done.stdout)
    from alerting.engine.vocabulary import DELIVERY_CHANNELS

    for channel in DELIVERY_CHANNELS:
        assert exposed[("alerting_dead_letters_total",
                        frozenset({"channel": channel}.items()))] == 0
        for outcome in ("delivered", "retry", "dead"):
            key = frozenset({"channel": channel, "outcome": outcome}.items())
            assert exposed.get(("alerting_deliveries_total", key)) == 0, (channel, outcome)
