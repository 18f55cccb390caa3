"""MIDI message objects as event rows: what lets ``process``/``render`` take ``mido.Message``s.

Duck-typed, so ``fmcore_rt`` needs neither mido nor fmcore: a message is any object with a
``bytes()`` method (the MIDI bytes, status first) and a ``time`` attribute, as ``mido.Message``
has. Like pedalboard, the message's ``time`` is where it plays: a frame offset inside the
block for ``process``, seconds from the start for ``Synth.render``.
"""
from __future__ import annotations

import math
from typing import Protocol, Sequence

__all__ = ["MidiMessageLike", "is_message", "message_rows"]


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
