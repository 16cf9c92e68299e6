"""The matcher's unit of work: unprocessed events in, alerts and their outbox rows out.

An event is marked processed in the same transaction that writes its alerts and their
delivery rows, so a crash at any point either loses nothing or leaves the event to be
matched again; none is matched twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, bindparam, func, select, text, tuple_, update
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from .. import metrics, signals
from ..engine import digest as digest_engine
from ..engine import escalation
from ..engine.cooldown import CooldownLedger
from ..engine.dedup import dedup_zone
from ..engine.event_record import event_from_record
from ..engine.index import RuleIndex
from ..engine.rule_eval import CompiledRule, compile_rule
from ..engine.silences import Facts, SilenceSet, covering_mute_timing, facts_of_match
from ..engine.types import Event as EngineEvent
from ..engine.types import rule_from_record
from ..engine.vocabulary import SEVERITY_PRIORITY
from ..extensions import db
from ..models import (
    RULES_COUNTER,
    SILENCES_COUNTER,
    WEB_PUSH_COUNTER,
    Alert,
    AlertRule,
    Counter,
    Delivery,
    Detection,
    Event,
    NotificationSettings,
    utcnow,
)
from ..schemas.grouping import GROUPING_FIELDS
from ..storage import insert_returning_ids, write_transaction
from . import digests, groups, webpush
from .events import DETECTION_COLUMNS, EVENT_COLUMNS
from .modes import mode_clock
from .mute_timings import engine_mute_timings
from .notification_settings import ROW_ID as SETTINGS_ROW
from .notification_settings import defaults
from .notification_targets import Defaults, rule_targets, targets_for, unseal
from .rules import rule_record
from .silences import engine_silences
from .tracks import dues, set_dues, with_tracks

log = logging.getLogger(__name__)

# Errors of the database, not of an event: the batch is retried, nothing is set aside.
DATABASE_ERRORS = (DBAPIError, PoolTimeoutError, PendingRollbackError)

_EVENTS = Event.__table__
_DETECTIONS = Detection.__table__
_ALERTS = Alert.__table__
_DELIVERIES = Delivery.__table__
_COUNTERS = Counter.__table__
_SETTINGS = NotificationSettings.__table__

# Statements built once: building one costs more than running it on SQLite.
# Read with each event: its revision (the mark below checks it) and its review item.
_MATCH_COLUMNS = (*EVENT_COLUMNS, "revision", "review")
_UNPROCESSED = (
    select(_EVENTS.c.id, _EVENTS.c.received_at, *(_EVENTS.c[name] for name in _MATCH_COLUMNS))
    .where(_EVENTS.c.processed_at.is_(None)).order_by(_EVENTS.c.id).limit(bindparam("limit"))
)
_UNPROCESSED_LOCKED = _UNPROCESSED.with_for_update(skip_locked=True)  # PostgreSQL
_DETECTIONS_OF = (
    select(_DETECTIONS.c.event_id, *(_DETECTIONS.c[name] for name in DETECTION_COLUMNS))
    .where(_DETECTIONS.c.event_id.in_(bindparam("ids", expanding=True)))
    .order_by(_DETECTIONS.c.id)
)
# The rules' version is a counter the database keeps (bumped in every transaction that
# changes a rule), not a time: each process's clock differs, so a max(updated_at) may not move.
_VERSIONS = select(
    select(_COUNTERS.c.value).where(_COUNTERS.c.name == RULES_COUNTER).scalar_subquery(),
    select(_SETTINGS.c.updated_at).where(_SETTINGS.c.id == SETTINGS_ROW).scalar_subquery(),
    select(_COUNTERS.c.value).where(_COUNTERS.c.name == SILENCES_COUNTER).scalar_subquery(),
    select(_COUNTERS.c.value).where(_COUNTERS.c.name == WEB_PUSH_COUNTER).scalar_subquery(),
)
_NEARBY_ALERT = select(_ALERTS.c.event_time).where(
    _ALERTS.c.rule_id == bindparam("rule_id"), _ALERTS.c.dedup_key == bindparam("key"),
    _ALERTS.c.event_time > bindparam("after"), _ALERTS.c.event_time < bindparam("before"),
    _ALERTS.c.status != "silenced",  # a silenced alert starts no cooldown
).limit(1)
# Marked processed only at the revision that was matched: an event revised meanwhile (a
# Frigate update arriving during the batch) stays unprocessed, to be matched again.
_MARK_PROCESSED = (
    update(_EVENTS)
    .where(tuple_(_EVENTS.c.id, _EVENTS.c.revision).in_(bindparam("marks", expanding=True)),
           _EVENTS.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"))
)
_STILL_UNPROCESSED = select(func.count()).select_from(_EVENTS).where(
    _EVENTS.c.id.in_(bindparam("ids", expanding=True)), _EVENTS.c.processed_at.is_(None))
# The rules that already fired for revised events: a rule fires at most once per event.
_FIRED = select(_ALERTS.c.event_id, _ALERTS.c.rule_id).where(
    _ALERTS.c.event_id.in_(bindparam("ids", expanding=True)))
_INSERT_DELIVERIES = _DELIVERIES.insert()
_GROUPING = "_grouping"  # an alert row's key while it waits to join its group
# A grouped alert's targets once it joined its group (it has no delivery rows of its own).
GROUPED: list = []
# PostgreSQL, several workers: unprocessed events below a batch that are not yet committed
# as processed. Those locked by another worker are being matched; the others (left by a
# worker that died, or committed late by ingest) are claimed here.
_EARLIER_PENDING = (
    select(_EVENTS.c.id).where(_EVENTS.c.processed_at.is_(None), _EVENTS.c.id < bindparam("below"),
                               _EVENTS.c.id.not_in(bindparam("mine", expanding=True)))
    .order_by(_EVENTS.c.id.desc()).limit(1)
)
# Blocks while another transaction holds the row FOR UPDATE (a worker matching it): woken
# the moment that worker commits, with no polling.
_WAIT_FOR = select(_EVENTS.c.id).where(_EVENTS.c.id == bindparam("id")).with_for_update(
    key_share=True, read=True)
ORDER_WAIT_SECONDS = 30  # a batch gives up (rolls back, retries later) after waiting this long
_LOCK_TIMEOUT = text(f"SET LOCAL lock_timeout = '{ORDER_WAIT_SECONDS}s'")
_EARLIER_UNCLAIMED = (
    select(_EVENTS.c.id, _EVENTS.c.received_at, *(_EVENTS.c[name] for name in _MATCH_COLUMNS))
    .where(_EVENTS.c.processed_at.is_(None), _EVENTS.c.id < bindparam("below"))
    .order_by(_EVENTS.c.id).with_for_update(skip_locked=True)
)
_OLDER_UNPROCESSED = select(_EVENTS.c.id).where(
    _EVENTS.c.processed_at.is_(None), _EVENTS.c.id < bindparam("below")).limit(1)
# With revised events among them (older ids): an unprocessed event below the newest that is
# not one of them.
_OTHER_UNPROCESSED = select(_EVENTS.c.id).where(
    _EVENTS.c.processed_at.is_(None), _EVENTS.c.id < bindparam("below"),
    _EVENTS.c.id.not_in(bindparam("ids", expanding=True))).limit(1)
_NEWEST_ALERT = select(func.max(_ALERTS.c.id))
_SET_ASIDE = (update(_EVENTS)
              .where(_EVENTS.c.id == bindparam("event_id"),
                     _EVENTS.c.processed_at.is_(None))
              .values(processed_at=bindparam("now")))


class Unmatchable(Exception):
    """Matching failed because of this event (not the database): the matcher sets it aside.
    The error is the __cause__."""

    def __init__(self, event_id: int):
        super().__init__(f"event {event_id} could not be matched")
        self.event_id = event_id


@contextmanager
def _pinned_on(event_id: int) -> Iterator[None]:
    """An error that is not the database's, raised while handling one event, is that
    event's: raised again as Unmatchable(event_id)."""
    try:
        yield
    except (Unmatchable, _Raced, *DATABASE_ERRORS):
        raise
    except Exception as exc:
        raise Unmatchable(event_id) from exc


LEDGER_PRUNE_AT = 4096  # entries: the ledger is pruned when it grows past this (or twice
# what was left after the last pruning)


class RuleCache:
    """The rule index of this process, rebuilt when the rules table changes, and the
    notification defaults, read again when the settings change.

    The cooldown ledger (last alert time per rule and dedup key) changes only after a
    commit: a batch decides against it plus its own delta, which is merged once stored. A
    batch that fails leaves it as it was, so its retry decides the same way."""

    def __init__(self) -> None:
        self.index = RuleIndex()
        self.rules: dict[str, dict[str, Any]] = {}
        self.version: Any = None
        self.settings_version: Any = None
        self._defaults: Defaults | None = None
        self.ledger = CooldownLedger()
        self.max_cooldown = 0
        self.newest: datetime | None = None
        self.prune_at = LEDGER_PRUNE_AT
        self.lock = threading.Lock()
        self.quiet = QuietCache()
        self.mode_at: Any = None  # the arming mode at a time (services/modes.py)
        self.track_rules: list[CompiledRule] = []  # rules with track criteria
        self.counting = False  # one of them has min_count: matching reads whole cameras
        # rule id -> engine.grouping.Timing, for the rules whose alerts are grouped only
        self.timings: dict[str, Any] = {}
        self.subscribers: list[webpush.Subscriber] = []  # web push subscriptions
        self.web_push_version: Any = ()
        self._takeovers: list[digest_engine.Takeover] | None = None  # the digests

    def refresh(self, conn: Connection) -> None:
        """Rebuild when any rule was added, changed or removed; forget the defaults when the
        settings changed (one cheap query per batch)."""
        version, settings, silences, web_push = conn.execute(_VERSIONS).one()
        self.quiet.refresh(silences, settings)
        if web_push != self.web_push_version:
            self.subscribers = webpush.load_subscribers(conn)
            self.web_push_version = web_push
        self.mode_at = mode_clock(conn)
        if settings != self.settings_version:
            self._defaults = self._takeovers = None
            self.settings_version = settings
            if version == self.version and version is not None:
                self.timings = _timings(self.rules, conn)  # the site defaults may have moved
        if version == self.version and version is not None:
            return
        rows = db.session.scalars(select(AlertRule)).all()
        self.rules = {r.id: {"name": r.name, "severity": r.severity, "channels": r.channels or [],
                             "targets": rule_targets(r.targets, r.targets_sealed),
                             "cooldown": r.cooldown_seconds,
                             "zones": tuple(r.zone_ids) if r.zone_ids else None,
                             "mute_timings": tuple(r.mute_timings or ()),
                             "grouping": {f: getattr(r, f) for f in GROUPING_FIELDS},
                             "escalation": escalation.policy_from_record(
                                 r.escalate_after, r.escalation_targets,
                                 r.escalate_min_severity)} for r in rows}
        self.timings = _timings(self.rules, conn)
        self.index = RuleIndex(rule_from_record(rule_record(r)) for r in rows)
        self.track_rules = [c for c in (compile_rule(rule_from_record(rule_record(r)))
                                        for r in rows) if c.track is not None]
        self.counting = any(c.track.min_count is not None for c in self.track_rules
                            if c.track is not None)
        self.ledger = CooldownLedger()  # a cooldown edit must not be judged by stale entries
        self.max_cooldown = max((r["cooldown"] for r in self.rules.values()), default=0)
        self.version = version

    def committed(self, delta: CooldownLedger) -> None:
        """A batch's ledger entries, once its alerts are committed. Entries older than the
        newest by more than any rule's cooldown are dropped now and then (dedup keys with
        {hour} or {date} would pile up forever): only a backfilled event could still fall
        in their window, and the alerts table answers for those."""
        newest = self.ledger.merge(delta)
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest
        if len(self.ledger) > self.prune_at and self.newest is not None:
            self.ledger.prune(self.newest - timedelta(seconds=self.max_cooldown))
            self.prune_at = max(LEDGER_PRUNE_AT, 2 * len(self.ledger))

    def defaults(self) -> Defaults:
        """Where deliveries go by default (the settings row is seeded at start-up, so this
        only reads; should it ever have to store it, _write's processed_at guard still keeps
        another matcher from matching the same events twice)."""
        if self._defaults is None:
            self._defaults = defaults()
            self._takeovers = digests.takeovers()
        return self._defaults

    def takeovers(self) -> list[digest_engine.Takeover]:
        """The digests, which take over their targets' immediate sends (read with the
        defaults, from the same settings row)."""
        if self._takeovers is None:
            self.defaults()
        return self._takeovers or []


def _timings(rules: dict[str, dict[str, Any]], conn: Connection) -> dict[str, Any]:
    """The grouping Timing of each rule whose alerts are grouped (its fields over the site
    defaults)."""
    site = conn.execute(select(_SETTINGS.c.grouping).where(_SETTINGS.c.id == SETTINGS_ROW)
                        ).scalar()
    timings = {}
    for rule_id, rule in rules.items():
        timing = groups.timing_of(rule["grouping"], site)
        if timing is not None:
            timings[rule_id] = timing
    return timings


SILENCE_HORIZON = timedelta(days=1)  # silences that ended longer ago are not kept in memory
SILENCE_RELOAD = timedelta(hours=1)  # reloaded this often, so the horizon moves on


class QuietCache:
    """The silences (ending after now minus SILENCE_HORIZON), mute timings and channels' mute
    timings of this process, reloaded when the silences' counter moves (any silence or mute
    timing changed, in any process: the rules' mechanism) or the settings change."""

    def __init__(self) -> None:
        self.silences = SilenceSet()
        self.since: datetime | None = None
        self.mute_timings: dict[str, Any] = {}
        self.channel_mutes: dict[str, list[str]] = {}
        self.version: Any = None
        self.settings_version: Any = None
        self.loaded_at: datetime | None = None

    def refresh(self, version: Any, settings_version: Any) -> None:
        now = utcnow()
        if (self.loaded_at is not None and version == self.version
                and settings_version == self.settings_version
                and now - self.loaded_at < SILENCE_RELOAD):
            return
        self.since = now - SILENCE_HORIZON
        self.silences = SilenceSet(engine_silences(ending_after=self.since))
        self.mute_timings = engine_mute_timings()
        self.channel_mutes = db.session.scalar(
            select(_SETTINGS.c.channel_mute_timings).where(_SETTINGS.c.id == SETTINGS_ROW)) or {}
        self.version, self.settings_version, self.loaded_at = version, settings_version, now

    def silence_for(self, facts: Facts, when: datetime) -> str | None:
        """The id of the silence covering the match at `when` (an event older than the
        cached horizon asks the table)."""
        silences = self.silences
        if self.since is not None and when < self.since:
            silences = SilenceSet(engine_silences(covering=when))
        found = silences.covering(facts, when)
        return found.id if found is not None else None

    def muted_channels(self, when: datetime, timezone: str) -> dict[str, str]:
        """channel -> the name of its mute timing covering `when`."""
        muted = {}
        for channel, names in self.channel_mutes.items():
            name = covering_mute_timing(self.mute_timings, names or (), when, timezone)
            if name is not None:
                muted[channel] = name
        return muted


def quieted(quiet: QuietCache, rule: dict[str, Any], event: EngineEvent, verdict: Any,
            zone: str | None, pairs: list) -> tuple[str | None, str | None, list]:
    """(silence id, mute timing name, the targets still due) for a match, at the event's time.
    A match covered by a silence or a mute timing of its rule is silenced; one whose every
    target's channel is in a mute timing too (named by the first). `rule` needs severity and
    mute_timings; `pairs` are (channel, target)."""
    when = event.started_at
    if quiet.silences.size or (quiet.since is not None and when < quiet.since):
        facts = facts_of_match(event, verdict.rule_id, rule["severity"], verdict.detection,
                               zone)
        silence = quiet.silence_for(facts, when)
        if silence is not None:
            return silence, None, []
    timezone = current_app.config["TIMEZONE"]
    if rule["mute_timings"]:
        name = covering_mute_timing(quiet.mute_timings, rule["mute_timings"], when, timezone)
        if name is not None:
            return None, name, []
    if pairs and quiet.channel_mutes:
        muted = quiet.muted_channels(when, timezone)
        if muted:
            due = [pair for pair in pairs if pair[0] not in muted]
            if not due:
                return None, muted[pairs[0][0]], []
            return None, None, due
    return None, None, pairs


def _cache() -> RuleCache:
    extensions = current_app.extensions
    cache = extensions.get("alerting.rule_cache")
    if cache is None:  # (setdefault: two first callers still end up with the same one)
        cache = extensions.setdefault("alerting.rule_cache", RuleCache())
    return cache


def _suppressed(conn: Connection, ledger: CooldownLedger, delta: CooldownLedger,
                batch: dict[tuple[str, str], list], rule_id: str, key: str, when: datetime,
                cooldown: int) -> bool:
    if cooldown <= 0:
        return False
    if ledger.suppresses(rule_id, key, when, cooldown) or \
            delta.suppresses(rule_id, key, when, cooldown):
        return True
    # The ledger keeps only the latest time per key; this batch's alerts are not stored yet.
    window = timedelta(seconds=cooldown)
    if any(abs(when - earlier) < window for earlier in batch.get((rule_id, key), ())):
        return True
    # The table also knows the alerts of other processes and of earlier runs.
    nearby = conn.execute(_NEARBY_ALERT, {"rule_id": rule_id, "key": key,
                                          "after": when - window, "before": when + window})
    found = nearby.scalar()
    if found is None:
        return False
    # Remembered, so the next events of this key (another worker's alert, or an earlier
    # run's) are settled without a query.
    delta.record(rule_id, key, found if found.tzinfo else found.replace(tzinfo=UTC))
    return True


def _unprocessed(conn: Connection, batch_size: int) -> list[EngineEvent]:
    """The oldest unprocessed events as the engine sees them (plain rows, no ORM objects).
    On PostgreSQL they stay row-locked until the commit: other workers skip them."""
    query = _UNPROCESSED_LOCKED if conn.dialect.name == "postgresql" else _UNPROCESSED
    return _with_detections(conn, conn.execute(query, {"limit": batch_size}))


def _with_detections(conn: Connection, result) -> list[EngineEvent]:
    records = [dict(row) for row in result.mappings()]
    if not records:
        return []
    by_id: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in records}
    for row in conn.execute(_DETECTIONS_OF, {"ids": list(by_id)}).mappings():
        by_id[row["event_id"]].append(row)
    events = []
    for record in records:
        record["detections"] = by_id[record["id"]]
        with _pinned_on(record["id"]):
            events.append(event_from_record(record))
    return events


def match_pending(batch_size: int = 500) -> int:
    """Match up to `batch_size` unprocessed events, oldest first. Returns how many.

    Reading and matching happen before the write transaction, which is kept short: alerts,
    deliveries and the events' processed_at in a few statements, then the commit.

    Several workers (PostgreSQL) claim disjoint batches with SKIP LOCKED and match them at
    the same time. Only cooldowns depend on order (an alert is suppressed by the alerts of
    the events before it), so a batch in which a rule with a cooldown matched first waits
    until every earlier event is committed as processed: the cooldown decisions are then
    taken in event order, exactly as one worker would take them.
    """
    cache = _cache()
    with cache.lock:
        conn = db.session.connection()
        events = _unprocessed(conn, batch_size)
        if not events:
            db.session.rollback()
            return 0
        try:
            outcome = _match_batch(conn, cache, events)
        except _Raced:
            db.session.rollback()
            return 0  # what is still unprocessed is read again next time
        except (Unmatchable, *DATABASE_ERRORS):
            raise
        except Exception as exc:
            if len(events) == 1:  # alone, the error can only be this event's
                raise Unmatchable(events[0].id) from exc
            raise
        event_ids, alert_ids, targets, delta, made, timed = outcome
        cache.committed(delta)
    _observe(*made)
    _announce(event_ids, alert_ids, targets, timed, made[1])
    return len(event_ids)


def _match_batch(conn: Connection, cache: RuleCache, events: list[EngineEvent]) -> tuple:
    """Match, decide and store the batch (committed); (event ids, alert ids, targets,
    ledger delta, (events, alert rows)). Raises _Raced when another worker was first."""
    cache.refresh(conn)
    timezone = current_app.config["TIMEZONE"]
    events, due = _with_tracks(conn, cache, events)
    verdicts = _not_fired_before(conn, _verdicts(cache, events, timezone))
    if conn.dialect.name == "postgresql" and any(
            cache.rules[v.rule_id]["cooldown"] > 0 for _e, v in verdicts):
        earlier = _wait_for_earlier(conn, events)
        if earlier:  # left unprocessed by a worker that died: theirs go first
            earlier, due_earlier = _with_tracks(conn, cache, earlier)
            due = due_earlier + due
            events = earlier + events
            verdicts = _not_fired_before(conn, _verdicts(cache, earlier, timezone)) + verdicts
    base = None
    if verdicts:
        base = cache.defaults()
        conn = db.session.connection()  # in case that committed
    alerts, targets, delta = _decide(conn, cache, verdicts, base)
    event_ids = [e.id for e in events]
    marks = [(e.id, e.revision) for e in events]
    return (event_ids, _write(marks, alerts, targets, due), targets, delta, (events, alerts),
            bool(due))


def _with_tracks(conn: Connection, cache: RuleCache, events: list[EngineEvent]
                 ) -> tuple[list[EngineEvent], list[dict[str, Any]]]:
    """The events with their tracks (when a rule has track criteria), and the tracks' new
    due times (services/tracks.py)."""
    if not cache.track_rules:
        return events, []
    now = utcnow()
    events, rows = with_tracks(conn, events, at=now, counting=cache.counting)
    return events, dues(cache.track_rules, events, rows, now)


def _not_fired_before(conn: Connection, verdicts: list[tuple]) -> list[tuple]:
    """The verdicts without the rules that already fired for their event (revised events
    only: a first revision has no alert yet), so a revision fires only what it newly
    satisfies. uq_alerts_event_rule holds it durably."""
    revised = {event.id for event, _v in verdicts if event.revision}
    if not revised:
        return verdicts
    fired = {(event_id, rule_id) for event_id, rule_id
             in conn.execute(_FIRED, {"ids": sorted(revised)})}
    return [(e, v) for e, v in verdicts if (e.id, v.rule_id) not in fired]


def _observe(events: list[EngineEvent], alerts: list[dict[str, Any]]) -> None:
    """After the commit: each event's matching lag and the alerts made, to the metrics. A
    revision's lag is not counted: its received_at is its first revision's."""
    metrics.events_matched((event.received_at for event in events if not event.revision),
                           utcnow())
    for alert in alerts:
        if alert.get("status") == "silenced":
            metrics.alert_silenced(alert["rule_id"])
        else:
            metrics.alert_created(alert["severity"], alert["rule_id"])


def _announce(event_ids: list[int], alert_ids: list[int],
              targets: list[list[tuple[str, str]]], timed: bool = False,
              alerts: Iterable[Mapping[str, Any]] = ()) -> None:
    """After the commit: the live hub hears of the batch; the dispatcher is woken only when
    delivery rows were written, the track timer only when due times were, the escalation
    timer only when an alert of the batch (`alerts`, the rows written) is to escalate."""
    app = current_app._get_current_object()
    signals.events_matched.send(app, event_ids=event_ids, alert_ids=alert_ids)
    if any(targets):
        signals.deliveries_due.send(app)
    if timed:
        signals.tracks_due.send(app)
    if any(row.get("escalate_at") for row in alerts):
        signals.escalations_due.send(app)
    if any(pairs is GROUPED for pairs in targets):
        signals.groups_due.send(app)


def _decide(conn: Connection, cache: RuleCache, verdicts: list[tuple],
            base: Defaults | None) -> tuple[list[dict[str, Any]], list[list[tuple[str, str]]],
                                            CooldownLedger]:
    """The alerts the verdicts make, in order, after cooldowns, each one's delivery targets,
    and the cooldown ledger's delta: to merge into the cache's once they are committed."""
    alerts: list[dict[str, Any]] = []
    targets: list[list[tuple[str, str]]] = []
    batch: dict[tuple[str, str], list[datetime]] = {}
    delta = CooldownLedger()
    for event, verdict in verdicts:
        with _pinned_on(event.id):
            alert, pairs = _alert(conn, cache, delta, batch, event, verdict, base)
        if alert is None:
            continue
        alerts.append(alert)
        targets.append(pairs)
        if alert["status"] == "silenced":
            continue  # starts no cooldown: the first alert after the silence is delivered
        delta.record(verdict.rule_id, alert["dedup_key"], event.started_at)
        batch.setdefault((verdict.rule_id, alert["dedup_key"]), []).append(event.started_at)
    return alerts, targets, delta


def _alert(conn: Connection, cache: RuleCache, delta: CooldownLedger,
           batch: dict[tuple[str, str], list[datetime]], event: EngineEvent, verdict: Any,
           base: Defaults | None) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The alert row one verdict makes and its delivery targets, or None when a cooldown
    suppresses it. A silenced one has no targets."""
    rule = cache.rules[verdict.rule_id]
    key = verdict.dedup_key or ""
    if _suppressed(conn, cache.ledger, delta, batch, verdict.rule_id, key,
                   event.started_at, rule["cooldown"]):
        return None, []
    detection = verdict.detection
    zone = dedup_zone(rule["zones"], detection) or None
    pairs = targets_for(rule["channels"], rule["targets"], base)
    if cache.subscribers and (base is None or base.enabled):
        pairs += webpush.targets(cache.subscribers, rule["severity"], event.camera_id)
    silence_id, mute_timing, pairs = quieted(cache.quiet, rule, event, verdict, zone, pairs)
    silenced = silence_id is not None or mute_timing is not None
    digest = None
    if pairs and cache.takeovers():
        digest, pairs = _digested(cache, pairs, rule, verdict.rule_id, event)
    alert = {
        **matched_alert(verdict.rule_id, rule["name"], rule["severity"], event, verdict, zone),
        # nothing to send: recorded and shown live
        "status": "silenced" if silenced else "pending" if pairs else "delivered",
        "silence_id": silence_id, "mute_timing": mute_timing, "digest": digest,
        "escalation": rule["escalation"],  # _record turns it into escalate_at
    }
    timing = cache.timings.get(verdict.rule_id) if pairs else None
    if timing is not None:  # notified with its group: _record takes this out
        alert[_GROUPING] = (timing, {
            "camera_id": event.camera_id, "rule_id": verdict.rule_id,
            "object_type": alert["object_type"], "zone_id": zone,
            "severity": rule["severity"], "identity": event.identity}, pairs)
    return alert, pairs


def matched_alert(rule_id: str | None, name: str, severity: str, event: EngineEvent,
                  verdict: Any, zone: str | None) -> dict[str, Any]:
    """The columns an alert takes from its rule and the match (the template preview's
    unstored alert too)."""
    detection = verdict.detection
    return {"rule_id": rule_id, "rule_name": name, "event_id": event.id,
            "camera_id": event.camera_id, "severity": severity,
            "severity_priority": SEVERITY_PRIORITY[severity],
            "dedup_key": verdict.dedup_key or "", "matched_conditions": verdict.matched_conditions,
            "object_type": detection.object_type if detection else None, "zone_id": zone,
            "event_time": event.started_at}


def _digested(cache: RuleCache, pairs: list, rule: dict[str, Any], rule_id: str,
              event: EngineEvent) -> tuple[str | None, list]:
    """(the digest that took any of these sends, the sends still due now): a digest takes
    over its own channel target's immediate send of an alert its filter takes."""
    takeovers = cache.takeovers()
    moded = any(t.filter.modes for t in takeovers)
    facts = digest_engine.AlertFacts(
        id=0, rule_id=rule_id, rule_name=rule["name"], camera_id=event.camera_id,
        severity=rule["severity"], event_id=event.id or 0, event_time=event.started_at,
        mode=cache.mode_at(event.started_at) if moded else None)
    kept, taken = [], None
    for channel, target in pairs:
        name = None
        if any(t.channel == channel for t in takeovers):  # (web push targets are not URLs)
            name = digest_engine.taken_by(takeovers, channel, unseal(*target), facts)
        if name is None:
            kept.append((channel, target))
        else:
            taken = taken or name
    return taken, kept


def _verdicts(cache: RuleCache, events: list[EngineEvent], timezone: str) -> list[tuple]:
    """(event, verdict) for every rule each event triggers, in event order."""
    verdicts = []
    for event in events:
        with _pinned_on(event.id):
            verdicts.extend((event, verdict) for verdict in cache.index.match_all(
                event, default_timezone=timezone, mode=cache.mode_at(event.started_at)))
    return verdicts


def _wait_for_earlier(conn: Connection, events: list[EngineEvent]) -> list[EngineEvent]:
    """Wait until every unprocessed event older than this batch is committed as processed
    (PostgreSQL; the batch's rows stay locked meanwhile). Those that no worker holds are
    claimed and returned, to be matched first. Raises _Raced after ORDER_WAIT_SECONDS.

    It waits on the row lock of the newest older event still pending, so it goes on the
    moment the worker holding it commits. No deadlock: a batch waits only for older ones,
    and the oldest waits for nobody.
    """
    below = events[0].id
    mine: list[int] = []
    earlier: list[EngineEvent] = []
    conn.execute(_LOCK_TIMEOUT)
    while True:
        # READ COMMITTED: each statement sees what other workers committed before it began.
        claimed = _with_detections(conn, conn.execute(_EARLIER_UNCLAIMED, {"below": below}))
        if claimed:
            mine.extend(e.id for e in claimed)
            earlier = sorted(earlier + claimed, key=lambda e: e.id)
        pending = conn.execute(_EARLIER_PENDING, {"below": below, "mine": mine or [0]}).first()
        if pending is None:
            return earlier
        try:
            conn.execute(_WAIT_FOR, {"id": pending.id})
        except OperationalError as exc:  # lock_timeout: a worker stuck for that long
            raise _Raced from exc


class _Raced(Exception):
    """Another matcher processed some of these events first."""


def _write(marks: list[tuple[int, int]], alerts: list[dict[str, Any]],
           targets: list[list[tuple[str, str]]], due: list[dict[str, Any]] | None = None
           ) -> list[int]:
    """One transaction: the alerts, their delivery rows, the events marked processed and
    their tracks' due times."""
    with write_transaction() as conn:
        return _record(conn, marks, alerts, targets, due)


def _record(conn: Connection, marks: list[tuple[int, int]], alerts: list[dict[str, Any]],
            targets: list[list[tuple[str, str]]], due: list[dict[str, Any]] | None = None
            ) -> list[int]:
    """In the open transaction: mark the events processed at the revision matched (id,
    revision) (raising _Raced if another matcher did first), store the alerts and their
    delivery rows, and the tracks' due times; the new alert ids.

    An event revised since it was read is left unprocessed, and its alerts are still
    written: it did satisfy those rules at the revision read, and matching the new one
    skips them. (So a stream of revisions never makes a whole batch start over.)"""
    now = utcnow()
    marked = conn.execute(_MARK_PROCESSED, {"marks": marks, "now": now}).rowcount
    if marked != len(marks) and conn.execute(
            _STILL_UNPROCESSED, {"ids": [event_id for event_id, _r in marks]}
    ).scalar() != len(marks) - marked:
        raise _Raced
    if due:
        set_dues(conn, due)
    if not alerts:
        return []
    for row in alerts:
        row["created_at"] = row["updated_at"] = now
        row["escalate_at"] = escalation.due_at(row.pop("escalation", None), row["severity"],
                                               row["status"], now)
    if any(_GROUPING in row for row in alerts):
        _join_groups(conn, alerts, targets, now)
    alert_ids = insert_returning_ids(conn, _ALERTS, alerts)
    deliveries = [{"alert_id": alert_id, "channel": channel, "target": target.shown,
                   "target_sealed": target.sealed}
                  for alert_id, pairs in zip(alert_ids, targets, strict=True)
                  for channel, target in pairs]
    if deliveries:
        conn.execute(_INSERT_DELIVERIES, deliveries)
    return alert_ids


def _join_groups(conn: Connection, alerts: list[dict[str, Any]],
                 targets: list[list[tuple[str, str]]], now: datetime) -> None:
    """Grouped alerts join their groups and get no delivery rows of their own (the groups
    worker writes the group's); their entries in `targets` become GROUPED, so that
    _announce wakes the groups worker rather than the dispatcher."""
    for index, row in enumerate(alerts):
        grouping = row.pop(_GROUPING, None)
        row["group_id"] = None if grouping is None else groups.join(conn, row, *grouping, now)
        if grouping is not None:
            targets[index] = GROUPED


def _unrecord(conn: Connection, event_ids: list[int], after_alert: int | None = None) -> None:
    """Undo what _record wrote for these events, in the open transaction that stored them
    (so every alert of theirs is one _record wrote; for revised events, every alert after
    `after_alert`, the newest before it began: the write transaction is this process's
    alone)."""
    mine = _ALERTS.c.event_id.in_(event_ids)
    if after_alert is not None:
        mine = mine & (_ALERTS.c.id > after_alert)
    alerts = select(_ALERTS.c.id).where(mine)
    conn.execute(_DELIVERIES.delete().where(_DELIVERIES.c.alert_id.in_(alerts)))
    conn.execute(_ALERTS.delete().where(mine))
    conn.execute(update(_EVENTS).where(_EVENTS.c.id.in_(event_ids)).values(processed_at=None))


class Matched:
    """What matching_on_ingest did: `done` once the events were matched and committed."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = False


@contextmanager
def matching_on_ingest(conn: Connection, records: list[dict[str, Any]]) -> Iterator[Matched]:
    """Match events in the transaction that stores them (SQLite ingest; `records` are the
    stored rows with their ids and detections), so the commit that stores an event also
    stores its alerts: no hand-off to the matcher thread, no reading it back.

    Only in a process that runs the matcher thread, when it is idle (its lock is free:
    taken without waiting, so the writer lock the caller holds cannot deadlock with it)
    and no older event is unprocessed, so
    events are still matched in order. Otherwise, or when matching fails, nothing is done
    here and the matcher thread takes the events as usual. Enter it inside the transaction
    and leave it after the transaction has ended: the lock is held until then, and after a
    commit the batch is announced.
    """
    matched = Matched()
    cache = _cache()
    if (conn.dialect.name != "sqlite" or not records
            or "alerting.matcher" not in current_app.extensions  # no matcher in this process
            or not cache.lock.acquire(blocking=False)):
        yield matched
        return
    outcome: tuple | None = None
    made: tuple = ([], [])
    delta: CooldownLedger | None = None
    records = sorted(records, key=lambda r: r["id"])  # in event order, as the matcher goes
    event_ids = [r["id"] for r in records]
    # Revised events (their revision, and the review they hold, are in the records) are
    # matched here too; skipping the rules that already fired for them.
    revised = any(r.get("revision") for r in records)
    newest_alert = None
    try:
        try:
            if revised:
                newest_alert = conn.execute(_NEWEST_ALERT).scalar()
            older = conn.execute(_OTHER_UNPROCESSED, {"below": max(event_ids), "ids": event_ids}
                                 ) if revised else \
                conn.execute(_OLDER_UNPROCESSED, {"below": min(event_ids)})
            if older.first() is None:
                cache.refresh(conn)
                timezone = current_app.config["TIMEZONE"]
                events, due = _with_tracks(conn, cache,
                                           [event_from_record(r) for r in records])
                verdicts = _verdicts(cache, events, timezone)
                if revised:
                    verdicts = _not_fired_before(conn, verdicts)
                alerts, targets, delta = _decide(conn, cache, verdicts,
                                                 cache.defaults() if verdicts else None)
                marks = [(r["id"], r.get("revision") or 0) for r in records]
                outcome = (event_ids, _record(conn, marks, alerts, targets, due), targets,
                           bool(due), alerts)
                made = (events, alerts)
        except DATABASE_ERRORS:
            raise  # the transaction storing the events fails with it; the ledger is as it was
        except Exception:  # the matcher thread will match them, or set a bad one aside
            log.exception("matching on ingest failed; left to the matcher")
            # _record may have failed half-way, after marking the events processed: undone,
            # so they are not committed as processed without their alerts.
            _unrecord(conn, event_ids, newest_alert)
            outcome = delta = None
        yield matched
        if outcome is not None:  # committed: only now may the ledger count its alerts
            cache.committed(delta)
    finally:
        cache.lock.release()
    if outcome is not None:
        matched.done = True
        _observe(*made)
        _announce(*outcome)


def set_aside(event_id: int) -> bool:
    """Mark this event processed without matching it (the matcher calls this for an event
    that makes matching fail on its own). Only if it is still unprocessed: on PostgreSQL it
    waits for a worker holding it, and leaves it alone once that worker has matched it.
    Returns whether it was set aside."""
    with write_transaction() as conn:
        return conn.execute(_SET_ASIDE, {"event_id": event_id, "now": utcnow()}).rowcount == 1


class OwnAlerts:
    """Alerts the app raises itself, not by matching an event (services/cameras.py: a
    camera gone silent, and back): each gets an event of its own, stored as processed, and
    goes the normal way from there: the rule's cooldown, channels and targets, outbox rows,
    the live hub. Use it through own_alerts()."""

    def __init__(self, conn: Connection, cache: RuleCache) -> None:
        self.conn = conn
        self.cache = cache
        self.delta = CooldownLedger()
        self.event_ids: list[int] = []
        self.alert_ids: list[int] = []
        self.targets: list[list[tuple[str, str]]] = []
        self.alerts: list[dict[str, Any]] = []  # the rows written
        self._base: Defaults | None = None

    def raise_alert(self, rule_id: str, record: dict[str, Any], *, dedup_key: str,
                    matched_conditions: list[str], severity: str | None = None,
                    rule_name: str | None = None) -> int | None:
        """Store `record` (EVENT_COLUMNS' values; processed at once) and the alert rule
        `rule_id` raises for it; the alert's id, or None when its cooldown suppressed it."""
        conn = self.conn
        [event_id] = insert_returning_ids(conn, _EVENTS, [{**record, "processed_at": None}])
        self.event_ids.append(event_id)
        event = event_from_record({**record, "id": event_id})
        verdict = _OwnVerdict(rule_id, dedup_key, matched_conditions)
        if self._base is None:
            self._base = self.cache.defaults()
        alert, pairs = _alert(conn, self.cache, self.delta, {}, event, verdict, self._base)
        if alert is not None:
            if severity is not None:
                alert["severity"] = severity
                alert["severity_priority"] = SEVERITY_PRIORITY[severity]
            if rule_name is not None:
                alert["rule_name"] = rule_name[:255]
            self.delta.record(rule_id, dedup_key, event.started_at)
        ids = _record(conn, [(event_id, 0)], [alert] if alert else [], [pairs] if alert else [])
        if not ids:
            return None
        self.alert_ids.extend(ids)
        self.targets.append(pairs)
        self.alerts.append(alert)
        return ids[0]


class _OwnVerdict:
    __slots__ = ("rule_id", "dedup_key", "matched_conditions", "detection")

    def __init__(self, rule_id: str, dedup_key: str, matched_conditions: list[str]) -> None:
        self.rule_id = rule_id
        self.dedup_key = dedup_key
        self.matched_conditions = matched_conditions
        self.detection = None


@contextmanager
def own_alerts() -> Iterator[OwnAlerts]:
    """One write transaction to raise OwnAlerts in, with the rules as they are now; after
    the commit the cooldown ledger counts them and they are announced (live, dispatcher).
    Nothing is announced when the block raises (everything in it is rolled back)."""
    cache = _cache()
    with cache.lock:
        with write_transaction() as conn:
            cache.refresh(conn)
            own = OwnAlerts(conn, cache)
            yield own
        cache.committed(own.delta)
    if own.event_ids:
        _announce(own.event_ids, own.alert_ids, own.targets, alerts=own.alerts)
