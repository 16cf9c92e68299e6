"""The demo detector: its generator (seeded, valid, plausible) and the `simulate` command
against a real running server."""

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from alerting.schemas.events import parse_event
from alerting.simulate import CAMERAS, OBJECT_TYPES, EventGenerator, cameras, is_night
from tests.support.databases import TempDatabase
from tests.support.server import BIN, ROOT, free_port, running_server, server_env, upgrade

DAY = datetime(2026, 1, 15, 13, 0, tzinfo=UTC)
NIGHT = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)


def generate(n, *, seed=1, at=DAY, camera_count=4, run_id="run"):
    generator = EventGenerator(seed=seed, camera_count=camera_count, run_id=run_id)
    return [generator.event(at + timedelta(seconds=i)) for i in range(n)]


def test_same_seed_same_events():
    assert generate(50, seed=3) == generate(50, seed=3)
    assert generate(50, seed=3) != generate(50, seed=4)


@pytest.mark.parametrize("at", [DAY, NIGHT], ids=["day", "night"])
def test_events_are_valid_and_plausible(at):
    events = generate(500, at=at, camera_count=6)
    zones = {c.id: set(c.zones) for c in cameras(6)}
    for body in events:
        parsed = parse_event(body, now=at)
        assert parsed["source"] == "simulator"
        assert parsed["started_at"] <= at + timedelta(seconds=len(events))
        assert 0 <= parsed["risk_score"] <= 100
        assert ("night" in parsed["labels"]) == is_night(parsed["started_at"])
        assert parsed["summary"] and parsed["detections"]
        for det in parsed["detections"]:
            assert det["object_type"] in OBJECT_TYPES
            assert 0.3 <= det["confidence"] <= 0.99
            x, y, w, h = det["bbox"]
            assert 0 <= x and 0 <= y and x + w <= 1 and y + h <= 1
            assert set(det["zone_ids"]) <= zones[parsed["camera_id"]]
    assert len({e["external_id"] for e in events}) == len(events)
    assert {e["camera_id"] for e in events} == set(zones)
    seen = {d["object_type"] for e in events for d in e["detections"]}
    assert {"person", "car", "dog", "cat", "package"} <= seen


def test_risk_follows_object_type_and_night():
    def mean_risk(events, kind):
        risks = [e["risk_score"] for e in events if e["detections"][0]["object_type"] == kind]
        return sum(risks) / len(risks)

    day, night = generate(3000, at=DAY), generate(3000, at=NIGHT)
    assert mean_risk(night, "person") > mean_risk(day, "person") + 15
    assert mean_risk(day, "person") > mean_risk(day, "car") > mean_risk(day, "cat")


def test_cameras():
    assert [c.id for c in cameras(4)] == ["front-door", "driveway", "backyard", "garage"]
    many = [c.id for c in cameras(len(CAMERAS) + 3)]
    assert len(set(many)) == len(many) and "front-door-2" in many
    with pytest.raises(ValueError):
        cameras(0)


@pytest.mark.parametrize("at", [DAY, NIGHT], ids=["day", "night"])
def test_seed_zero_has_a_risky_event_early(at):
    # The command test below relies on it: the demo rule "High-risk activity" fires.
    assert any(e["risk_score"] >= 60 for e in generate(20, seed=0, at=at))


def flask(env, *args):
    return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def query(database, sql):
    engine = create_engine(database.url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).one()
    finally:
        engine.dispose()


def test_simulate_posts_events_that_become_alerts(tmp_path):
    database = TempDatabase(tmp_path, "simulate")
    with running_server(tmp_path, database=database) as (url, _proc, _log):
        env = server_env(database.url)
        # No --url: the server `make run` starts on $PORT is the default (not only :8000).
        done = flask({**env, "PORT": url.rsplit(":", 1)[1]}, "simulate", "--count", "20",
                     "--rate", "50", "--seed", "0", "--report-every", "10")
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert f"Posting to {url} from" in out
        assert "Created ingest key" in out and "'simulator'" in out
        assert "created the demo rule 'Person at night (demo)'" in out
        assert "10 events posted" in out and "20 events posted" in out
        events, unprocessed = query(database, "SELECT count(*), count(*) - count(processed_at) "
                                              "FROM events WHERE source = 'simulator'")
        assert (events, unprocessed) == (20, 0)
        [alerts] = query(database, "SELECT count(*) FROM alerts")
        assert alerts > 0 and f"{alerts} alerts." in out
        # The run's key ends with it, deleted rather than left behind revoked.
        assert query(database, "SELECT count(*) FROM api_keys WHERE name = 'simulator'") == (0,)
        assert query(database, "SELECT count(*) FROM audit_log WHERE action = 'api_key_delete'"
                     " AND actor = 'cli:simulate'") == (1,)

        refused = flask(env, "simulate", "--url", url, "--count", "1", "--key", "not-a-key")
        assert refused.returncode != 0 and "server refused the API key" in refused.stderr

        # With the bootstrap key in the environment and rules in place: no new key, no rules.
        again = flask({**env, "ALERTING_BOOTSTRAP_API_KEY": "sim-test-key-0123456789"},
                      "simulate", "--url", url, "--count", "3", "--rate", "100")
        assert again.returncode == 0, again.stderr
        assert "Created ingest key" not in again.stdout and "demo rule" not in again.stdout
        assert "Done: 3 events posted" in again.stdout
    database.drop()


def test_simulate_says_when_the_server_is_not_there(tmp_path):
    database = TempDatabase(tmp_path, "simulate")
    env = server_env(database.url)
    upgrade(env)
    done = flask(env, "simulate", "--url", f"http://127.0.0.1:{free_port()}", "--count", "1",
                 "--key", "whatever")
    database.drop()
    assert done.returncode != 0
    assert "cannot reach" in done.stderr and "make run" in done.stderr
