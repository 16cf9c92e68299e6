"""A demo detector: realistic synthetic detection events posted to a running instance.

`flask --app app simulate --cameras 4 --rate 2` posts people, vehicles, animals and packages
seen by cameras around a house, in their zones, by day and by night, one event per POST as a
detector would. The generator is pure and seeded (same seed and clock, same events), so the
benchmarks and tests reuse it.

Bounding boxes are normalised `[x, y, width, height]` in 0..1 of the frame.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SOURCE = "simulator"


@dataclass(frozen=True)
class Camera:
    """A camera, its zones, and how often it sees each kind of object."""

    id: str
    zones: tuple[str, ...]
    weights: dict[str, int]
    # Zones close to a door or an entrance: a person there at night is worrying.
    entry_zones: tuple[str, ...] = ()


CAMERAS: tuple[Camera, ...] = (
    Camera("front-door", ("porch", "walkway", "steps"),
           {"person": 45, "package": 15, "car": 8, "truck": 6, "dog": 10, "cat": 10,
            "bicycle": 6}, ("porch", "steps")),
    Camera("driveway", ("driveway", "street", "mailbox"),
           {"person": 30, "car": 35, "truck": 10, "bicycle": 9, "dog": 9, "cat": 7},
           ("driveway",)),
    Camera("backyard", ("lawn", "patio", "fence", "shed"),
           {"person": 20, "dog": 35, "cat": 35, "bicycle": 2}, ("patio", "shed")),
    Camera("garage", ("garage-door", "side-door"),
           {"person": 40, "car": 30, "truck": 5, "bicycle": 10, "cat": 15},
           ("garage-door", "side-door")),
    Camera("side-gate", ("gate", "path"),
           {"person": 50, "dog": 20, "cat": 25, "bicycle": 5}, ("gate",)),
    Camera("back-door", ("back-steps", "deck"),
           {"person": 45, "dog": 25, "cat": 25, "package": 5}, ("back-steps",)),
    Camera("street", ("sidewalk", "road", "parking"),
           {"person": 35, "car": 35, "truck": 12, "bicycle": 12, "dog": 6}),
    Camera("front-yard", ("lawn", "hedge", "mailbox"),
           {"person": 30, "dog": 25, "cat": 25, "package": 5, "bicycle": 5, "car": 10},
           ("hedge",)),
)


@dataclass(frozen=True)
class Profile:
    """How an object type looks to a detector: confidence, box size, base risk, wording."""

    noun: str
    plural: str
    confidence: tuple[float, float]
    width: tuple[float, float]
    height: tuple[float, float]
    risk: int
    night_risk: int
    actions: tuple[str, ...]


PROFILES: dict[str, Profile] = {
    "person": Profile("person", "people", (0.62, 0.97), (0.05, 0.16), (0.22, 0.6), 44, 26,
                      ("walking", "standing", "looking around", "passing")),
    "car": Profile("car", "cars", (0.7, 0.98), (0.2, 0.45), (0.15, 0.35), 22, 18,
                   ("pulling in", "parked", "driving past", "idling")),
    "truck": Profile("truck", "trucks", (0.6, 0.95), (0.3, 0.55), (0.25, 0.45), 28, 18,
                     ("stopping", "parked", "driving past")),
    "dog": Profile("dog", "dogs", (0.55, 0.93), (0.06, 0.15), (0.05, 0.14), 8, 6,
                   ("running", "sniffing around", "wandering")),
    "cat": Profile("cat", "cats", (0.5, 0.9), (0.03, 0.08), (0.03, 0.08), 3, 3,
                   ("walking", "sitting", "prowling")),
    "bicycle": Profile("bicycle", "bicycles", (0.55, 0.92), (0.08, 0.2), (0.1, 0.22), 20, 15,
                       ("passing", "parked", "leaning")),
    "package": Profile("package", "packages", (0.55, 0.9), (0.04, 0.1), (0.03, 0.08), 18, 12,
                       ("left",)),
}
# How a summary says where: "on the porch", "at the gate".
ZONE_PHRASES = {
    "porch": "on the porch", "walkway": "on the walkway", "steps": "on the front steps",
    "driveway": "in the driveway", "street": "on the street", "mailbox": "by the mailbox",
    "lawn": "on the lawn", "patio": "on the patio", "fence": "along the fence",
    "shed": "by the shed", "garage-door": "at the garage door", "side-door": "at the side door",
    "gate": "at the gate", "path": "on the path", "back-steps": "on the back steps",
    "deck": "on the deck", "sidewalk": "on the sidewalk", "road": "on the road",
    "parking": "in the parking spot", "hedge": "by the hedge",
}
OBJECT_TYPES = tuple(PROFILES)
NIGHT_START, NIGHT_END = 20, 6  # local hours: night is 20:00 to 06:00


def cameras(count: int) -> list[Camera]:
    """The first `count` cameras; past the eight named ones, numbered copies ("driveway-2")."""
    if count < 1:
        raise ValueError("at least one camera")
    out: list[Camera] = []
    for i in range(count):
        base = CAMERAS[i % len(CAMERAS)]
        round_ = i // len(CAMERAS)
        out.append(base if round_ == 0 else Camera(f"{base.id}-{round_ + 1}", base.zones,
                                                   base.weights, base.entry_zones))
    return out


def is_night(when: datetime, timezone: str = "UTC") -> bool:
    """Whether `when` falls between 20:00 and 06:00 local time."""
    hour = when.astimezone(ZoneInfo(timezone)).hour
    return hour >= NIGHT_START or hour < NIGHT_END


@dataclass
class EventGenerator:
    """Realistic detection events, deterministic for a given seed and sequence of clock times.

    `event(now)` returns the JSON body of one event that a detector would post at `now`.
    """

    seed: int | None = None
    camera_count: int = 4
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.cameras = cameras(self.camera_count)
        self.sequence = 0
        self._tracks: dict[str, int] = {}

    @property
    def external_id_prefix(self) -> str:
        return f"sim-{self.run_id}-"

    def event(self, now: datetime) -> dict[str, Any]:
        """The body of one event a detector posts at `now` (an aware datetime)."""
        rng = self.rng
        self.sequence += 1
        camera = rng.choice(self.cameras)
        kind = rng.choices(list(camera.weights), list(camera.weights.values()))[0]
        profile = PROFILES[kind]
        zone = rng.choice(camera.zones)
        # A detector posts when the event ends (most of the time) or while it goes on.
        scenario = self._scenario(kind, camera, zone)
        duration = rng.uniform(60, 300) if scenario == "loitering" else rng.uniform(2, 45)
        started = now - timedelta(seconds=round(duration, 3))
        night = is_night(started, self.timezone)
        ongoing = rng.random() < 0.25

        how_many = 1
        if kind == "person":
            how_many = rng.choices((1, 2, 3), (70, 22, 8))[0]
        elif kind in ("dog", "cat", "car"):
            how_many = rng.choices((1, 2), (85, 15))[0]
        detections = [self._detection(kind, camera, zone, night) for _ in range(how_many)]
        if scenario == "delivery":
            detections.append(self._detection("package", camera, zone, night))

        risk = profile.risk + (profile.night_risk if night else 0)
        risk += {"loitering": 25, "delivery": -12, "entry": 18}.get(scenario, 0)
        risk += 6 * (how_many - 1)
        risk += round(rng.gauss(0, 7))
        risk = max(0, min(100, risk))

        labels = ["night" if night else "day", "motion"]
        if scenario in ("loitering", "delivery"):
            labels.append(scenario)
        return {
            "camera_id": camera.id,
            "started_at": _iso(started),
            "ended_at": None if ongoing else _iso(now),
            "risk_score": risk,
            "summary": self._summary(kind, how_many, scenario, zone, night),
            "labels": labels,
            "detections": detections,
            "source": SOURCE,
            "external_id": f"{self.external_id_prefix}{self.sequence:07d}",
            "attributes": {"scenario": scenario, "simulated": True},
        }

    def _scenario(self, kind: str, camera: Camera, zone: str) -> str:
        roll = self.rng.random()
        if kind != "person":
            return "normal"
        if zone in camera.entry_zones and roll < 0.35:
            return "delivery" if "package" in camera.weights and roll < 0.12 else "entry"
        return "loitering" if roll > 0.9 else "normal"

    def _detection(self, kind: str, camera: Camera, zone: str, night: bool) -> dict[str, Any]:
        rng = self.rng
        profile = PROFILES[kind]
        low, high = profile.confidence
        confidence = rng.uniform(low, high) - (0.08 if night else 0.0)
        width = rng.uniform(*profile.width)
        height = rng.uniform(*profile.height)
        x = rng.uniform(0, 1 - width)
        y = rng.uniform(0.1, 1 - height)
        zones = [zone]
        if len(camera.zones) > 1 and rng.random() < 0.15:  # straddling two zones
            zones.append(rng.choice([z for z in camera.zones if z != zone]))
        track = self._tracks.get(camera.id, rng.randint(100, 900)) + rng.randint(1, 3)
        self._tracks[camera.id] = track
        return {
            "object_type": kind,
            "confidence": round(max(0.3, min(0.99, confidence)), 3),
            "zone_ids": zones,
            "bbox": [round(x, 4), round(y, 4), round(width, 4), round(height, 4)],
            "track_id": f"{camera.id}-{track}",
        }

    def _summary(self, kind: str, count: int, scenario: str, zone: str, night: bool) -> str:
        profile = PROFILES[kind]
        where = ZONE_PHRASES.get(zone, "near the " + zone.replace("-", " "))
        who = profile.noun.capitalize() if count == 1 else f"{count} {profile.plural}"
        if scenario == "delivery":
            text = f"Delivery driver leaving a package {where}"
        elif scenario == "loitering":
            text = f"{who} loitering {where}"
        elif scenario == "entry":
            text = f"{who} {where}, close to the entrance"
        else:
            text = f"{who} {self.rng.choice(profile.actions)} {where}"
        return text + (" at night" if night else "")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


DEMO_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "Person at night (demo)",
        "description": "Created by `flask simulate` because there was no rule yet.",
        "severity": "high",
        "object_types": ["person"],
        "min_confidence": 0.5,
        "schedule": {"days": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
                     "start_time": f"{NIGHT_START:02d}:00", "end_time": f"{NIGHT_END:02d}:00"},
        "dedup_key_template": "{camera_id}:{zone_id}",
        "cooldown_seconds": 60,
        "channels": [],
    },
    {
        "name": "High-risk activity (demo)",
        "description": "Created by `flask simulate` because there was no rule yet.",
        "severity": "medium",
        "risk_threshold": 60,
        "dedup_key_template": "{camera_id}:{object_type}",
        "cooldown_seconds": 30,
        "channels": [],
    },
)


class SimulationError(Exception):
    """The server cannot be reached, or refused the events."""


@dataclass
class Progress:
    """What a run did so far."""

    posted: int = 0
    duplicates: int = 0
    failed: int = 0
    alerts: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def post_events(
    url: str,
    key: str,
    generator: EventGenerator,
    *,
    rate: float,
    count: int | None = None,
    duration: float | None = None,
    report_every: int = 10,
    count_alerts: Callable[[], int] | None = None,
    echo: Callable[[str], None] = print,
    session: Any = None,
) -> Progress:
    """Post events one per request at `rate` a second until `count` or `duration` is reached
    (or forever: stop with Ctrl-C, which ends the run cleanly). Prints a line per
    `report_every` events."""
    import requests

    if rate <= 0:
        raise ValueError("rate must be positive")
    http = session or requests.Session()
    endpoint = url.rstrip("/") + "/api/events"
    headers = {"x-access-token": key}
    progress = Progress()
    interval = 1.0 / rate
    next_at = time.monotonic()
    try:
        while count is None or progress.posted + progress.failed < count:
            if duration is not None and progress.elapsed >= duration:
                break
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at = max(next_at + interval, time.monotonic() - 1.0)  # no burst after a stall
            body = generator.event(datetime.now(UTC))
            try:
                response = http.post(endpoint, json=body, headers=headers, timeout=10)
            except requests.RequestException as exc:
                raise SimulationError(
                    f"cannot reach {url}: {exc.__class__.__name__}. "
                    "Is the server running (`make run`)?") from exc
            if response.status_code in (401, 403):
                raise SimulationError(f"the server refused the API key ({response.status_code})")
            if response.status_code == 201:
                progress.posted += 1
            elif response.status_code == 200:
                progress.duplicates += 1
            else:
                progress.failed += 1
                echo(f"event refused: {response.status_code} {response.text[:200]}")
            done = progress.posted + progress.duplicates + progress.failed
            if done % report_every == 0:
                if count_alerts is not None:
                    progress.alerts = count_alerts()
                echo(_line(progress))
    except KeyboardInterrupt:
        echo("Stopped.")
    return progress


def _line(progress: Progress) -> str:
    rate = progress.posted / progress.elapsed if progress.elapsed > 0 else 0.0
    return (f"{progress.posted} events posted ({rate:.1f}/s), "
            f"{progress.alerts} alerts so far")


# --- the parts that need the app and its database (the `simulate` command) -----------------


def ensure_demo_rules(echo: Callable[[str], None]) -> None:
    """When there is no rule at all, create the demo rules so the events become alerts."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import AlertRule
    from .services.rules import create_rule

    if db.session.scalar(select(func.count(AlertRule.id))):
        return
    for payload in DEMO_RULES:
        rule = create_rule(dict(payload), actor="cli:simulate")
        echo(f"No rule yet: created the demo rule '{rule.name}'.")


def alert_counter(generator: EventGenerator) -> Callable[[], int]:
    """Counts the alerts of this run's events in the app's database."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import Alert, Event

    prefix = generator.external_id_prefix
    # Every external_id of the run starts with the prefix, which ends in "-": the range
    # [prefix, prefix with "-" -> ".") holds exactly them, and the unique index serves it.
    upper = prefix[:-1] + "."

    def count() -> int:
        try:
            return db.session.scalar(
                select(func.count(Alert.id)).join(Event, Event.id == Alert.event_id)
                .where(Event.source == SOURCE, Event.external_id >= prefix,
                       Event.external_id < upper)
            ) or 0
        finally:
            db.session.rollback()  # no read transaction left open between counts

    return count


def wait_until_matched(generator: EventGenerator, timeout: float = 5.0) -> None:
    """Give the server's matcher a moment to finish this run's last events."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import Event

    prefix = generator.external_id_prefix
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = db.session.scalar(
            select(func.count(Event.id)).where(
                Event.source == SOURCE, Event.external_id >= prefix,
                Event.external_id < prefix[:-1] + ".", Event.processed_at.is_(None))
        )
        db.session.rollback()
        if not pending:
            return
        time.sleep(0.05)
