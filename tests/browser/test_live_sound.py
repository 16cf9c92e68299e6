"""The rule's sound on the live page, in Debian's Chromium: with Sound on, an alert of a rule
whose sound is `chime` or `alarm` plays that file (static/sounds/), `default` beeps for a
critical alert, and `none` keeps quiet however severe the alert."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

# Keeps what the page plays: the files it starts, and the oscillators its beep makes.
LISTEN = """
window.__played = [];
window.__beeps = 0;
HTMLMediaElement.prototype.play = function () {
  window.__played.push(new URL(this.src).pathname);
  return Promise.resolve();
};
const oscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__beeps += 1;
  return oscillator.call(this);
};
"""


def heard(page) -> tuple[list[str], int]:
    played, beeps = page.evaluate("[window.__played, window.__beeps]")
    return played, beeps


def test_the_live_page_plays_the_rules_sound(page, server, api):
    page.add_init_script(LISTEN)
    page.goto(server + "/live")
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
    page.locator("#sound-toggle").check()
    rows = page.locator("#alert-list [data-alert-id]")

    def alert_of(sound: str, severity: str) -> None:
        camera = f"{sound}-{uuid.uuid4().hex[:8]}"  # its own camera: the server is shared
        api("POST", "/api/alerts/rules", json={
            "name": f"Person at {camera}", "severity": severity, "camera_ids": [camera],
            "object_types": ["person"], "cooldown_seconds": 0, "channels": [],
            "sound": sound})
        api("POST", "/api/events", json={
            "camera_id": camera, "started_at": datetime.now(UTC).isoformat(),
            "risk_score": 90, "detections": [{"object_type": "person", "confidence": 0.95}]})
        expect(rows.filter(has_text=camera)).to_have_count(1)
        time.sleep(1.2)  # the page sounds at most once a second

    alert_of("chime", "low")
    assert heard(page) == (["/static/sounds/chime.wav"], 0)
    alert_of("none", "critical")
    assert heard(page) == (["/static/sounds/chime.wav"], 0)  # quiet
    alert_of("alarm", "low")
    assert heard(page) == (["/static/sounds/chime.wav", "/static/sounds/alarm.wav"], 0)
    alert_of("default", "critical")
    played, beeps = heard(page)
    assert len(played) == 2 and beeps > 0  # the built-in beep
    for name in ("chime", "alarm"):  # the files exist and are sound
        answer = page.request.get(f"{server}/static/sounds/{name}.wav")
        assert answer.ok and answer.body()[:4] == b"RIFF" and answer.body()[8:12] == b"WAVE"
