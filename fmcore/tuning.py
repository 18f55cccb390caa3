"""Microtuning: Scala scales (``.scl``) and keyboard maps (``.kbm``), and the MIDI Tuning
Standard (MTS) SysEx messages.

A tuning is 128 key pitches in 12-TET semitones (69.0 = A 440 Hz, 60.5 = a quarter tone
above middle C; NaN = a key the keyboard map leaves unmapped, which then plays nothing).
That is also MTS's own unit, so an MTS change arrives in the engine exactly. The engine
keeps one table per part (``Synth.set_tuning``); a key's frequency is
``440 * 2 ** ((pitch - 69) / 12)``, so the default table (pitch = key) is the engine's
12-TET to the bit.

Scala files are read as the Scala documentation (huygens-fokker.org, "scl format") says:
``!`` comment lines, a description line, the number of notes, then one pitch per line,
in cents when it contains a period, else a ratio ``n/d`` or an integer; the last pitch is
the period. Keyboard maps: map size, first and last key to retune, middle key (scale degree
0), reference key and its frequency, the formal-octave degree, then the map (``x`` =
unmapped). Without a map, key 60 is degree 0 and is tuned to 261.6256 Hz (12-TET middle C).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np

from fmcore.errors import FmcoreError, read_input

__all__ = ["TuningError", "Scale", "KeyboardMap", "Tuning", "equal_temperament", "mts_changes",
           "ALL_PARTS", "MIDDLE_C_HZ"]

ALL_PARTS = 0xFFFF
MIDDLE_C_HZ = 440.0 * 2 ** (-9 / 12)


class TuningError(FmcoreError, ValueError):
    """A scale, keyboard map or MTS message that cannot be used: ``"<file>:<line>: <problem>"``."""


def _read(path) -> tuple[str, list[str]]:
    name = os.fspath(path)
    text = read_input(name, TuningError).decode("latin-1")     # Scala files are ASCII; be lenient
    return name, text.splitlines()


def _lines(lines):
    """(line number, text) of the lines that are not ``!`` comments."""
    for i, line in enumerate(lines, 1):
        if not line.lstrip().startswith("!"):
            yield i, line


@dataclass
class Scale:
    """A Scala scale: ``cents[i]`` is degree i+1 above the tonic; ``cents[-1]`` is the period."""

    cents: list[float]
    description: str = ""
    path: str = "<scale>"

    @classmethod
    def load(cls, path) -> "Scale":
        name, lines = _read(path)
        return cls.parse(lines, name)

    @classmethod
    def parse(cls, lines: str | Sequence[str], name: str = "<scale>") -> "Scale":
        if isinstance(lines, str):
            lines = lines.splitlines()

        def fail(line, what):
            raise TuningError(f"line {line}: {what}" if line else what, path=name)

        it = _lines(lines)
        try:
            _, description = next(it)
        except StopIteration:
            fail(0, "empty scale file (expected a description line, then the number of notes)")
        try:
            ln, text = next(it)
        except StopIteration:
            fail(len(lines), "missing the number of notes after the description")
        word = text.split()[0] if text.split() else ""
        if not word.isdigit():
            fail(ln, f"expected the number of notes, found {text.strip()!r}")
        count = int(word)
        cents = []
        last = ln
        for ln, text in it:
            if len(cents) == count:
                break
            last = ln
            word = text.split()[0] if text.split() else ""
            if not word:
                fail(ln, "empty pitch line (expected cents like 701.955 or a ratio like 3/2)")
            cents.append(cls._pitch(word, ln, fail))
        if len(cents) < count:
            fail(last, f"the scale declares {count} notes but only {len(cents)} pitch lines follow")
        if count == 0:
            cents = [1200.0]                 # Scala: a 0-note scale is the octave alone
        if cents[-1] <= 0:
            fail(last, f"the period (the last pitch, {cents[-1]:g} cents) must be above the tonic")
        return cls(cents=cents, description=description.strip(), path=name)

    @staticmethod
    def _pitch(word, ln, fail) -> float:
        if "." in word:
            try:
                v = float(word)
            except ValueError:
                fail(ln, f"{word!r} is not a number of cents")
            if not math.isfinite(v):
                fail(ln, f"{word!r} is not a finite number of cents")
            return v
        num, slash, den = word.partition("/")
        try:
            ratio = Fraction(int(num), int(den) if slash else 1)
        except (ValueError, ZeroDivisionError):
            fail(ln, f"{word!r} is neither cents (with a period) nor a ratio n/d of positive integers")
        if ratio <= 0:
            fail(ln, f"ratio {word!r} must be positive")
        return 1200.0 * math.log2(ratio)

    def __len__(self):
        return len(self.cents)

    def degree_cents(self, i: int) -> float:
        """Cents of scale degree ``i`` (any integer: periods repeat up and down)."""
        n = len(self.cents)
        octave, r = divmod(i, n)
        return octave * self.cents[-1] + (self.cents[r - 1] if r else 0.0)


@dataclass
class KeyboardMap:
    """A Scala keyboard mapping (see the module doc); ``mapping`` holds degrees or None (``x``)."""

    size: int = 0
    first: int = 0
    last: int = 127
    middle: int = 60
    reference: int = 60
    frequency: float = MIDDLE_C_HZ
    octave_degree: int = 0
    mapping: list = field(default_factory=list)
    path: str = "<keyboard map>"

    @classmethod
    def load(cls, path) -> "KeyboardMap":
        name, lines = _read(path)
        return cls.parse(lines, name)

    @classmethod
    def parse(cls, lines: str | Sequence[str], name: str = "<keyboard map>") -> "KeyboardMap":
        if isinstance(lines, str):
            lines = lines.splitlines()
        it = [(ln, t.split()[0] if t.split() else "") for ln, t in _lines(lines)]
        fields = ("map size", "first MIDI note", "last MIDI note", "middle note", "reference note",
                  "reference frequency", "formal octave degree")
        values = []
        for k, what in enumerate(fields):
            if k >= len(it):
                raise TuningError(f"line {len(lines)}: missing the {what} (a keyboard map has 7 header lines)",
                                  path=name)
            ln, word = it[k]
            try:
                v = float(word) if k == 5 else int(word)
            except ValueError:
                raise TuningError(f"line {ln}: expected the {what}, found {word!r}", path=name) from None
            if k in (1, 2, 3, 4) and not 0 <= v <= 127:
                raise TuningError(f"line {ln}: the {what} must be a MIDI note 0..127, got {v}", path=name)
            if k == 5 and not (math.isfinite(v) and v > 0):
                raise TuningError(f"line {ln}: the reference frequency must be positive, got {word}", path=name)
            if k in (0, 6) and v < 0:
                raise TuningError(f"line {ln}: the {what} must be >= 0, got {v}", path=name)
            values.append(v)
        size = values[0]
        mapping = []
        for ln, word in it[7:7 + size]:
            if word.lower() == "x":
                mapping.append(None)
                continue
            try:
                mapping.append(int(word))
            except ValueError:
                raise TuningError(f"line {ln}: expected a scale degree or x, found {word!r}", path=name) from None
        if len(mapping) < size:
            last = it[-1][0] if it else len(lines)
            raise TuningError(f"line {last}: the map size is {size} but {len(mapping)} entries follow", path=name)
        return cls(size, values[1], values[2], values[3], values[4], values[5], values[6], mapping, name)

    def degree(self, key: int, scale_size: int):
        """The scale degree key ``key`` plays, or None when unmapped."""
        d = key - self.middle
        if self.size == 0:
            return d
        octave, i = divmod(d, self.size)
        m = self.mapping[i]
        if m is None:
            return None
        return octave * (self.octave_degree or scale_size) + m


class Tuning:
    """128 key pitches from a ``Scale`` and a ``KeyboardMap`` (both optional: 12-TET, default map)."""

    def __init__(self, scale: Scale | None = None, kbm: KeyboardMap | None = None):
        self.scale = scale
        self.kbm = kbm or KeyboardMap()
        if scale is None:
            self.pitches = np.arange(128, dtype=np.float64)
            return
        kbm = self.kbm
        ref_degree = kbm.degree(kbm.reference, len(scale))
        if ref_degree is None:
            raise TuningError(f"the reference note {kbm.reference} is unmapped, so no frequency can be set",
                              path=kbm.path)
        ref_pitch = 69.0 + 12.0 * math.log2(kbm.frequency / 440.0)
        ref_cents = scale.degree_cents(ref_degree)
        pitches = np.arange(128, dtype=np.float64)
        for key in range(kbm.first, kbm.last + 1):
            d = kbm.degree(key, len(scale))
            if d is None:
                pitches[key] = np.nan
                continue
            p = ref_pitch + (scale.degree_cents(d) - ref_cents) / 100.0
            # a pitch within 1e-7 cent of a 12-TET key is that key: 12-TET files tune to the bit
            pitches[key] = round(p) if abs(p - round(p)) < 1e-9 else p
        self.pitches = pitches

    @classmethod
    def from_files(cls, scl=None, kbm=None) -> "Tuning":
        """The tuning of a ``.scl`` file and an optional ``.kbm`` file (either may be None)."""
        return cls(Scale.load(scl) if scl is not None else None, KeyboardMap.load(kbm) if kbm is not None else None)

    def frequencies(self) -> np.ndarray:
        """Each key's frequency in Hz (NaN when unmapped)."""
        return 440.0 * 2.0 ** ((self.pitches - 69.0) / 12.0)

    def __repr__(self):
        what = self.scale.description or self.scale.path if self.scale else "12-TET"
        return f"<Tuning {what!r}>"


def equal_temperament(steps: int, period_cents: float = 1200.0) -> Scale:
    """An equal division of the period (``steps``-EDO)."""
    return Scale([period_cents * (i + 1) / steps for i in range(steps)], f"{steps}-EDO")


# ---- MIDI Tuning Standard ----------------------------------------------------------------

def _mts_pitch(xx, yy, zz):
    if (xx, yy, zz) == (0x7F, 0x7F, 0x7F):
        return None                          # "no change"
    return xx + ((yy << 7) | zz) / 16384.0


def _mask_from_bytes(ff, gg, hh):
    # channel bitmap of the scale/octave messages: ff = channels 15-16, gg = 8-14, hh = 1-7
    return (hh & 0x7F) | ((gg & 0x7F) << 7) | ((ff & 0x03) << 14)


def mts_changes(data: bytes, where: str = "SysEx") -> list[tuple[int, int, float, bool]] | None:
    """The tuning changes of an MTS SysEx message: (part mask, key, pitch, real time), or None when
    ``data`` is not an MTS message. Bulk dumps (08 01), single-note changes (08 02, 08 07) and
    scale/octave tunings (08 08, 08 09) are understood; a malformed one raises ``TuningError``."""
    b = bytes(data)
    if b[:1] == b"\xF0":
        b = b[1:]
    if b[-1:] == b"\xF7":
        b = b[:-1]
    if len(b) < 4 or b[0] not in (0x7E, 0x7F) or b[2] != 0x08:
        return None
    realtime = b[0] == 0x7F
    sub = b[3]
    body = b[4:]

    def fail(what):
        raise TuningError(f"{where}: MIDI Tuning message 08 {sub:02X}: {what}")

    out = []
    if sub == 0x01:                          # bulk tuning dump: program, 16-byte name, 128 x 3 bytes, checksum
        if len(body) != 1 + 16 + 384 + 1:
            fail(f"a bulk dump has 402 bytes after 08 01, this one {len(body)}")
        chk = 0
        for x in b[:-1]:
            chk ^= x
        if (chk & 0x7F) != body[-1]:
            fail(f"checksum {body[-1]:02X} does not match the data ({chk & 0x7F:02X})")
        for key in range(128):
            p = _mts_pitch(*body[17 + 3 * key:20 + 3 * key])
            if p is not None:
                out.append((ALL_PARTS, key, p, realtime))
    elif sub in (0x02, 0x07):                # single-note tuning change (0x07: with a bank byte)
        head = 2 if sub == 0x02 else 3
        if len(body) < head:
            fail("truncated before the number of changes")
        n = body[head - 1]
        if len(body) != head + 4 * n:
            fail(f"declares {n} changes ({4 * n} bytes), {len(body) - head} bytes follow")
        for i in range(n):
            kk, xx, yy, zz = body[head + 4 * i:head + 4 * i + 4]
            p = _mts_pitch(xx, yy, zz)
            if p is not None:
                out.append((ALL_PARTS, kk, p, realtime if sub == 0x07 else True))
    elif sub in (0x08, 0x09):                # scale/octave tuning, 1- or 2-byte form
        width = 1 if sub == 0x08 else 2
        if len(body) != 3 + 12 * width:
            fail(f"expected {3 + 12 * width} bytes after 08 {sub:02X}, got {len(body)}")
        mask = _mask_from_bytes(*body[:3])
        for pc in range(12):
            if width == 1:
                cents = body[3 + pc] - 64
            else:
                v = (body[3 + 2 * pc] << 7) | body[4 + 2 * pc]
                cents = (v - 8192) * 100.0 / 8192
            for key in range(pc, 128, 12):
                out.append((mask, key, key + cents / 100.0, realtime))
    else:
        return None                          # other MTS messages (requests, program changes): not tunings
    for mask, key, p, _ in out:
        if not 0 <= p < 128:
            fail(f"key {key}: pitch {p:.4f} is outside the MIDI range")
    return out


def bulk_dump(pitches: Sequence[float], program: int = 0, name: str = "fmcore", device: int = 0x7F) -> bytes:
    """An MTS bulk tuning dump (08 01) of 128 key pitches (for tests and tools)."""
    body = bytearray([0x7E, device, 0x08, 0x01, program & 0x7F])
    body += name.encode("ascii", "replace")[:16].ljust(16, b" ")
    for p in pitches:
        xx = int(math.floor(p))
        frac = int(round((p - xx) * 16384))
        if frac == 16384:
            xx, frac = xx + 1, 0
        body += bytes([xx, frac >> 7, frac & 0x7F])
    chk = 0
    for x in body:
        chk ^= x
    return b"\xF0" + bytes(body) + bytes([chk & 0x7F]) + b"\xF7"


def single_note_change(changes: Sequence[tuple[int, float]], program: int = 0, device: int = 0x7F) -> bytes:
    """An MTS real-time single-note tuning change (08 02): ``changes`` are (key, pitch)."""
    body = bytearray([0x7F, device, 0x08, 0x02, program & 0x7F, len(changes)])
    for key, p in changes:
        xx = int(math.floor(p))
        frac = int(round((p - xx) * 16384))
        body += bytes([key, xx, frac >> 7, frac & 0x7F])
    return b"\xF0" + bytes(body) + b"\xF7"
