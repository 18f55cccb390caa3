"""What a MIDI file holds, as a dict and as the text ``fmcore info`` prints."""
from __future__ import annotations

import numpy as np

from fmcore.midi.reader import MidiSong

__all__ = ["max_polyphony", "song_info", "format_info"]


def max_polyphony(song: MidiSong) -> int:
    """Most keys held down at once, over all channels (a key is a (channel, note) pair).

    Events at the same tick are applied in file order; the sustain pedal is not counted.
    """
    ev = song.events(1)
    kind = ev["status"] & 0xF0
    down: set[tuple[int, int]] = set()
    most = 0
    for k, status, note, vel in zip(kind, ev["status"], ev["data1"], ev["data2"]):
        if k == 0x90 and vel > 0:
            down.add((status & 0x0F, note))
            most = max(most, len(down))
        elif k == 0x80 or k == 0x90:
            down.discard((status & 0x0F, note))
    return most


def song_info(song: MidiSong) -> dict:
    """A summary of ``song``; channels are 0-based indices (channel 10 of GM is 9).

    Keys: path, format, tracks, track_names, ticks_per_beat, smpte, tempo_events,
    tempo_changes (tempo map entries after the first), first_tempo_bpm, duration_seconds,
    end_tick, channels, notes_per_channel, programs_per_channel (in order of first use),
    cc_used, cc_per_channel, pitch_bend_events, sysex_events, max_polyphony, warnings.
    """
    ev = song.events(1)
    status, d1, d2 = ev["status"], ev["data1"], ev["data2"]
    kind, chan = status & 0xF0, status & 0x0F
    note_on = (kind == 0x90) & (d2 > 0)
    notes = {int(c): int(np.count_nonzero(note_on & (chan == c))) for c in np.unique(chan[note_on])}
    programs: dict[int, list[int]] = {}
    for c, p in zip(chan[kind == 0xC0], d1[kind == 0xC0]):
        used = programs.setdefault(int(c), [])
        if int(p) not in used:
            used.append(int(p))
    cc = kind == 0xB0
    cc_per_channel = {int(c): sorted({int(n) for n in d1[cc & (chan == c)]}) for c in np.unique(chan[cc])}
    first_tempo = song.tempo_map[0][1] if song.tempo_map else None
    return {
        "path": song.path,
        "format": song.format,
        "tracks": len(song.track_names),
        "track_names": list(song.track_names),
        "ticks_per_beat": song.ticks_per_beat,
        "smpte": song.smpte,
        "tempo_events": song.tempo_events,
        "tempo_changes": max(len(song.tempo_map) - 1, 0),
        "first_tempo_bpm": 60_000_000 / first_tempo if first_tempo else None,
        "duration_seconds": song.duration_seconds,
        "end_tick": song.end_tick,
        "channels": song.channels_used,
        "notes_per_channel": notes,
        "programs_per_channel": programs,
        "cc_used": sorted({int(n) for n in d1[cc]}),
        "cc_per_channel": cc_per_channel,
        "pitch_bend_events": int(np.count_nonzero(kind == 0xE0)),
        "sysex_events": len(song.sysex),
        "max_polyphony": max_polyphony(song),
        "warnings": list(song.warnings),
    }


def _duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{seconds:.3f} s ({int(minutes)}:{secs:06.3f})"


def _program(program: int, channel: int) -> str:
    from fmcore.gm import drum_kit_name, program_name

    name = drum_kit_name(program) if channel == 9 else program_name(program)
    return f"{program + 1} {name}"


def format_info(info: dict, path=None, *, title: str | None = None) -> str:
    """Readable multi-line text of a :func:`song_info` dict, headed by ``title`` or ``path``.

    Channels and programs are shown as musicians number them, from 1 (GM drums are channel
    10), with the General MIDI name of each program (a drum kit's on channel 10).
    """
    head = title or (str(path) if path is not None else info.get("path", "MIDI file"))
    if info.get("smpte"):
        fps, tpf = info["smpte"]
        timing = f"SMPTE {'29.97' if fps == 29 else fps} fps, {tpf} ticks per frame"
    else:
        timing = f"{info['ticks_per_beat']} ticks per beat"
    lines = [head,
             f"  format {info['format']}, {info['tracks']} track{'s' if info['tracks'] != 1 else ''}, {timing}",
             f"  duration {_duration(info['duration_seconds'])}, {info['end_tick']} ticks"]
    if info.get("first_tempo_bpm") is not None:
        lines.append(f"  tempo {info['first_tempo_bpm']:.2f} BPM at the start, {info['tempo_changes']} change"
                     f"{'s' if info['tempo_changes'] != 1 else ''} after it ({info['tempo_events']} set-tempo events)")
    lines.append(f"  max polyphony {info['max_polyphony']} key{'s' if info['max_polyphony'] != 1 else ''} "
                 f"down at once")
    total = sum(info["notes_per_channel"].values())
    lines.append(f"  {total} notes, {info['pitch_bend_events']} pitch bends, {info['sysex_events']} sysex messages")
    named = [(i, n) for i, n in enumerate(info["track_names"]) if n]
    if named:
        lines.append("  tracks:")
        lines += [f"    {i:3d}  {n}" for i, n in named]
    if info["channels"]:
        lines.append("  channels (1-16):")
    for c in info["channels"]:
        parts = [f"{info['notes_per_channel'].get(c, 0):6d} notes"]
        progs = info["programs_per_channel"].get(c)
        if progs:
            parts.append("program " + ", ".join(_program(p, c) for p in progs))
        ccs = info["cc_per_channel"].get(c)
        if ccs:
            parts.append("CC " + ", ".join(str(n) for n in ccs))
        label = f"{c + 1:2d}{' (drums)' if c == 9 else '        '}"
        lines.append(f"    {label} " + "  ".join(parts))
    return "\n".join(lines)
