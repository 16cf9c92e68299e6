"""Prometheus metrics: every metric of the app, and one small function per thing to count.

A call site is one line (`metrics.event_ingested(source)`). Metrics are kept in
prometheus_client's multi-process mode: each process (gunicorn workers, `flask worker`)
writes its values to memory-mapped files in one directory, and `/metrics` sums them. The
directory is `PROMETHEUS_MULTIPROC_DIR` when set, else `instance/prometheus/` of this
checkout (the app's default instance folder), so `make run` and `flask worker` on the same
checkout share it with no configuration. Files of processes that are gone are removed when a
server or worker starts (`remove_dead_processes`).

Labels are bounded: severities, channels and outcomes come from fixed vocabularies; free-text
values (an event's source, a rule id, a camera id, an MQTT topic kind) are kept as given for
the first few distinct ones a process sees (`_Bounded`) and counted as "other" after that.

Gauges of what is stored (outbox depth, age of the oldest due delivery, dead letters,
unprocessed events) are read from the database at scrape time (`DatabaseCollector`), with
one small query each.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

_INSTANCE = Path(__file__).resolve().parent.parent / "instance"
DIRECTORY = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_INSTANCE / "prometheus"))


def _writable_directory(path: str) -> None:
    """Make the metrics directory, or stop start-up with one line naming the variable (every
    process writes its counters there: one it cannot write fails at the first event)."""
    from .config import SettingsError

    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"PROMETHEUS_MULTIPROC_DIR: cannot make {path}: "
                            f"{exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"PROMETHEUS_MULTIPROC_DIR: {path} is not writable by this process")


_writable_directory(DIRECTORY)

from prometheus_client import (  # noqa: E402  (multi-process mode is chosen by the variable above)
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

from .engine.vocabulary import DELIVERY_CHANNELS  # noqa: E402

# prometheus_client picks its value class when first imported: if that happened before the
# variable was set (a test importing its parser first), choose again, before any metric exists.
if values.ValueClass is values.MutexValue:
    values.ValueClass = values.get_value_class()

OTHER = "other"


class _Bounded:
    """At most `limit` distinct values of a free-text label per process; then "other"."""

    def __init__(self, limit: int):
        self.limit = limit
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = "" if value is None else str(value)[:100]
        if text in self.seen:
            return text
        with self.lock:
            if len(self.seen) < self.limit:
                self.seen.add(text)
                return text
        return OTHER


class _Children:
    """A labelled metric's children by their raw label values, each label bounded where
    `bounds` gives a _Bounded: a dict lookup per call instead of prometheus_client's
    labels() (several times the cost of the increment itself in multi-process mode)."""

    MAX_CACHED = 5000  # raw values past this are bounded each time, not remembered

    def __init__(self, metric, *bounds: _Bounded | None):
        self.metric = metric
        self.bounds = bounds
        self.cache: dict[tuple, object] = {}

    def __call__(self, *values):
        child = self.cache.get(values)
        if child is None:
            child = self.metric.labels(*(bound(value) if bound else value
                                         for bound, value in zip(self.bounds, values,
                                                                 strict=True)))
            if len(self.cache) < self.MAX_CACHED:
                self.cache[values] = child
        return child


_source = _Bounded(50)
_rule = _Bounded(1000)
_camera = _Bounded(1000)
_topic_kind = _Bounded(20)

# Lag and latency buckets, seconds: a matcher answers in milliseconds when idle, a webhook in
# tens of milliseconds to its whole deadline (30 s by default).
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

EVENTS_INGESTED = Counter("alerting_events_ingested_total",
                          "Detection events stored, by source", ["source"])
MATCHING_LAG = Histogram("alerting_matching_lag_seconds",
                         "From an event stored to its matching committed (alerts and all)",
                         buckets=_FAST)
ALERTS = Counter("alerting_alerts_total", "Alerts created, by severity and rule id",
                 ["severity", "rule_id"])
ALERTS_SILENCED = Counter("alerting_alerts_silenced_total",
                          "Matches kept as silenced alerts (no delivery), by rule id",
                          ["rule_id"])
DELIVERIES = Counter("alerting_deliveries_total",
                     "Delivery attempts, by channel and outcome (delivered, retry, dead)",
                     ["channel", "outcome"])
DELIVERY_LATENCY = Histogram("alerting_delivery_duration_seconds",
                             "How long one delivery attempt took, by channel", ["channel"],
                             buckets=_FAST)
ALERT_DELIVERY_LATENCY = Histogram("alerting_alert_delivery_latency_seconds",
                                   "From an alert created to its delivery succeeding (retries "
                                   "included), by channel", ["channel"],
                                   buckets=_FAST + (900, 3600, 14400))
DELIVERY_ATTEMPTS = Histogram("alerting_delivery_attempts",
                              "Attempts a delivery took when it ended (delivered or dead)",
                              ["channel"], buckets=(1, 2, 3, 4, 6, 8, 12))
DEAD_LETTERS = Counter("alerting_dead_letters_total",
                       "Deliveries given up on (dead-lettered), by channel", ["channel"])
WEBSOCKET_CLIENTS = Gauge("alerting_websocket_clients", "Open WebSockets (every process)",
                          multiprocess_mode="livesum")
WEBSOCKET_REFUSED = Counter("alerting_websocket_refused_total",
                            "WebSockets refused at a connection cap")
WEBSOCKET_DROPPED = Counter("alerting_websocket_dropped_total",
                            "WebSockets dropped for falling behind or not answering pings")
SLOW_REQUESTS_CLOSED = Counter("alerting_http_slow_requests_closed_total",
                               "HTTP clients cut off for sending headers or body too slowly")
MQTT_MESSAGES = Counter("alerting_mqtt_messages_total", "MQTT messages received, by topic kind",
                        ["topic_kind"])
MQTT_BAD_PAYLOADS = Counter("alerting_mqtt_bad_payloads_total",
                            "MQTT messages refused as unreadable, by topic kind", ["topic_kind"])
CAMERA_ONLINE = Gauge("alerting_camera_online", "1 when the camera is online, 0 when offline",
                      ["camera_id"], multiprocess_mode="mostrecent")

_events_ingested = _Children(EVENTS_INGESTED, _source)
_alerts = _Children(ALERTS, None, _rule)
_alerts_silenced = _Children(ALERTS_SILENCED, _rule)
_deliveries = _Children(DELIVERIES, None, None)
_delivery_latency = _Children(DELIVERY_LATENCY, None)
_delivery_attempts = _Children(DELIVERY_ATTEMPTS, None)
_alert_delivery_latency = _Children(ALERT_DELIVERY_LATENCY, None)
_dead_letters = _Children(DEAD_LETTERS, None)
_mqtt_messages = _Children(MQTT_MESSAGES, _topic_kind)
_mqtt_bad_payloads = _Children(MQTT_BAD_PAYLOADS, _topic_kind)
_camera_online = _Children(CAMERA_ONLINE, _camera)


# --- what the code calls -------------------------------------------------------------------

def event_ingested(source: str | None, count: int = 1) -> None:
    """`count` new events from `source` were stored."""
    _events_ingested(source).inc(count)


def events_ingested(sources: Iterable[str | None]) -> None:
    """New events stored, one source per event: one increment per distinct source."""
    counts: dict[str | None, int] = {}
    for source in sources:
        counts[source] = counts.get(source, 0) + 1
    for source, count in counts.items():
        event_ingested(source, count)


def events_matched(received: Iterable[datetime | None], committed: datetime) -> None:
    """Events whose matching was committed at `committed`; each one's time from being stored."""
    for at in received:
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            MATCHING_LAG.observe(max(0.0, (committed - at).total_seconds()))


def alert_created(severity: str, rule_id: str | None) -> None:
    """An alert was committed."""
    _alerts(severity, rule_id).inc()


def alert_silenced(rule_id: str | None) -> None:
    """A match was kept as a silenced alert (a silence, mute timing or mode held it back)."""
    _alerts_silenced(rule_id).inc()


def delivery_attempted(channel: str, outcome: str, seconds: float, attempts: int,
                       since_alert: float | None = None) -> None:
    """One delivery attempt recorded: `outcome` is delivered, retry or dead; `attempts` is
    how many the delivery has taken so far; `since_alert`, for a delivered one, the seconds
    from its alert's creation."""
    _deliveries(channel, outcome).inc()
    _delivery_latency(channel).observe(seconds)
    if since_alert is not None and outcome == "delivered":
        _alert_delivery_latency(channel).observe(max(0.0, since_alert))
    if outcome != "retry":
        _delivery_attempts(channel).observe(attempts)
    if outcome == "dead":
        _dead_letters(channel).inc()


def websocket_opened() -> None:
    WEBSOCKET_CLIENTS.inc()


def websocket_closed() -> None:
    WEBSOCKET_CLIENTS.dec()


def websocket_refused() -> None:
    WEBSOCKET_REFUSED.inc()


def websocket_dropped() -> None:
    WEBSOCKET_DROPPED.inc()


def slow_request_closed() -> None:
    SLOW_REQUESTS_CLOSED.inc()


def mqtt_message(topic_kind: str) -> None:
    """An MQTT message arrived; `topic_kind` is the adapter's name for its topic (for
    Frigate: events, reviews, availability...), never the full topic."""
    _mqtt_messages(topic_kind).inc()


def mqtt_bad_payload(topic_kind: str) -> None:
    """An MQTT message could not be read as what its topic carries (bad JSON, wrong shape)."""
    _mqtt_bad_payloads(topic_kind).inc()


def camera_status(camera_id: str, online: bool) -> None:
    """A camera went online or offline (the latest report from any process wins)."""
    _camera_online(camera_id).set(1 if online else 0)


# --- the processes sharing the directory -----------------------------------------------------

def _pid_of(path: str) -> int | None:
    stem = os.path.basename(path).rsplit(".", 1)[0]
    tail = stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_dead_processes(directory: str = DIRECTORY) -> int:
    """Remove the files of processes that are no longer running (from an earlier run, or a
    crashed worker), so their values stop being summed. Returns how many were removed.
    Called when a server (gunicorn's arbiter) or a `flask worker` starts."""
    removed = 0
    for path in glob.glob(os.path.join(directory, "*.db")):
        pid = _pid_of(path)
        if pid is not None and pid != os.getpid() and not _alive(pid):
            try:
                os.remove(path)
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def process_ended(pid: int) -> None:
    """A process of this server ended: its live gauges (open WebSockets) stop counting."""
    multiprocess.mark_process_dead(pid, DIRECTORY)


# --- the scrape ------------------------------------------------------------------------------

def stored_gauges() -> list[tuple[str, str, dict[str, str], float]]:
    """(name, help, labels, value) of each gauge read from the database (app context):
    one indexed query each."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import Delivery, Event, utcnow

    now = utcnow()
    session = db.session
    try:
        by_status = dict(session.execute(
            select(Delivery.status, func.count()).where(Delivery.status.in_(
                ("pending", "sending", "dead"))).group_by(Delivery.status)).all())
        oldest_due = session.scalar(
            select(func.min(Delivery.next_attempt_at))
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now))
        unprocessed = session.scalar(
            select(func.count()).select_from(Event).where(Event.processed_at.is_(None)))
        oldest_event = session.scalar(
            select(Event.received_at).where(Event.processed_at.is_(None))
            .order_by(Event.processed_at, Event.id).limit(1))
    finally:
        session.rollback()  # no read transaction left open between scrapes
    gauges = [("alerting_outbox_depth", "Deliveries waiting to be sent or being sent",
               {"status": status}, by_status.get(status, 0)) for status in ("pending", "sending")]
    gauges += [
        ("alerting_outbox_oldest_due_age_seconds",
         "How long the oldest due delivery has been waiting (0 when none is due)", {},
         _age(now, oldest_due)),
        ("alerting_dead_letters", "Dead-lettered deliveries stored (until retried)", {},
         by_status.get("dead", 0)),
        ("alerting_events_unprocessed", "Stored events not yet matched", {}, unprocessed or 0),
        ("alerting_events_oldest_unprocessed_age_seconds",
         "How long the oldest unmatched event has waited (0 when none)", {},
         _age(now, oldest_event)),
    ]
    return gauges


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    then = then if then.tzinfo else then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


class DatabaseCollector:
    """The stored gauges, read when scraped."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        with self.app.app_context():
            found = stored_gauges()
        families: dict[str, GaugeMetricFamily] = {}
        for name, help_text, labels, value in found:
            if name not in families:
                families[name] = GaugeMetricFamily(name, help_text, labels=list(labels))
            families[name].add_metric(list(labels.values()), value)
        yield from families.values()


def sync_cameras(app) -> None:
    """Set each stored camera's gauge from the database, so the scrape shows every camera
    as it is stored even when the process that last changed it has ended."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Camera

    with app.app_context():
        try:
            found = db.session.execute(select(Camera.id, Camera.status)).all()
        finally:
            db.session.rollback()  # no read transaction left open between scrapes
    for camera_id, status in found:
        camera_status(camera_id, status == "online")


DELIVERY_OUTCOMES = ("delivered", "retry", "dead")
_zeroed = threading.Event()


def zero_delivery_counters() -> None:
    """Every channel's delivery and dead-letter counters, at 0 until counted (once per
    process): Prometheus sees no increase() in a series that appears at 1, so the first
    dead letter after a start would not fire AlertingDeadLetters, and AlertingOutboxStuck's
    "none sent" (docs/monitoring/prometheus-rules.yml) had no series before a first send."""
    if _zeroed.is_set():
        return
    for channel in DELIVERY_CHANNELS:
        _dead_letters(channel)
        for outcome in DELIVERY_OUTCOMES:
            _deliveries(channel, outcome)
    _zeroed.set()


def exposition(app) -> tuple[bytes, str]:
    """The text every process's metrics sum to, plus the database gauges."""
    zero_delivery_counters()
    sync_cameras(app)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=DIRECTORY)
    registry.register(DatabaseCollector(app))
    return generate_latest(registry), CONTENT_TYPE_LATEST
