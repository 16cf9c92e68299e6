"""Engine cost per event: RuleIndex.match_all vs match_linear at 100, 1,000 and 10,000 rules.

Usage: python bench/match.py [--events N] [--seed S]

The rule mix: rules/10 cameras; all but 10 rules are camera-scoped (90% to one camera, 10% to
two); the 10 wildcard rules watch every camera. 85% of camera rules (60% of wildcard ones) list
one or two object types; 40% have a risk threshold, 40% zones, 50% a minimum confidence, 25% a
schedule (in one of four timezones or the default), 15% one or two conditions; 5% are disabled;
dedup templates use {camera_id}, {object_type}, {zone_id}, {hour} and {date}. Events: a random
camera, 0-4 detections of weighted types with 0-2 zones, a random time over a year.

Each event is timed alone (perf_counter_ns); both modes see the same events, after a warm-up
that also checks they agree. Prints a markdown table of median and p99 microseconds per event.

Then silences, at 1,000 rules: the matcher's per-event work (match_all, then for each match
the silence check engine.silences.SilenceSet.covering on its facts) with no silences and with
--silences (default 100) silences all active at every event's time, in the mix one-click
snooze makes: 45% one camera, 25% one rule, 20% camera + object type, 10% by object type
regex and severity (those are tested against every match). `--only-silences` runs just that.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerting.engine.dedup import dedup_zone  # noqa: E402
from alerting.engine.index import RuleIndex, match_linear  # noqa: E402
from alerting.engine.silences import Facts, Matcher, Silence, SilenceSet  # noqa: E402
from alerting.engine.types import Condition, Detection, Event, Rule, Schedule  # noqa: E402
from alerting.engine.vocabulary import DAYS, SEVERITIES  # noqa: E402

SIZES = (100, 1_000, 10_000)
WILDCARD_RULES = 10
TYPES = ("person", "car", "truck", "dog", "cat", "bicycle", "package", "motorcycle")
TYPE_WEIGHTS = (40, 25, 6, 8, 8, 5, 5, 3)
ZONES = ("driveway", "porch", "yard", "street", "garage", "gate")
TIMEZONES = ("UTC", "America/New_York", "Europe/London", "Asia/Tokyo", None)
TEMPLATES = (None, "{camera_id}:{object_type}:{hour}", "{rule_id}:{zone_id}:{date}", None)
SUMMARIES = (
    "person walking up the driveway",
    "car parked on the street",
    "dog running across the yard",
    "delivery driver leaves a package at the porch",
    "unknown vehicle idling near the gate",
)
LABELS = ("night", "motion", "audio", "face", "plate", "loitering")
START = datetime(2025, 1, 1, tzinfo=UTC)


def _types(rng: random.Random) -> tuple[str, ...]:
    return tuple(set(rng.choices(TYPES, TYPE_WEIGHTS, k=rng.choice((1, 1, 2)))))


def _zones(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.sample(ZONES, rng.randint(1, 2)))


def _schedule(rng: random.Random) -> Schedule:
    days = tuple(sorted(rng.sample(DAYS, rng.randint(1, 7)), key=DAYS.index))
    start = rng.choice((0, 6, 8, 18, 22))
    end = rng.choice((0, 6, 9, 17, 23))
    return Schedule(days, clock_time(start), clock_time(end), rng.choice(TIMEZONES))


def _conditions(rng: random.Random) -> tuple[Condition, ...]:
    pool = (
        Condition("summary", "contains", rng.choice(("driveway", "package", "vehicle"))),
        Condition("detection_count", "gte", rng.randint(1, 3)),
        Condition("labels", "in", rng.sample(LABELS, 2)),
        Condition("risk_level", "in", ["high", "critical"]),
        Condition("summary", "matches", r"\b(person|driver)\b"),
        Condition("duration_seconds", "lt", 120),
    )
    return tuple(rng.sample(pool, rng.randint(1, 2)))


def make_rules(n: int, rng: random.Random) -> list[Rule]:
    """n rules: n - WILDCARD_RULES camera-scoped over n/10 cameras, the rest on every camera."""
    cameras = [f"cam-{i:05d}" for i in range(max(1, n // 10))]
    rules = []
    for i in range(n):
        wildcard = i < WILDCARD_RULES
        if wildcard:
            camera_ids = None
        elif rng.random() < 0.9:
            camera_ids = (rng.choice(cameras),)
        else:
            camera_ids = tuple(set(rng.sample(cameras, min(2, len(cameras)))))
        rules.append(
            Rule(
                id=f"rule-{rng.getrandbits(64):016x}",
                name=f"rule {i}",
                severity=rng.choice(SEVERITIES),
                enabled=rng.random() < 0.95,
                risk_threshold=rng.randint(20, 90) if rng.random() < 0.4 else None,
                object_types=_types(rng) if rng.random() < (0.6 if wildcard else 0.85) else None,
                camera_ids=camera_ids,
                zone_ids=_zones(rng) if rng.random() < 0.4 else None,
                min_confidence=round(rng.uniform(0.4, 0.9), 2) if rng.random() < 0.5 else None,
                schedule=_schedule(rng) if rng.random() < 0.25 else None,
                conditions=_conditions(rng) if rng.random() < 0.15 else None,
                dedup_key_template=rng.choice(TEMPLATES),
                cooldown_seconds=rng.choice((0, 60, 300, 600)),
            )
        )
    return rules


def make_events(count: int, cameras: int, rng: random.Random) -> list[Event]:
    """Random events with 0-4 detections on one of `cameras` cameras."""
    events = []
    for i in range(count):
        detections = tuple(
            Detection(
                object_type=rng.choices(TYPES, TYPE_WEIGHTS)[0],
                confidence=round(rng.uniform(0.3, 0.99), 2) if rng.random() < 0.95 else None,
                zone_ids=tuple(rng.sample(ZONES, rng.randint(0, 2))),
            )
            for _ in range(rng.randint(0, 4))
        )
        started = START + timedelta(seconds=rng.randint(0, 365 * 86400))
        events.append(
            Event(
                camera_id=f"cam-{rng.randrange(cameras):05d}",
                started_at=started,
                id=i,
                ended_at=started + timedelta(seconds=rng.randint(0, 300)),
                risk_score=rng.randint(0, 100) if rng.random() < 0.9 else None,
                summary=rng.choice(SUMMARIES),
                labels=tuple(rng.sample(LABELS, rng.randint(0, 2))),
                detections=detections,
            )
        )
    return events


def _time(fn, events: list[Event]) -> tuple[list[float], int]:
    gc.collect()
    samples = []
    matches = 0
    clock = time.perf_counter_ns
    for event in events:
        t0 = clock()
        verdicts = fn(event)
        samples.append((clock() - t0) / 1000)
        matches += len(verdicts)
    return samples, matches


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def run(events_per_size: int, seed: int) -> str:
    """Run every size in both modes and return the markdown report."""
    rows = []
    medians: dict[tuple[int, str], float] = {}
    for n in SIZES:
        rng = random.Random(seed + n)
        rules = make_rules(n, rng)
        events = make_events(events_per_size, max(1, n // 10), rng)
        index = RuleIndex(rules)
        modes = {
            "indexed": index.match_all,
            "linear": lambda e, rules=rules: match_linear(rules, e),
        }
        # Warm the compiled-rule caches, and check both modes agree before timing them.
        for e in events[:200]:
            got = {v.rule_id for v in index.match_all(e)}
            want = {v.rule_id for v in match_linear(rules, e)}
            if got != want:
                raise SystemExit(f"index and linear disagree at {n} rules on event {e.id}")
        for mode, fn in modes.items():
            samples, matches = _time(fn, events)
            median = statistics.median(samples)
            medians[n, mode] = median
            rows.append(
                f"| {n:,} | {mode} | {median:.1f} | {_p99(samples):.1f} "
                f"| {matches / len(events):.2f} |"
            )
    lines = [
        "| rules | mode | median µs/event | p99 µs/event | matches/event |",
        "|---:|---|---:|---:|---:|",
        *rows,
        "",
    ]
    for n in SIZES:
        ratio = medians[n, "linear"] / medians[n, "indexed"]
        lines.append(f"- {n:,} rules: indexed is {ratio:.1f}x faster than linear (median)")
    scale = medians[10_000, "indexed"] / medians[1_000, "indexed"]
    lines.append(f"- indexed 10k/1k cost ratio (median): {scale:.2f}")
    at_1k = medians[1_000, "indexed"]
    speedup = medians[1_000, "linear"] / at_1k
    lines += [
        "",
        f"- goal median <= 20 µs at 1,000 rules indexed: {at_1k:.1f} µs, "
        + ("met" if at_1k <= 20 else "MISSED"),
        f"- goal indexed >= 5x faster than linear at 1,000 rules: {speedup:.1f}x, "
        + ("met" if speedup >= 5 else "MISSED"),
        f"- goal 10k costs <= 3x what 1k costs: {scale:.2f}x, "
        + ("met" if scale <= 3 else "MISSED"),
    ]
    return "\n".join(lines)


def make_silences(count: int, rules: list[Rule], rng: random.Random) -> list[Silence]:
    """`count` silences active over the whole year of events, in the snooze mix."""
    cameras = sorted({c for r in rules for c in (r.camera_ids or ())})
    start, end = START - timedelta(days=1), START + timedelta(days=367)
    silences = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.45:
            matchers = (Matcher("camera_id", "=", rng.choice(cameras)),)
        elif roll < 0.70:
            matchers = (Matcher("rule_id", "=", rng.choice(rules).id),)
        elif roll < 0.90:
            matchers = (Matcher("camera_id", "=", rng.choice(cameras)),
                        Matcher("object_type", "=", rng.choice(TYPES)))
        else:
            matchers = (Matcher("object_type", "=~", rng.choice(("bicycle|motorcycle", "cat"))),
                        Matcher("severity", "!=", "critical"))
        silences.append(Silence(f"s{i}", matchers, start, end))
    return silences


def run_silences(events_per_size: int, seed: int, count: int) -> str:
    """Matching plus the silence check at 1,000 rules: none vs `count` active silences."""
    n = 1_000
    rng = random.Random(seed + n)
    rules = make_rules(n, rng)
    events = make_events(events_per_size, n // 10, rng)
    index = RuleIndex(rules)
    by_id = {r.id: r for r in rules}
    sets = {"none": SilenceSet(), f"{count} active": SilenceSet(make_silences(count, rules, rng))}

    def matcher(silences: SilenceSet, tally: list[int]):
        def one(event: Event) -> list:
            verdicts = index.match_all(event)
            if not silences.size:  # as the pipeline: no silences, no facts to build
                return verdicts
            for v in verdicts:
                rule, det = by_id[v.rule_id], v.detection
                facts = Facts(event.camera_id, v.rule_id, rule.severity,
                              det.object_type if det else "",
                              dedup_zone(rule.zone_ids, det), "", event.labels)
                if silences.covering(facts, event.started_at) is not None:
                    tally[0] += 1
            return verdicts
        return one

    for e in events[:200]:  # warm-up (compiled rules and regexes)
        matcher(sets[f"{count} active"], [0])(e)
    # Interleaved, event by event, in turns first: a busy machine slows both modes alike,
    # and neither always finds the caches warmed by the other.
    tallies = {name: [0] for name in sets}
    fns = {name: matcher(silences, tallies[name]) for name, silences in sets.items()}
    samples: dict[str, list[float]] = {name: [] for name in sets}
    matches = 0
    clock = time.perf_counter_ns
    gc.collect()
    order = list(fns.items())
    for i, event in enumerate(events):
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            t0 = clock()
            verdicts = fn(event)
            samples[name].append((clock() - t0) / 1000)
        matches += len(verdicts)
    medians, rows = {}, []
    for name in sets:
        medians[name] = statistics.median(samples[name])
        rows.append(f"| {name} | {medians[name]:.1f} | {_p99(samples[name]):.1f} "
                    f"| {matches / len(events):.2f} | {tallies[name][0] / max(1, matches):.0%} |")
    ratio = medians[f"{count} active"] / medians["none"]
    return "\n".join([
        f"Silences at {n:,} rules (match_all + the silence check of every match):",
        "",
        "| silences | median µs/event | p99 µs/event | matches/event | matches silenced |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"- goal {count} active silences cost <= 2x none (median): {ratio:.2f}x, "
        + ("met" if ratio <= 2 else "MISSED"),
    ])


def main(argv: list[str] | None = None) -> None:
    """Parse options and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per size (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--silences", type=int, default=100,
                        help="active silences in the silences section (default 100)")
    parser.add_argument("--only-silences", action="store_true",
                        help="run only the silences section")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        f"events per size: {args.events}, seed: {args.seed}, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n"
    )
    if not args.only_silences:
        print(run(args.events, args.seed))
        print()
    print(run_silences(args.events, args.seed, args.silences))
    # Other processes on the machine inflate every figure: say how busy it was.
    print(
        f"\n(total {time.perf_counter() - started:.1f} s, "
        f"load average at the end {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
