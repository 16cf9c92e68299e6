"""What arming modes cost the matcher per event: RuleIndex.match_all at 1,000 rules without
modes, against the same with the mode at each event's time looked up in a year of history (a
nightly schedule plus people's changes), and with 30% of the rules limited to one or two modes.

Usage: python bench/modes.py [--events N] [--seed S]

The rules and events are bench/match.py's. Each event is timed alone (perf_counter_ns), the
lookup of the mode included, the cases taking turns event by event. Prints median and p99
microseconds per event and their ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerting.engine.index import RuleIndex  # noqa: E402
from alerting.engine.modes import (  # noqa: E402
    DEFAULT_MODES,
    ModeChange,
    ModeSchedule,
    ModeTimeline,
    ModeWindow,
    scheduled_changes,
)
from alerting.engine.vocabulary import DAYS  # noqa: E402
from bench.match import START, make_events, make_rules  # noqa: E402

RULES = 1_000
MODE_SHARE = 0.3


def history(rng: random.Random) -> ModeTimeline:
    """2025 and a bit: the nightly schedule's changes and 300 changes by people."""
    schedule = ModeSchedule((ModeWindow("night", DAYS, clock_time(23), clock_time(6, 30)),),
                            "Europe/Berlin")
    people = [ModeChange(START + timedelta(seconds=rng.randint(0, 370 * 86400)),
                         rng.choice(DEFAULT_MODES)) for _ in range(300)]
    people.sort(key=lambda c: c.at)
    made = scheduled_changes(people, schedule, START - timedelta(days=1),
                             START + timedelta(days=370))
    return ModeTimeline(sorted([*people, *made], key=lambda c: c.at))


def timed(cases, events) -> list[list[float]]:
    """Per case, µs per event; the cases take turns on each event, so a busy moment of the
    machine falls on both alike."""
    clock = time.perf_counter_ns
    samples: list[list[float]] = [[] for _ in cases]
    order = list(range(len(cases)))
    for event in events:
        order.append(order.pop(0))  # each case goes first as often as the others
        for i in order:
            t0 = clock()
            cases[i](event)
            samples[i].append((clock() - t0) / 1000)
    return samples


def run(count: int, seed: int) -> str:
    rng = random.Random(seed)
    rules = make_rules(RULES, rng)
    events = make_events(count, RULES // 10, rng)
    moded = [dataclasses.replace(r, modes=tuple(rng.sample(DEFAULT_MODES, rng.randint(1, 2))))
             if rng.random() < MODE_SHARE else r for r in rules]
    timeline = history(rng)
    plain, with_modes = RuleIndex(rules), RuleIndex(moded)
    mode_at = timeline.mode_at

    def without(event):
        return plain.match_all(event)

    def lookup_only(event):
        return plain.match_all(event, mode=mode_at(event.started_at))

    def with_mode(event):
        return with_modes.match_all(event, mode=mode_at(event.started_at))

    for event in events:  # warm the compiled rules and the indexes' candidate lists
        without(event)
        with_mode(event)
    names = ("no modes", "no rule with modes, mode looked up", "30% of rules with modes")
    cases = (without, lookup_only, with_mode)
    results = {name: (statistics.median(samples),
                      statistics.quantiles(samples, n=100, method="inclusive")[98])
               for name, samples in zip(names, timed(cases, events), strict=True)}
    lines = ["| rules | case | median µs/event | p99 µs/event |", "|---:|---|---:|---:|"]
    lines += [f"| {RULES:,} | {name} | {median:.1f} | {p99:.1f} |"
              for name, (median, p99) in results.items()]
    base = results["no modes"]
    lines += ["", f"- history: {len(timeline.changes)} changes"]
    for name in names[1:]:
        median, p99 = results[name]
        lines.append(f"- {name} / no modes: median {median / base[0]:.2f}, "
                     f"p99 {p99 / base[1]:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="events (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    print(f"events: {args.events}, seed: {args.seed}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
    print(run(args.events, args.seed))
    print(f"\n(load average at the end {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
