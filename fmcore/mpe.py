"""MPE (MIDI Polyphonic Expression, MMA/AMEI RP-053) in fmcore: what the engine does.

- Zones come from the MPE Configuration Message, RPN 6 (CC101 0, CC100 6, CC6 n) on channel 1
  (lower zone: manager channel 1, members 2..n+1) or 16 (upper zone: manager 16, members
  15 down to 16-n); n = 0 turns the zone off, and a new zone shrinks an overlapping other one.
  Configuring a zone resets its bend ranges: 48 semitones on member channels, 2 on the manager.
- Per-note pitch: pitch bend on a member channel moves the notes of that channel only, by the
  zone's member bend range; RPN 0 (pitch bend sensitivity) sent on any member channel sets it
  for the whole zone, sent on the manager channel sets the manager's. Pitch bend on the manager
  channel adds to every note of the zone (with the manager's range).
- Channel pressure and CC74 on a member channel act on that channel's notes: pressure as
  aftertouch (the patch's aftertouch pitch/amplitude depths), CC74 as timbre: the modulator
  operators' levels move by (value - 64) * 12/64 dB, so 64 is the patch as written.
- Manager channel messages apply to the zone: controllers (sustain, mod wheel, volume, CC74,
  all notes off ...) and channel pressure reach every member channel; member channels play
  the manager channel's patch (its program change or its own patch).
- Live: ``fmcore live --mpe`` configures a lower zone with 15 member channels before playing
  (an MPE controller that sends its own configuration message overrides it).
"""
from __future__ import annotations

__all__ = ["configuration_messages", "MEMBER_BEND_RANGE", "MANAGER_BEND_RANGE"]

MEMBER_BEND_RANGE = 48
MANAGER_BEND_RANGE = 2


def configuration_messages(lower: int = 15, upper: int = 0) -> list[tuple[int, int, int]]:
    """The channel messages (status, data1, data2) of MPE Configuration Messages for both zones."""
    for what, n in (("lower", lower), ("upper", upper)):
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 15:
            raise ValueError(f"{what} zone member channels must be an int in 0..15, got {n!r}")
    if lower + upper > 14 and lower and upper:
        raise ValueError(f"zones of {lower} and {upper} member channels overlap (at most 14 together)")
    out = []
    # the zone that is off goes first, so configuring the other never shrinks it by accident
    for ch, n in sorted(((0, lower), (15, upper)), key=lambda c: c[1]):
        out += [(0xB0 | ch, 101, 0), (0xB0 | ch, 100, 6), (0xB0 | ch, 6, n),
                (0xB0 | ch, 101, 127), (0xB0 | ch, 100, 127)]
    return out
