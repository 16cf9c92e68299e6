"""Tracks: one object on one camera over time, and the rule criteria that read them.

A track is a Frigate tracked object, or the HTTP detections sharing a `track_id` on a camera.
Its state is built from observations (`observe`), one per message, and is plain data
(`Track.to_dict` / `Track.from_dict`) so the database can keep it. Times are seconds since
the epoch (floats): durations never depend on a timezone.

Decisions (README "Tracks"):
- An object is taken to be where it was last seen while its track is open. A track ends on
  its source's `end` (Frigate) or, for a track whose source sends no end (HTTP), when nothing
  was heard of it for the track timeout; it then ended when it was last seen.
- Dwell is one continuous stay: leaving the dwell zones and coming back starts it again.
  Moving between two of the dwell zones without a gap is one stay.
- A zone sequence may have detours: other zones entered between the listed ones do not
  break it. The listed zones must be entered in that order, the first to the last entry
  within `sequence_within_seconds` (when set).
- A late message (older than the last one seen) changes only the best score, the identity,
  the attributes and the end; the zone timeline is built from messages in their time order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .types import Rule

# Two boxes closer than this share of the object's size are the same position.
STILL_TOLERANCE = 0.05
ANY_IDENTITY = "*"
# Durations are compared to a microsecond (the database's precision): start + 30 - start may
# come out a hair under 30 in floating point, and the timer fires at start + 30.
EPSILON = 1e-6

# The criteria a track answers, in the order verdicts list them.
TRACK_CRITERIA = ("dwell", "zone_sequence", "stationary", "identity", "min_count")


@dataclass(frozen=True, slots=True)
class Observation:
    """One message about a tracked object: when, what, where (the zones it is in now)."""

    at: float
    object_type: str
    zones: tuple[str, ...] = ()
    score: float | None = None
    bbox: tuple[float, ...] | None = None
    stationary: bool | None = None  # the detector's own flag (Frigate); None: from bbox
    identity: str | None = None
    identity_score: float | None = None
    # What the detector recognised on the object beyond its type (Frigate's face or
    # license_plate, a plate's text...): (name, score) pairs, a score None when it gave none.
    attributes: tuple[tuple[str, float | None], ...] = ()
    end: bool = False
    explicit_end: bool = False  # the source ends its tracks itself: no silence timeout
    event_id: int | None = None


@dataclass(slots=True)
class Visit:
    """One stay in a zone: entered at, exited at (None while inside)."""

    zone: str
    entered: float
    exited: float | None = None


@dataclass(slots=True)
class Track:
    """A tracked object's state."""

    camera_id: str
    track_id: str
    object_type: str
    first_seen: float
    last_seen: float
    ended_at: float | None = None
    explicit_end: bool = False
    visits: list[Visit] = field(default_factory=list)
    stationary_since: float | None = None
    bbox: tuple[float, ...] | None = None
    best_score: float | None = None
    identity: str | None = None
    identity_score: float | None = None
    event_id: int | None = None
    attributes: dict[str, float | None] = field(default_factory=dict)  # name -> best score

    def end_time(self, timeout: float) -> float | None:
        """When it ended (or will, if nothing more is heard); None: open until its `end`."""
        if self.ended_at is not None:
            return self.ended_at
        if self.explicit_end:
            return None
        return self.last_seen + timeout

    def effective(self, at: float, timeout: float) -> float:
        """The time its state is read at: `at` while open, else when it was last there."""
        if self.ended_at is not None:
            return min(at, self.ended_at)
        if not self.explicit_end and at >= self.last_seen + timeout:
            return min(at, self.last_seen)
        return at

    def is_open(self, at: float, timeout: float) -> bool:
        """Whether the object is (presumed) on camera at `at`; at its end too, so that a
        track read after it ended (at its end: `effective`) counts itself and those that
        ended with it."""
        end = self.end_time(timeout)
        return self.first_seen <= at and (end is None or at <= end)

    def stay_seconds(self, visit: Visit, at: float, timeout: float) -> float:
        """How long one of its stays lasted, read at `at`: to its exit, else to the time its
        state is read at (it is presumed there until its track ends)."""
        until = visit.exited if visit.exited is not None else self.effective(at, timeout)
        return max(0.0, until - visit.entered)

    def current_zones(self) -> list[str]:
        """The zones it is in now, in the order it entered them."""
        return [v.zone for v in self.visits if v.exited is None]

    def entries(self) -> list[tuple[str, float]]:
        """Every zone entry, in time order."""
        return sorted(((v.zone, v.entered) for v in self.visits), key=lambda e: e[1])

    def to_dict(self) -> dict[str, Any]:
        """The stored form (JSON)."""
        return {
            "camera_id": self.camera_id, "track_id": self.track_id,
            "object_type": self.object_type, "first_seen": self.first_seen,
            "last_seen": self.last_seen, "ended_at": self.ended_at,
            "explicit_end": self.explicit_end,
            "visits": [[v.zone, v.entered, v.exited] for v in self.visits],
            "stationary_since": self.stationary_since,
            "bbox": list(self.bbox) if self.bbox is not None else None,
            "best_score": self.best_score, "identity": self.identity,
            "identity_score": self.identity_score, "event_id": self.event_id,
            "attributes": self.attributes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Track:
        """The track a stored form describes."""
        bbox = data.get("bbox")
        return cls(
            camera_id=data["camera_id"], track_id=data["track_id"],
            object_type=data["object_type"], first_seen=data["first_seen"],
            last_seen=data["last_seen"], ended_at=data.get("ended_at"),
            explicit_end=bool(data.get("explicit_end")),
            visits=[Visit(z, e, x) for z, e, x in data.get("visits") or ()],
            stationary_since=data.get("stationary_since"),
            bbox=tuple(bbox) if bbox is not None else None,
            best_score=data.get("best_score"), identity=data.get("identity"),
            identity_score=data.get("identity_score"), event_id=data.get("event_id"),
            attributes=dict(data.get("attributes") or {}),
        )


def _moved(a: Sequence[float], b: Sequence[float]) -> bool:
    size = max(abs(a[2]), abs(a[3]), abs(b[2]), abs(b[3]), 1e-9) if len(a) >= 4 else 1.0
    return any(abs(x - y) > STILL_TOLERANCE * size for x, y in zip(a, b, strict=False))


def _better_identity(track: Track, obs: Observation) -> None:
    if obs.identity is None:
        return
    if track.identity is None or (obs.identity_score or 0.0) >= (track.identity_score or 0.0):
        track.identity, track.identity_score = obs.identity, obs.identity_score


def _attributes(track: Track, obs: Observation) -> None:
    """Each attribute seen, with the best score it was seen with (late messages too)."""
    for name, score in obs.attributes:
        known = track.attributes.get(name)
        if name not in track.attributes or (score is not None and (known is None
                                                                    or score > known)):
            track.attributes[name] = score


def observe(track: Track | None, obs: Observation, camera_id: str, track_id: str) -> Track:
    """The track after one more observation (a new track when `track` is None)."""
    if track is None:
        track = Track(camera_id=camera_id, track_id=track_id, object_type=obs.object_type,
                      first_seen=obs.at, last_seen=obs.at, explicit_end=obs.explicit_end,
                      visits=[Visit(zone, obs.at) for zone in dict.fromkeys(obs.zones)],
                      bbox=obs.bbox, best_score=obs.score, event_id=obs.event_id,
                      stationary_since=_still_from(None, obs, obs.at))
        _better_identity(track, obs)
        _attributes(track, obs)
        if obs.end:
            track.ended_at = obs.at
        return track
    if obs.score is not None and (track.best_score is None or obs.score > track.best_score):
        track.best_score = obs.score
    _better_identity(track, obs)
    _attributes(track, obs)
    track.explicit_end = track.explicit_end or obs.explicit_end
    if obs.event_id is not None:
        track.event_id = obs.event_id
    if obs.at < track.last_seen or track.ended_at is not None:
        # Late (or after the end): the timeline stays as the messages in order made it.
        if obs.end and track.ended_at is None:
            track.ended_at = track.last_seen
        return track
    at = obs.at
    now_in = dict.fromkeys(obs.zones)
    for visit in track.visits:
        if visit.exited is None and visit.zone not in now_in:
            visit.exited = at
    inside = {v.zone for v in track.visits if v.exited is None}
    track.visits.extend(Visit(zone, at) for zone in now_in if zone not in inside)
    track.stationary_since = _still_from(track, obs, at)
    if obs.bbox is not None:
        track.bbox = obs.bbox
    track.object_type = obs.object_type
    track.last_seen = at
    if obs.end:
        track.ended_at = at
    return track


def _still_from(track: Track | None, obs: Observation, at: float) -> float | None:
    """Since when the object has not moved, after this observation."""
    since = track.stationary_since if track is not None else None
    if obs.stationary is not None:  # the detector says
        return (since if since is not None else at) if obs.stationary else None
    if obs.bbox is None:
        return since
    if track is None or track.bbox is None:
        return at
    if _moved(track.bbox, obs.bbox):
        return at
    return since if since is not None else track.last_seen


# --- rule criteria ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackSpec:
    """A rule's track criteria, prepared once."""

    dwell_seconds: float | None
    dwell_zones: frozenset[str] | None
    dwell_zone_names: tuple[str, ...]
    sequence: tuple[str, ...] | None
    within: float | None
    stationary_seconds: float | None
    identities: frozenset[str] | None
    exclude_identities: frozenset[str] | None
    min_count: int | None
    types: frozenset[str] | None
    zones: frozenset[str] | None
    criteria: tuple[str, ...]

    @property
    def timed(self) -> bool:
        """Whether it can become true with time alone (dwell, stationary)."""
        return self.dwell_seconds is not None or self.stationary_seconds is not None


def _names(values: Iterable[str] | None) -> frozenset[str] | None:
    return frozenset(v.casefold() for v in values) if values else None


def track_spec(rule: Rule) -> TrackSpec | None:
    """The rule's track criteria, or None when it has none."""
    dwell_zones = rule.dwell_zone_ids or rule.zone_ids
    criteria = []
    if rule.min_dwell_seconds is not None:
        criteria.append("dwell")
    if rule.zone_sequence:
        criteria.append("zone_sequence")
    if rule.stationary_seconds is not None:
        criteria.append("stationary")
    if rule.identities or rule.exclude_identities:
        criteria.append("identity")
    if rule.min_count is not None:
        criteria.append("min_count")
    if not criteria:
        return None
    return TrackSpec(
        dwell_seconds=rule.min_dwell_seconds,
        dwell_zones=frozenset(dwell_zones) if dwell_zones else None,
        dwell_zone_names=tuple(dwell_zones or ()),
        sequence=tuple(rule.zone_sequence) if rule.zone_sequence else None,
        within=rule.sequence_within_seconds,
        stationary_seconds=rule.stationary_seconds,
        identities=_names(rule.identities), exclude_identities=_names(rule.exclude_identities),
        min_count=rule.min_count,
        types=frozenset(t.casefold() for t in rule.object_types) if rule.object_types else None,
        zones=frozenset(rule.zone_ids) if rule.zone_ids else None,
        criteria=tuple(criteria),
    )


@dataclass(frozen=True, slots=True)
class TrackContext:
    """What the criteria read for one event: its tracks by track id, the camera's tracks
    (for min_count), the time of reading and the track timeout."""

    at: float
    timeout: float
    tracks: Mapping[str, Track]
    camera: tuple[Track, ...] = ()


def stay_start(track: Track, zones: frozenset[str] | None) -> float | None:
    """When its present continuous stay in `zones` (None: on camera) began; None when it is
    not in them now."""
    if zones is None:
        return track.first_seen
    stays = sorted(((v.entered, v.exited) for v in track.visits if v.zone in zones),
                   key=lambda s: s[0])
    start: float | None = None
    end: float | None = 0.0
    for entered, exited in stays:
        if start is None or (end is not None and entered > end):
            start, end = entered, exited  # a gap: a new stay
        elif end is not None:
            end = None if exited is None else max(end, exited)
    return start if start is not None and end is None else None


def seconds_text(seconds: float) -> str:
    """A duration as the explanations say it: "12 s", "2.5 s"."""
    return f"{seconds:.0f} s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f} s"


def _zones_text(names: Iterable[str]) -> str:
    return ", ".join(f"`{z}`" for z in names)


def _dwell(spec: TrackSpec, track: Track, at: float) -> tuple[bool, str]:
    need = spec.dwell_seconds or 0.0
    where = _zones_text(spec.dwell_zone_names) if spec.dwell_zones else "view"
    start = stay_start(track, spec.dwell_zones)
    if start is None:
        return False, f"not in {where} now (dwell of {seconds_text(need)} required)"
    spent = max(0.0, at - start)
    return spent + EPSILON >= need, (
        f"in {where} for {seconds_text(spent)} of the {seconds_text(need)} required")


def find_sequence(entries: Sequence[tuple[str, float]], sequence: Sequence[str],
                  within: float | None) -> tuple[float, float] | None:
    """(first, last) entry times of the earliest-ending occurrence of `sequence` as a
    subsequence of `entries` (detours allowed) spanning at most `within` seconds."""
    best: tuple[float, float] | None = None
    for i, (zone, first) in enumerate(entries):
        if zone != sequence[0]:
            continue
        k, last = 1, first
        for z, t in entries[i + 1:]:
            if k == len(sequence):
                break
            if z == sequence[k]:
                k, last = k + 1, t
        if k == len(sequence) and (within is None or last - first <= within):
            if best is None or last < best[1]:
                best = (first, last)
    return best


def _sequence(spec: TrackSpec, track: Track) -> tuple[bool, str]:
    seq = spec.sequence or ()
    entries = track.entries()
    wanted = " then ".join(seq)
    if find_sequence(entries, seq, spec.within) is not None:
        return True, f"entered {wanted}"
    if find_sequence(entries, seq, None) is not None:
        return False, f"entered {wanted}, but not within {seconds_text(spec.within or 0)}"
    backwards = tuple(reversed(seq))
    if len(seq) > 1 and find_sequence(entries, backwards, None) is not None:
        return False, f"entered {' then '.join(backwards)}: wrong direction"
    seen = " then ".join(z for z, _t in entries) or "no zone"
    return False, f"entered {seen}; {wanted} required"


def _stationary(spec: TrackSpec, track: Track, at: float) -> tuple[bool, str]:
    need = spec.stationary_seconds or 0.0
    if track.stationary_since is None:
        return False, f"moving (stationary for {seconds_text(need)} required)"
    still = max(0.0, at - track.stationary_since)
    return still + EPSILON >= need, (
        f"stationary for {seconds_text(still)} of the {seconds_text(need)} required")


def _identity(spec: TrackSpec, track: Track) -> tuple[bool, str]:
    name = track.identity
    who = f"identity {name}" if name else "unknown"
    key = name.casefold() if name else None
    if spec.identities is not None:
        wanted = key is not None and (ANY_IDENTITY in spec.identities or key in spec.identities)
        if not wanted:
            return False, f"{who}: not one of the identities required"
    if spec.exclude_identities is not None and key is not None and (
            ANY_IDENTITY in spec.exclude_identities or key in spec.exclude_identities):
        return False, f"{who}: excluded"
    return True, who


def present(spec: TrackSpec, tracks: Iterable[Track], at: float, timeout: float) -> int:
    """How many tracks of the rule's types are on camera (in its zones, when it has any)."""
    count = 0
    for t in tracks:
        if not t.is_open(at, timeout):
            continue
        if spec.types is not None and t.object_type.casefold() not in spec.types:
            continue
        if spec.zones is not None and spec.zones.isdisjoint(t.current_zones()):
            continue
        count += 1
    return count


def evaluate(spec: TrackSpec, track: Track | None, ctx: TrackContext | None
             ) -> dict[str, tuple[bool, str]]:
    """Each of the spec's criteria: (held, why), for one track read at the context's time."""
    if track is None or ctx is None:
        return {name: (False, "no track for this event") for name in spec.criteria}
    at = track.effective(ctx.at, ctx.timeout)
    out: dict[str, tuple[bool, str]] = {}
    if spec.dwell_seconds is not None:
        out["dwell"] = _dwell(spec, track, at)
    if spec.sequence:
        out["zone_sequence"] = _sequence(spec, track)
    if spec.stationary_seconds is not None:
        out["stationary"] = _stationary(spec, track, at)
    if spec.identities is not None or spec.exclude_identities is not None:
        out["identity"] = _identity(spec, track)
    if spec.min_count is not None:
        others = [t for t in ctx.camera if t.track_id != track.track_id]
        n = present(spec, [track, *others], at, ctx.timeout)
        where = f" in {_zones_text(sorted(spec.zones))}" if spec.zones else ""
        out["min_count"] = (n >= spec.min_count,
                            f"{n} present{where} of the {spec.min_count} required")
    return out


def holds(spec: TrackSpec, track: Track | None, ctx: TrackContext | None) -> bool:
    """Whether every track criterion holds for this track."""
    return all(held for held, _why in evaluate(spec, track, ctx).values())


def due_at(spec: TrackSpec, track: Track, timeout: float) -> float | None:
    """The moment the spec's time conditions (dwell, stationary) first hold if nothing more
    is heard of the track; None when they cannot (it is not in the zones, it moves, it has
    no time condition) or its track ends first."""
    if not spec.timed:
        return None
    due = track.first_seen
    if spec.dwell_seconds is not None:
        start = stay_start(track, spec.dwell_zones)
        if start is None:
            return None
        due = max(due, start + spec.dwell_seconds)
    if spec.stationary_seconds is not None:
        if track.stationary_since is None:
            return None
        due = max(due, track.stationary_since + spec.stationary_seconds)
    end = track.end_time(timeout)
    if end is not None and due >= end:
        return None
    return due
