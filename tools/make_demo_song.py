"""Write the built-in demo song, ``fmcore/data/demo.mid``: a 26-second piece for the built-in bank.

    python tools/make_demo_song.py [output.mid]

Type 1, 480 ticks per beat, 12 bars of 4/4 in C major: 8 bars at 108 BPM, then 4 at
116 BPM. One part per channel, each selecting its built-in patch by program change:

    ch 0  E.Piano (GM program 5)  chords, sustain pedal (CC64) changed every bar
    ch 1  Bass    (GM program 34)  root/fifth/octave line
    ch 2  Lead    (GM program 82)  melody from bar 5, pitch-bend scoops and mod-wheel (CC1) vibrato
    ch 3  Bells   (GM program 15)  arpeggios in the intro and the last 4 bars, CC7 swell, CC10 pan
    ch 4  Pad     (GM program 90)  soft sustained chords
    ch 9  drums   (GM keys: kick 36, snare 38, closed hat 42, open hat 46, crash 49)

The output is deterministic: the same bytes on every run (tests compare them).
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import mido

TPB = 480
BAR = 4 * TPB
BEAT = TPB
TEMPO_A = mido.bpm2tempo(108)
TEMPO_B = mido.bpm2tempo(116)
TEMPO_CHANGE_BAR = 8
BARS = 12

# Chord per bar (two in bar 10): (bass root, voicing for the electric piano).
_CHORDS = {
    "Cmaj7": (36, [52, 55, 59, 60]),
    "Am7": (33, [52, 55, 57, 60]),
    "Dm7": (38, [53, 57, 60, 62]),
    "G7": (43, [53, 55, 59, 62]),
    "Fmaj7": (41, [52, 57, 60, 65]),
    "Em7": (40, [50, 55, 59, 64]),
    "Cmaj9": (36, [52, 55, 59, 62]),
}
_PROGRESSION = ["Cmaj7", "Am7", "Dm7", "G7", "Cmaj7", "Am7", "Fmaj7", "G7",
                "Em7", "Am7", ("Dm7", "G7"), "Cmaj9"]

# Lead melody: (bar, beat, length in beats, note).
_MELODY = [
    (4, 0, 1.5, 67), (4, 1.5, 0.5, 69), (4, 2, 1, 71), (4, 3, 1, 72),
    (5, 0, 2, 76), (5, 2, 1, 74), (5, 3, 1, 72),
    (6, 0, 1, 69), (6, 1, 1, 72), (6, 2, 2, 77),
    (7, 0, 1.5, 76), (7, 1.5, 0.5, 74), (7, 2, 2, 74),
    (8, 0, 1, 71), (8, 1, 1, 74), (8, 2, 1, 79), (8, 3, 1, 76),
    (9, 0, 1.5, 76), (9, 1.5, 0.5, 72), (9, 2, 2, 69),
    (10, 0, 1, 72), (10, 1, 1, 74), (10, 2, 1, 77), (10, 3, 1, 74),
    (11, 0, 4, 72),
]
# Pitch-bend scoops into a note: (bar, beat, semitones below, beats to reach pitch); range +-2 semitones.
_SCOOPS = [(6, 2, 1.0, 0.5), (8, 2, 0.5, 0.25)]
# Mod-wheel swells: (bar, first beat, beats, peak value).
_SWELLS = [(7, 2, 2, 80), (11, 0.5, 3, 96)]

# Sort order inside one tick: releases, then controls, then new notes.
_NOTE_OFF, _CONTROL, _NOTE_ON = 0, 1, 2


def _chords_of_bar(bar: int) -> list[tuple[int, int, str]]:
    """(start tick, end tick, chord name) of each chord in ``bar``."""
    spec = _PROGRESSION[bar]
    start = bar * BAR
    if isinstance(spec, tuple):
        return [(start, start + BAR // 2, spec[0]), (start + BAR // 2, start + BAR, spec[1])]
    return [(start, start + BAR, spec)]


class _Part:
    """Events of one track at absolute ticks, turned into delta-time messages at the end."""

    def __init__(self, name: str, channel: int | None):
        self.name = name
        self.channel = channel
        self.events: list[tuple[int, int, int, mido.Message | mido.MetaMessage]] = []

    def add(self, tick: int, order: int, msg) -> None:
        self.events.append((int(tick), order, len(self.events), msg))

    def note(self, tick: int, length: int, note: int, velocity: int) -> None:
        self.add(tick, _NOTE_ON, mido.Message("note_on", channel=self.channel, note=note, velocity=velocity))
        self.add(tick + length, _NOTE_OFF, mido.Message("note_off", channel=self.channel, note=note, velocity=64))

    def cc(self, tick: int, control: int, value: int) -> None:
        self.add(tick, _CONTROL, mido.Message("control_change", channel=self.channel, control=control, value=value))

    def bend(self, tick: int, pitch: int) -> None:
        self.add(tick, _CONTROL, mido.Message("pitchwheel", channel=self.channel, pitch=pitch))

    def track(self) -> mido.MidiTrack:
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=self.name, time=0)])
        now = 0
        for tick, _, _, msg in sorted(self.events, key=lambda e: e[:3]):
            track.append(msg.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        return track


# General MIDI programs (0-based), mapped to the built-in bank's patches by fmcore.presets.
GM_EPIANO, GM_BASS, GM_LEAD, GM_BELLS, GM_PAD = 4, 33, 81, 14, 89


def _setup(part: _Part, program: int, volume: int, pan: int) -> None:
    part.add(0, _CONTROL, mido.Message("program_change", channel=part.channel, program=program))
    part.cc(0, 7, volume)
    part.cc(0, 10, pan)


def _conductor() -> _Part:
    part = _Part("fmcore demo", None)
    part.add(0, _CONTROL, mido.MetaMessage("time_signature", numerator=4, denominator=4))
    part.add(0, _CONTROL, mido.MetaMessage("key_signature", key="C"))
    part.add(0, _CONTROL, mido.MetaMessage("set_tempo", tempo=TEMPO_A))
    part.add(TEMPO_CHANGE_BAR * BAR, _CONTROL, mido.MetaMessage("set_tempo", tempo=TEMPO_B))
    part.add(TEMPO_CHANGE_BAR * BAR, _CONTROL, mido.MetaMessage("marker", text="faster"))
    return part


def _electric_piano() -> _Part:
    part = _Part("E.Piano", 0)
    _setup(part, GM_EPIANO, 100, 52)
    part.cc(0, 64, 0)
    for bar in range(BARS):
        for start, end, name in _chords_of_bar(bar):
            voicing = _CHORDS[name][1]
            if bar == BARS - 1:
                hits = [(0, BAR - 60, 72)]
            elif end - start < BAR:
                hits = [(0, BEAT + BEAT // 2, 76), (BEAT + BEAT // 2, BEAT // 2, 62)]
            else:
                hits = [(0, BEAT + BEAT // 2, 78), (BEAT + BEAT // 2, BEAT // 2, 64), (3 * BEAT, BEAT, 70)]
            for offset, length, velocity in hits:
                for i, note in enumerate(voicing):
                    part.note(start + offset, length - 10, note, velocity - 3 * i)
        # Pedal change: up just before the bar line, down just after the new chord.
        part.cc(bar * BAR + 10, 64, 127)
        part.cc(bar * BAR + BAR - 15, 64, 0)
    return part


def _bass() -> _Part:
    part = _Part("Bass", 1)
    _setup(part, GM_BASS, 105, 64)
    for bar in range(BARS):
        for start, end, name in _chords_of_bar(bar):
            root = _CHORDS[name][0]
            if bar == BARS - 1:
                part.note(start, BAR - 60, root, 96)
            elif end - start < BAR:
                part.note(start, 420, root, 100)
                part.note(start + 2 * BEAT // 2 + BEAT // 2, 200, root + 7, 84)
            else:
                pattern = [(0, 420, 0, 100), (720, 200, 7, 82), (960, 420, 0, 94), (1440, 200, 12, 88),
                           (1680, 200, 7, 76)]
                for offset, length, interval, velocity in pattern:
                    part.note(start + offset, length, root + interval, velocity)
    return part


def _lead() -> _Part:
    part = _Part("Lead", 2)
    _setup(part, GM_LEAD, 96, 72)
    part.cc(0, 1, 0)
    part.bend(0, 0)
    for bar, beat, beats, note in _MELODY:
        start = bar * BAR + round(beat * BEAT)
        part.note(start, round(beats * BEAT * 0.92), note, 92 if beat == 0 else 80)
    for bar, beat, semitones, beats in _SCOOPS:
        start = bar * BAR + round(beat * BEAT)
        steps = 8
        for i in range(steps + 1):
            pitch = round(-8191 * semitones / 2 * (1 - i / steps))
            part.bend(start + round(i * beats * BEAT / steps), pitch)
    for bar, beat, beats, peak in _SWELLS:
        start = bar * BAR + round(beat * BEAT)
        steps = 12
        for i in range(steps + 1):
            part.cc(start + round(i * beats * BEAT / steps), 1, round(peak * i / steps))
        part.cc(start + round(beats * BEAT) + BEAT // 4, 1, 0)
    return part


def _bells() -> _Part:
    part = _Part("Bells", 3)
    _setup(part, GM_BELLS, 70, 84)
    for bar in (0, 1, 8, 9, 10, 11):
        if bar == TEMPO_CHANGE_BAR:
            for i in range(9):           # volume swell over the first bar of the faster section
                part.cc(bar * BAR + i * BAR // 8, 7, 50 + 5 * i)
        for start, end, name in _chords_of_bar(bar):
            voicing = _CHORDS[name][1]
            offsets = range(BEAT // 2, end - start, BEAT) if bar < BARS - 1 else [0, BEAT, 2 * BEAT]
            for i, offset in enumerate(offsets):
                tick = start + offset
                part.cc(tick, 10, 34 if (tick // BEAT) % 2 else 94)      # ping-pong pan
                part.note(tick, 3 * BEAT // 4, voicing[(i + bar) % len(voicing)] + 24, 64 + 6 * (i % 2))
    return part


def _pad() -> _Part:
    part = _Part("Pad", 4)
    _setup(part, GM_PAD, 72, 64)
    for bar in range(BARS):
        for start, end, name in _chords_of_bar(bar):
            for note in _CHORDS[name][1][1:]:
                part.note(start, end - start - 20, note + 12, 48)
    return part


def _drums() -> _Part:
    kick, snare, closed, open_, crash = 36, 38, 42, 46, 49
    part = _Part("Drums", 9)
    _setup(part, 0, 100, 64)
    for bar in range(BARS):
        t = bar * BAR
        if bar == BARS - 1:
            part.note(t, 240, kick, 110)
            part.note(t, 960, crash, 100)
            break
        for eighth in range(8):
            tick = t + eighth * BEAT // 2
            if eighth == 7 and bar % 2 == 1:
                part.note(tick, 200, open_, 76)
            else:
                part.note(tick, 100, closed, 84 if eighth % 2 == 0 else 58)
        if bar < 2:
            continue
        for beat in (0, 2):
            part.note(t + beat * BEAT, 120, kick, 108)
        if bar % 2 == 1:
            part.note(t + BEAT + BEAT // 2, 120, kick, 86)
        part.note(t + BEAT, 120, snare, 100)
        if bar == TEMPO_CHANGE_BAR - 1:
            for i in range(4):           # a sixteenth-note fill into the faster section
                part.note(t + 3 * BEAT + i * BEAT // 4, 90, snare, 80 + 8 * i)
        else:
            part.note(t + 3 * BEAT, 120, snare, 100)
        if bar in (2, TEMPO_CHANGE_BAR):
            part.note(t, 960, crash, 96)
    return part


def build_demo_song() -> mido.MidiFile:
    """The demo song as a mido MidiFile (type 1: conductor track, then one track per part)."""
    song = mido.MidiFile(type=1, ticks_per_beat=TPB)
    for part in (_conductor(), _electric_piano(), _bass(), _lead(), _bells(), _pad(), _drums()):
        song.tracks.append(part.track())
    return song


def demo_song_bytes() -> bytes:
    """The bytes of ``fmcore/data/demo.mid``, identical on every run."""
    buf = io.BytesIO()
    build_demo_song().save(file=buf)
    return buf.getvalue()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "fmcore" / "data" / "demo.mid"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = demo_song_bytes()
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    print(f"{out}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
