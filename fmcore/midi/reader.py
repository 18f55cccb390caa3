"""Standard MIDI File reader: bytes in, a tempo map and channel events at exact samples out.

The project reads SMF itself rather than through mido because real files bend the
spec in ways mido refuses (an unknown chunk, running status resumed after a meta or
sysex event), and because a broken file must give one error naming the track, the
byte offset and what is wrong. mido stays the independent reference in the tests.

Timing is exact: every time is a rational number of seconds computed with integers
over the tempo map, so a sample position never drifts however long the file is.
"""
from __future__ import annotations

import bisect
import os
from fractions import Fraction

import numpy as np

from fmcore.errors import FmcoreError, read_input
from fmcore.midi.source import MidiData, midi_source

__all__ = ["EVENT_DTYPE", "EVENT_FIELDS", "DEFAULT_TEMPO", "MidiFileError", "MidiSong", "parse_midi", "read_midi"]

#: Fields of the array returned by :meth:`MidiSong.events`, one row per channel message.
EVENT_FIELDS = [("sample", "<i8"), ("status", "u1"), ("data1", "u1"), ("data2", "u1"), ("track", "<u2")]
EVENT_DTYPE = np.dtype(EVENT_FIELDS)

#: Microseconds per beat until the first set-tempo event (120 BPM, the SMF default).
DEFAULT_TEMPO = 500_000

# Data bytes that follow each channel status (high nibble), and its name for messages.
_DATA_LEN = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_KIND = {0x80: "note-off", 0x90: "note-on", 0xA0: "poly aftertouch", 0xB0: "control change",
         0xC0: "program change", 0xD0: "channel aftertouch", 0xE0: "pitch bend"}

# SMPTE division: the high byte is -fps; 29 means 29.97 fps drop frame (30000/1001).
_SMPTE_RATES = {24: Fraction(24), 25: Fraction(25), 29: Fraction(30000, 1001), 30: Fraction(30)}


class MidiFileError(FmcoreError, ValueError):
    """A MIDI file that cannot be read: ``str(err)`` is ``"<file>: <what is wrong>"``.

    ``track`` (0-based track chunk index, or None) and ``offset`` (byte offset in the
    file, or None) locate the damage when it is inside the file.
    """

    def __init__(self, message: str, *, path: str | None = None, track: int | None = None,
                 offset: int | None = None):
        super().__init__(message, path=path)
        self.track = track
        self.offset = offset


class _Damage(Exception):
    """Internal: the bytes stop making sense at ``offset``; ``truncated`` if they ran out."""

    def __init__(self, offset: int, what: str, truncated: bool = False):
        super().__init__(what)
        self.offset = offset
        self.what = what
        self.truncated = truncated


class _Track:
    """What one MTrk chunk holds, in file order (ticks relative to the track's start)."""

    __slots__ = ("index", "name", "ticks", "status", "data1", "data2", "tempos", "sysex", "end_tick",
                 "has_eot", "damage", "damaged_event")

    def __init__(self, index: int):
        self.index = index
        self.name = ""
        self.ticks: list[int] = []
        self.status: list[int] = []
        self.data1: list[int] = []
        self.data2: list[int] = []
        self.tempos: list[tuple[int, int]] = []
        self.sysex: list[tuple[int, bytes]] = []
        self.end_tick = 0
        self.has_eot = False
        self.damage: _Damage | None = None
        self.damaged_event = 0      # byte offset where the event that failed to read starts


def _read_vlq(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """A variable-length quantity (at most 4 bytes, 28 bits) at ``pos``; returns (value, next pos)."""
    value = 0
    for i in range(4):
        if pos >= end:
            raise _Damage(pos, f"expected {what} (variable-length number)", truncated=True)
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, pos
    raise _Damage(pos - 4, f"{what} is longer than 4 bytes")


def _parse_track(data: bytes, start: int, end: int, index: int, warnings: list[str]) -> _Track:
    """Read the events of one track chunk occupying ``data[start:end]``.

    Damage stops the read: the track keeps what was complete before it and records
    the damage in ``track.damage`` for the caller to raise or report.
    """
    tr = _Track(index)
    pos, tick, running = start, 0, 0
    interrupted = ""          # "meta"/"sysex" after which running status would be cancelled
    resumed_warned = False
    try:
        while pos < end:
            tr.damaged_event = pos
            delta, pos = _read_vlq(data, pos, end, "a delta time")
            if pos >= end:
                raise _Damage(pos, "expected an event after the delta time", truncated=True)
            tick += delta
            b = data[pos]
            if 0x80 <= b < 0xF0:
                status, running, interrupted = b, b, ""
                pos += 1
            elif b < 0x80:
                if not running:
                    raise _Damage(pos, f"running status with no prior status byte (data byte 0x{b:02X})")
                if interrupted and not resumed_warned:
                    # The spec cancels running status at meta/sysex; real files resume it anyway.
                    warnings.append(f"track {index} at byte {pos}: running status resumed after a {interrupted} "
                                    f"event (accepted, as other readers do)")
                    resumed_warned = True
                status = running
            elif b == 0xFF:
                if pos + 1 >= end:
                    raise _Damage(pos + 1, "expected the type of a meta event", truncated=True)
                mtype = data[pos + 1]
                length, pos = _read_vlq(data, pos + 2, end, f"the length of meta event 0x{mtype:02X}")
                if pos + length > end:
                    raise _Damage(end, f"meta event 0x{mtype:02X} declares {length} bytes, "
                                       f"{end - pos} left in the track", truncated=True)
                body = data[pos:pos + length]
                pos += length
                interrupted = interrupted or "meta"
                if mtype == 0x2F:
                    tr.end_tick, tr.has_eot = tick, True
                    if pos < end:
                        warnings.append(f"track {index}: ignored {end - pos} bytes after End-of-Track")
                    return tr
                if mtype == 0x51:
                    if length == 3 and int.from_bytes(body, "big") == 0:
                        # a tempo of 0 would stop time: skipped, like a set-tempo of the wrong length
                        warnings.append(f"track {index} at byte {pos - length}: ignored a set-tempo event "
                                        f"of 0 microseconds per beat")
                    elif length == 3:
                        tr.tempos.append((tick, int.from_bytes(body, "big")))
                    else:
                        warnings.append(f"track {index} at byte {pos - length}: ignored a set-tempo event "
                                        f"of {length} bytes (expected 3)")
                elif mtype == 0x03 and not tr.name:
                    tr.name = body.decode("latin-1").strip("\x00").strip()
                tr.end_tick = tick
                continue
            elif b in (0xF0, 0xF7):
                length, pos = _read_vlq(data, pos + 1, end, "the length of a sysex event")
                if pos + length > end:
                    raise _Damage(end, f"sysex event declares {length} bytes, {end - pos} left in the track",
                                  truncated=True)
                # F0 events store the F0 implicitly; F7 ("escape") events store raw bytes.
                raw = data[pos:pos + length]
                tr.sysex.append((tick, (b"\xF0" + raw) if b == 0xF0 else raw))
                pos += length
                interrupted = "sysex"
                tr.end_tick = tick
                continue
            else:
                raise _Damage(pos, f"status byte 0x{b:02X} is not allowed in a MIDI file")

            kind = status & 0xF0
            n = _DATA_LEN[kind]
            if pos + n > end:
                raise _Damage(end, f"expected {n} data byte{'s' if n > 1 else ''} of {_KIND[kind]}",
                              truncated=True)
            d1 = data[pos]
            d2 = data[pos + 1] if n == 2 else 0
            for i, d in enumerate((d1, d2)[:n]):
                if d >= 0x80:
                    raise _Damage(pos + i, f"expected a data byte of {_KIND[kind]}, found status byte 0x{d:02X} "
                                           f"(a byte is missing)")
            pos += n
            tr.ticks.append(tick)
            tr.status.append(status)
            tr.data1.append(d1)
            tr.data2.append(d2)
            tr.end_tick = tick
    except _Damage as damage:
        tr.damage = damage
    return tr


class MidiSong:
    """A parsed Standard MIDI File: tracks, tempo map and channel events with exact timing.

    Times are exact rationals. ``sample_at`` and ``events`` round each time to the
    nearest sample (exact ties round up), with integer arithmetic over the tempo map,
    so there is no accumulated error over any file length.
    Track numbers (``track`` fields, messages) are 0-based track chunk indices.
    """

    def __init__(self, *, path: str, format: int, ticks_per_beat: int | None, smpte: tuple[int, int] | None,
                 tracks: list[_Track], warnings: list[str]):
        self.path = path
        #: SMF format: 0 (one track), 1 (simultaneous tracks) or 2 (sequential tracks).
        self.format = format
        #: Ticks per quarter note, or None for an SMPTE division (see ``smpte``).
        self.ticks_per_beat = ticks_per_beat
        #: (frames per second as in the header: 24, 25, 29 or 30; ticks per frame), or None.
        self.smpte = smpte
        #: Name of each track (its first track-name meta event; "" when none).
        self.track_names = [t.name for t in tracks]
        #: What was skipped or tolerated while reading (unknown chunks, lenient-mode cuts, ...).
        self.warnings = warnings

        # Type 2 tracks play one after another: each starts where the previous ended.
        offsets, at = [], 0
        for t in tracks:
            offsets.append(at if format == 2 else 0)
            at += t.end_tick
        self.end_tick = max((o + t.end_tick for o, t in zip(offsets, tracks)), default=0)

        ticks = np.array([o + x for o, t in zip(offsets, tracks) for x in t.ticks], dtype=np.int64)
        order = np.argsort(ticks, kind="stable")   # concatenated in track order: (tick, track, position)
        self._ticks = ticks[order]
        self._status = np.array([s for t in tracks for s in t.status], dtype=np.uint8)[order]
        self._data1 = np.array([d for t in tracks for d in t.data1], dtype=np.uint8)[order]
        self._data2 = np.array([d for t in tracks for d in t.data2], dtype=np.uint8)[order]
        self._track = np.array([t.index for t in tracks for _ in t.ticks], dtype=np.uint16)[order]

        #: System exclusive messages: (tick, track, bytes starting with F0 unless an F7 escape).
        self.sysex = sorted(((o + tk, t.index, raw) for o, t in zip(offsets, tracks) for tk, raw in t.sysex),
                            key=lambda e: (e[0], e[1]))
        #: Number of set-tempo meta events in the file.
        self.tempo_events = sum(len(t.tempos) for t in tracks)

        if smpte is None:
            # Same tick: the later event in (track, position) order wins; no-change entries dropped.
            changes = sorted(((o + tk, t.index, i, tempo) for o, t in zip(offsets, tracks)
                              for i, (tk, tempo) in enumerate(t.tempos)))
            at_tick: dict[int, int] = {0: DEFAULT_TEMPO}
            for tk, _, _, tempo in changes:
                at_tick[tk] = tempo
            tempo_map: list[tuple[int, int]] = []
            for tk in sorted(at_tick):
                if not tempo_map or tempo_map[-1][1] != at_tick[tk]:
                    tempo_map.append((tk, at_tick[tk]))
            #: (tick, microseconds per beat), starting at tick 0; empty for an SMPTE division.
            self.tempo_map = tempo_map
            # seconds(tick) = (cum + (tick - start) * tempo) / (1e6 * ticks_per_beat)
            self._den = 1_000_000 * ticks_per_beat
            seg_ticks, seg_rates, seg_cums, cum = [], [], [], 0
            for i, (tk, tempo) in enumerate(tempo_map):
                if i:
                    cum += (tk - tempo_map[i - 1][0]) * tempo_map[i - 1][1]
                seg_ticks.append(tk)
                seg_rates.append(tempo)
                seg_cums.append(cum)
        else:
            self.tempo_map = []
            fps = _SMPTE_RATES[smpte[0]]
            self._den = fps.numerator * smpte[1]
            seg_ticks, seg_rates, seg_cums = [0], [fps.denominator], [0]
        self._seg_ticks = seg_ticks
        self._seg_rates = seg_rates
        self._seg_cums = seg_cums

    # ---- time -------------------------------------------------------------------------

    def _numerator(self, tick: int) -> int:
        if tick < 0:
            raise ValueError(f"tick must be >= 0, got {tick}")
        i = bisect.bisect_right(self._seg_ticks, tick) - 1
        return self._seg_cums[i] + (tick - self._seg_ticks[i]) * self._seg_rates[i]

    def time_at(self, tick: int) -> Fraction:
        """Exact time of ``tick`` in seconds, as a Fraction (ticks past the end use the last tempo)."""
        return Fraction(self._numerator(int(tick)), self._den)

    def seconds_at(self, tick: int) -> float:
        """Time of ``tick`` in seconds (the exact time, rounded once to a float)."""
        return float(self.time_at(tick))

    def sample_at(self, tick: int, sample_rate) -> int:
        """The sample at which ``tick`` falls: the exact time times the rate, rounded to nearest (ties up)."""
        num, den = self._scaled(sample_rate)
        n = self._numerator(int(tick)) * num
        return (2 * n + den) // (2 * den)

    def _scaled(self, sample_rate) -> tuple[int, int]:
        sr = Fraction(sample_rate)
        if sr <= 0:
            raise ValueError(f"sample rate must be positive, got {sample_rate}")
        return sr.numerator, self._den * sr.denominator

    def _samples(self, ticks: np.ndarray, sample_rate) -> np.ndarray:
        """Exact rounded samples of many ticks; int64 math when it cannot overflow, Python ints otherwise."""
        num, den = self._scaled(sample_rate)
        if ticks.size == 0:
            return np.zeros(0, dtype=np.int64)
        idx = np.searchsorted(self._seg_ticks, ticks, side="right") - 1
        biggest = self._numerator(int(ticks.max())) * num
        if 2 * biggest + den < 2 ** 62:
            seg_ticks = np.asarray(self._seg_ticks, dtype=np.int64)
            rates = np.asarray(self._seg_rates, dtype=np.int64)
            cums = np.asarray(self._seg_cums, dtype=np.int64)
            n = (cums[idx] + (ticks - seg_ticks[idx]) * rates[idx]) * num
            return (2 * n + den) // (2 * den)
        return np.array([self.sample_at(int(t), sample_rate) for t in ticks], dtype=np.int64)

    @property
    def duration_seconds(self) -> float:
        """Time of the last event of any kind (End-of-Track included), in seconds."""
        return self.seconds_at(self.end_tick)

    # ---- events -----------------------------------------------------------------------

    def events(self, sample_rate) -> np.ndarray:
        """Every channel message as a structured array of dtype ``EVENT_DTYPE``.

        Note on/off (a note-on of velocity 0 kept as is), control change, program change
        and channel aftertouch (``data2`` = 0), pitch bend, poly aftertouch. Sorted by
        sample; within one tick, in (track, position in track) order.
        """
        out = np.empty(self._ticks.size, dtype=EVENT_DTYPE)
        out["sample"] = self._samples(self._ticks, sample_rate)
        out["status"] = self._status
        out["data1"] = self._data1
        out["data2"] = self._data2
        out["track"] = self._track
        return out

    @property
    def event_ticks(self) -> np.ndarray:
        """Absolute tick of each row of :meth:`events` (same order)."""
        return self._ticks.copy()

    def notes(self, sample_rate) -> dict[int, np.ndarray]:
        """Samples of the note-ons with velocity > 0, per channel (0-15), in time order."""
        on = ((self._status & 0xF0) == 0x90) & (self._data2 > 0)
        samples = self._samples(self._ticks[on], sample_rate)
        chans = self._status[on] & 0x0F
        return {int(c): samples[chans == c] for c in np.unique(chans)}

    @property
    def channels_used(self) -> list[int]:
        """Channels (0-15) that have at least one channel message."""
        return [int(c) for c in np.unique(self._status & 0x0F)]

    def __repr__(self) -> str:
        return (f"MidiSong({self.path!r}, format={self.format}, tracks={len(self.track_names)}, "
                f"events={self._ticks.size}, duration={self.duration_seconds:.2f} s)")


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos:pos + 2], "big")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos:pos + 4], "big")


def _unwrap_rmid(data: bytes, name: str) -> tuple[bytes, int]:
    """The SMF inside a RIFF RMID file, and its offset; other data unchanged."""
    if not (data[:4] == b"RIFF" and data[8:12] == b"RMID"):
        return data, 0
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if data[pos:pos + 4] == b"data":
            return data[pos + 8:pos + 8 + size], pos + 8
        pos += 8 + size + (size & 1)
    raise MidiFileError("RIFF MIDI file without a data chunk", path=name, offset=0)


def parse_midi(data: bytes, name: str = "<bytes>", lenient: bool = False) -> MidiSong:
    """Parse the bytes of a Standard MIDI File (type 0, 1 or 2; RIFF RMID accepted).

    Unknown chunks are skipped with a warning (as the SMF spec asks). A damaged file
    raises one :class:`MidiFileError` naming ``name``, the track, the byte offset and
    the problem. With ``lenient=True``, damage inside a track ends that track: what was
    read before it is kept and a warning says what was skipped; a header that cannot be
    read still raises.
    """
    data = bytes(data)
    data, base = _unwrap_rmid(data, name)
    warnings: list[str] = []

    def fail(message: str, track: int | None = None, offset: int | None = None):
        raise MidiFileError(message, path=name, track=track, offset=offset)

    if not data:
        fail("empty file (not a Standard MIDI File)", offset=base)
    if not data.startswith(b"MThd"):
        if b"MThd".startswith(data):
            fail(f"truncated in the MThd header: the file has {len(data)} bytes", offset=base + len(data))
        fail("missing MThd header (not a Standard MIDI File)", offset=base)
    if len(data) < 14:
        fail(f"truncated in the MThd header: the file has {len(data)} bytes, a header needs 14", offset=base)
    hlen = _u32(data, 4)
    if hlen < 6:
        fail(f"MThd header declares {hlen} bytes, at least 6 are needed", offset=base + 4)
    if 8 + hlen > len(data):
        fail(f"truncated in the MThd header: it declares {hlen} bytes, the file has {len(data) - 8} after it",
             offset=base + 8)
    fmt, ntracks, division = _u16(data, 8), _u16(data, 10), _u16(data, 12)
    if fmt > 2:
        fail(f"unknown SMF format {fmt} in the MThd header (0, 1 or 2 expected)", offset=base + 8)
    smpte, tpb = None, None
    if division & 0x8000:
        fps, tpf = 256 - (division >> 8), division & 0xFF
        if fps not in _SMPTE_RATES or tpf == 0:
            fail(f"invalid SMPTE division 0x{division:04X} (fps {fps}, {tpf} ticks per frame)", offset=base + 12)
        smpte = (fps, tpf)
    else:
        tpb = division
        if tpb == 0:
            fail("the MThd header gives 0 ticks per beat", offset=base + 12)
    if hlen > 6:
        warnings.append(f"MThd header has {hlen - 6} extra bytes (ignored)")

    tracks: list[_Track] = []
    pos = 8 + hlen
    while pos < len(data):
        left = len(data) - pos
        where = f"after track {len(tracks) - 1}" if tracks else "after the header"
        if left < 8:
            if not data[pos:].strip(b"\x00"):
                warnings.append(f"ignored {left} bytes of zero padding at the end of the file")
            elif lenient:
                warnings.append(f"ignored {left} bytes at the end of the file (too short for a chunk)")
            else:
                fail(f"truncated {where}: {left} stray bytes at byte {base + pos}, too short for a chunk header",
                     offset=base + pos)
            break
        ctype, clen = data[pos:pos + 4], _u32(data, pos + 4)
        body, body_end = pos + 8, pos + 8 + clen
        if not all(0x20 <= c < 0x7F for c in ctype):
            msg = f"expected a chunk header at byte {base + pos} ({where}), found bytes {ctype.hex(' ')}"
            if not lenient:
                fail(msg, offset=base + pos)
            warnings.append(msg + f"; skipped the last {left} bytes of the file")
            break
        if ctype != b"MTrk":
            label = ctype.decode("ascii")
            if body_end > len(data):
                msg = f"truncated in chunk {label!r} at byte {base + pos}: it declares {clen} bytes, {left - 8} left"
                if not lenient:
                    fail(msg, offset=base + len(data))
                warnings.append(msg + "; skipped it")
                break
            warnings.append(f"skipped an unknown chunk {label!r} of {clen} bytes at byte {base + pos}")
            pos = body_end
            continue

        index = len(tracks)
        cut = body_end > len(data)
        end = min(body_end, len(data))
        tr = _parse_track(data, body, end, index, warnings)
        tracks.append(tr)
        short = (f" (the track chunk declares {clen} bytes, the file has {end - body})" if cut else "")
        if tr.damage is not None:
            d = tr.damage
            prefix = f"truncated in track {index}" if d.truncated else f"track {index}"
            msg = f"{prefix} at byte {base + d.offset}: {d.what}{short}"
            if not lenient:
                fail(msg, track=index, offset=base + d.offset)
            start = tr.damaged_event
            warnings.append(f"{msg}; kept the {len(tr.ticks)} channel events before it, skipped the last "
                            f"{end - start} bytes of the track (from byte {base + start})")
        elif cut:
            msg = f"truncated in track {index} at byte {base + len(data)}: the file ends inside the track{short}"
            if not lenient:
                fail(msg, track=index, offset=base + len(data))
            warnings.append(msg + "; kept what was read")
        elif not tr.has_eot:
            warnings.append(f"track {index} has no End-of-Track event")
        if cut:
            break
        pos = body_end

    if len(tracks) < ntracks:
        msg = f"the MThd header declares {ntracks} tracks, the file has {len(tracks)} (file truncated?)"
        if not lenient:
            fail(msg, offset=base + len(data))
        warnings.append(msg + "; read the tracks that are there")
    elif len(tracks) > ntracks:
        warnings.append(f"the MThd header declares {ntracks} tracks, the file has {len(tracks)}; read them all")
    if fmt == 0 and len(tracks) > 1:
        warnings.append(f"format 0 file with {len(tracks)} tracks; played together as format 1")

    return MidiSong(path=name, format=fmt, ticks_per_beat=tpb, smpte=smpte, tracks=tracks, warnings=warnings)


def read_midi(path, lenient: bool = False) -> MidiSong:
    """Read a Standard MIDI File from ``path``; see :func:`parse_midi` for ``lenient``.

    ``path`` may also be bytes, a binary file object or a ``mido.MidiFile`` (see
    :func:`fmcore.midi.source.midi_source`). A missing, unreadable or damaged file raises
    :class:`MidiFileError` ("<path>: <problem>").
    """
    src = midi_source(path)
    if isinstance(src, MidiData):
        return parse_midi(src.data, name=src.name, lenient=lenient)
    name = os.fspath(src)
    data = read_input(name, MidiFileError, "is a directory, not a MIDI file")
    return parse_midi(data, name=name, lenient=lenient)
