"""MIDI message objects as event rows: what lets ``process``/``render`` take ``mido.Message``s.

Duck-typed, so ``fmcore_rt`` needs neither mido nor fmcore: a message is any object with a
``bytes()`` method (the MIDI bytes, status first) and a ``time`` attribute, as ``mido.Message``
has. Like pedalboard, the message's ``time`` is where it plays: a frame offset inside the
block for ``process``, seconds from the start for ``Synth.render``.
"""
from __future__ import annotations

import math
from typing import Protocol, Sequence

import numpy as np

__all__ = ["MidiMessageLike", "event_array", "is_message", "message_rows", "sample_time"]


class MidiMessageLike(Protocol):
    """What an event object needs (``mido.Message`` has it): its bytes and where it plays."""

    time: float

    def bytes(self) -> Sequence[int]: ...


def is_message(event) -> bool:
    """True for a MIDI message object (``bytes()`` and ``time``), False for a row such as a tuple."""
    return (not isinstance(event, (tuple, list)) and callable(getattr(event, "bytes", None))
            and hasattr(event, "time"))


def _row(i: int, msg, frames: bool) -> tuple:
    data = list(msg.bytes())
    kind = getattr(msg, "type", type(msg).__name__)
    if not data or not 0x80 <= data[0] <= 0xEF:
        raise ValueError(f"event {i}: a {kind!r} message is not a MIDI channel message "
                         f"(note, control change, program change, pressure or pitch bend)")
    t = msg.time
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise ValueError(f"event {i}: message time {t!r} is not a finite number")
    if frames:
        if t != int(t):
            raise ValueError(f"event {i}: message time {t} is not a whole frame offset "
                             f"(process takes frame offsets; Synth.render takes seconds)")
        t = int(t)
    data += [0, 0]
    return (t, data[0], data[1], data[2])


def message_rows(events, frames: bool):
    """``events`` with every message object replaced by its ``(time, status, data1, data2)`` row.

    ``frames``: the time is a frame offset and must be whole (``process``); otherwise
    seconds (``render``). Returns ``events`` itself when it holds no message objects.
    """
    rows = events if isinstance(events, (list, tuple)) else list(events)
    if not any(is_message(e) for e in rows):
        return rows
    return [_row(i, e, frames) if is_message(e) else e for i, e in enumerate(rows)]


def event_array(events, what: str = "frame", nframes: int | None = None) -> np.ndarray:
    """``events`` (rows of ``(time, status, data1, data2)``, or a structured array with fields
    frame/sample, status, data1, data2) as an (n, 4) int64 array of checked MIDI channel
    messages, in the given order. ``what`` names the time in errors; with ``nframes`` the
    time is a frame offset inside a block of that length, else any time >= 0."""
    if isinstance(events, np.ndarray) and events.dtype.names:
        names = events.dtype.names
        frame = "frame" if "frame" in names else "sample"
        arr = np.stack([events[frame], events["status"], events["data1"], events["data2"]], axis=1).astype(np.int64)
    else:
        try:
            arr = np.asarray(events, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise TypeError(f"events must be a sequence of ({what}, status, data1, data2)") from None
        if arr.size == 0:
            return np.empty((0, 4), np.int64)
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise TypeError(f"events must be a sequence of ({what}, status, data1, data2), got shape {arr.shape}")
    if len(arr) == 0:
        return arr.reshape(0, 4)
    bad = arr[:, 0] < 0 if nframes is None else (arr[:, 0] < 0) | (arr[:, 0] >= nframes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if nframes is None:
            raise ValueError(f"event {i}: {what} {arr[i, 0]} is negative")
        raise ValueError(f"event {i}: {what} {arr[i, 0]} outside the block (0..{nframes - 1})")
    bad = (arr[:, 1] < 0x80) | (arr[:, 1] > 0xEF)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"event {i}: status {arr[i, 1]:#x} is not a MIDI channel message (0x80..0xEF)")
    bad = (arr[:, 2:] < 0).any(axis=1) | (arr[:, 2:] > 127).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"event {i}: data bytes ({arr[i, 2]}, {arr[i, 3]}) outside 0..127")
    return arr


def sample_time(at) -> int:
    """``at``, an absolute sample time (a processor's ``clock.frames`` based), as a checked int."""
    try:
        t = int(at)
    except (TypeError, ValueError, OverflowError):
        if isinstance(at, float):          # NaN, inf
            raise ValueError(f"at must be a sample time (a whole number >= 0), got {at!r}") from None
        raise TypeError(f"at must be a sample time (a whole number >= 0), got {at!r}") from None
    if isinstance(at, bool) or t != at or not 0 <= t < (1 << 62):
        raise ValueError(f"at must be a sample time (a whole number in 0..2^62), got {at!r}")
    return t
