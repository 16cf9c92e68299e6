"""Synthesise the live page's alert sounds (static/sounds/*.wav) with the standard library:
short 16-bit mono tones, so nothing is downloaded. Run `python tools/make_sounds.py` again to
regenerate them; the output is the same every time."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).resolve().parents[1] / "static" / "sounds"

# name -> notes as (frequency in Hz, start in seconds, length in seconds)
SOUNDS: dict[str, list[tuple[float, float, float]]] = {
    # Two soft falling notes (E6, C6), each fading out like a bell.
    "chime": [(1318.5, 0.0, 0.45), (1046.5, 0.18, 0.6)],
    # Three loud alternating square-ish pulses (A5, E6), like a siren.
    "alarm": [(880.0, 0.0, 0.18), (1318.5, 0.2, 0.18), (880.0, 0.4, 0.18),
              (1318.5, 0.6, 0.18)],
}


def _sample(name: str, notes: list[tuple[float, float, float]], t: float) -> float:
    value = 0.0
    for frequency, start, length in notes:
        if not start <= t < start + length:
            continue
        local = t - start
        phase = math.sin(2 * math.pi * frequency * local)
        if name == "chime":
            value += 0.5 * phase * math.exp(-6 * local)  # a bell's decay
        else:
            attack = min(1.0, local / 0.005, (start + length - t) / 0.005)
            value += 0.45 * attack * max(-1.0, min(1.0, 3 * phase))  # clipped: harsher
    return max(-1.0, min(1.0, value))


def write(name: str, notes: list[tuple[float, float, float]]) -> Path:
    """Write one sound to static/sounds/<name>.wav; its path."""
    end = max(start + length for _f, start, length in notes)
    frames = b"".join(struct.pack("<h", int(32767 * _sample(name, notes, i / RATE)))
                      for i in range(int(end * RATE)))
    path = OUT / f"{name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    return path


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for sound, notes in SOUNDS.items():
        print(write(sound, notes))
