"""A DX7 voice and a 32-voice bank as plain Python data.

Every field holds the integer the DX7 itself stores (its VCED value), so a
voice read from SysEx and written back is bit-identical. Operators are listed
in the order people count them: ``voice.ops[0]`` is OP1 ... ``voice.ops[5]`` is
OP6. (The SysEx formats store OP6 first; :mod:`fmcore.dx7.sysex` handles that.)

Byte layouts, checksums and file handling live in :mod:`fmcore.dx7.sysex`;
this module only knows what a voice is and which values are legal.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Operator fields in VCED order (OP-relative parameter 0..20) with their legal range.
#: Curves: 0 -LIN, 1 -EXP, 2 +EXP, 3 +LIN. Break point 0 is A-1, 39 is C3.
#: Detune 7 is centre (shown as -7..+7). Oscillator mode 0 ratio, 1 fixed.
OPERATOR_RANGES: dict[str, tuple[int, int]] = {
    "eg_rate1": (0, 99), "eg_rate2": (0, 99), "eg_rate3": (0, 99), "eg_rate4": (0, 99),
    "eg_level1": (0, 99), "eg_level2": (0, 99), "eg_level3": (0, 99), "eg_level4": (0, 99),
    "break_point": (0, 99),
    "left_depth": (0, 99),
    "right_depth": (0, 99),
    "left_curve": (0, 3),
    "right_curve": (0, 3),
    "rate_scaling": (0, 7),
    "amp_mod_sens": (0, 3),
    "key_vel_sens": (0, 7),
    "output_level": (0, 99),
    "osc_mode": (0, 1),
    "freq_coarse": (0, 31),
    "freq_fine": (0, 99),
    "detune": (0, 14),
}

#: Voice-wide fields in VCED order (parameters 126..144) with their legal range.
#: Algorithm is stored 0..31 (the panel shows 1..32); transpose 24 is C3 (no shift);
#: LFO wave 0 triangle, 1 saw down, 2 saw up, 3 square, 4 sine, 5 sample & hold.
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "pitch_eg_rate1": (0, 99), "pitch_eg_rate2": (0, 99),
    "pitch_eg_rate3": (0, 99), "pitch_eg_rate4": (0, 99),
    "pitch_eg_level1": (0, 99), "pitch_eg_level2": (0, 99),
    "pitch_eg_level3": (0, 99), "pitch_eg_level4": (0, 99),
    "algorithm": (0, 31),
    "feedback": (0, 7),
    "osc_key_sync": (0, 1),
    "lfo_speed": (0, 99),
    "lfo_delay": (0, 99),
    "lfo_pmd": (0, 99),
    "lfo_amd": (0, 99),
    "lfo_key_sync": (0, 1),
    "lfo_wave": (0, 5),
    "pitch_mod_sens": (0, 7),
    "transpose": (0, 48),
}

NAME_LENGTH = 10
N_OPERATORS = 6
BANK_SIZE = 32


@dataclass
class Dx7Operator:
    """One DX7 operator; each field is its stored integer (see :data:`OPERATOR_RANGES`).

    The defaults are the operator of the DX7's INIT VOICE with its output level at 0.
    """

    eg_rate1: int = 99
    eg_rate2: int = 99
    eg_rate3: int = 99
    eg_rate4: int = 99
    eg_level1: int = 99
    eg_level2: int = 99
    eg_level3: int = 99
    eg_level4: int = 0
    break_point: int = 39
    left_depth: int = 0
    right_depth: int = 0
    left_curve: int = 0
    right_curve: int = 0
    rate_scaling: int = 0
    amp_mod_sens: int = 0
    key_vel_sens: int = 0
    output_level: int = 0
    osc_mode: int = 0
    freq_coarse: int = 1
    freq_fine: int = 0
    detune: int = 7

    def to_dict(self) -> dict[str, int]:
        """The operator's fields as a plain dict, in VCED order."""
        return {name: getattr(self, name) for name in OPERATOR_RANGES}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "operator") -> Dx7Operator:
        """Build an operator from :meth:`to_dict` output; ValueError names a bad key or value."""
        _check_keys(data, OPERATOR_RANGES.keys(), where)
        op = cls(**{name: data[name] for name in OPERATOR_RANGES})
        _raise_problems(op.problems(where))
        return op

    def problems(self, where: str = "operator") -> list[str]:
        """Every field that is not an int inside its legal range, as readable lines."""
        return _range_problems(self, OPERATOR_RANGES, where)


def _init_ops() -> list[Dx7Operator]:
    # INIT VOICE: only OP1 sounds, at full level.
    return [Dx7Operator(output_level=99)] + [Dx7Operator() for _ in range(N_OPERATORS - 1)]


@dataclass
class Dx7Voice:
    """Every parameter of a DX7 voice, as the integers the DX7 stores.

    ``ops[0]`` is OP1 and ``ops[5]`` is OP6. ``algorithm`` is stored 0..31; use
    :attr:`algorithm_number` for the 1..32 the panel shows. ``name`` is always
    the full 10 characters (trailing spaces kept, so files round-trip exactly);
    :attr:`display_name` strips them. Defaults are the DX7's INIT VOICE.

    Values are not checked on assignment; :meth:`validate` (called by
    :meth:`from_dict` and before packing) raises ValueError listing every
    field outside :data:`OPERATOR_RANGES` / :data:`VOICE_RANGES`.
    """

    ops: list[Dx7Operator] = field(default_factory=_init_ops)
    pitch_eg_rate1: int = 99
    pitch_eg_rate2: int = 99
    pitch_eg_rate3: int = 99
    pitch_eg_rate4: int = 99
    pitch_eg_level1: int = 50
    pitch_eg_level2: int = 50
    pitch_eg_level3: int = 50
    pitch_eg_level4: int = 50
    algorithm: int = 0
    feedback: int = 0
    osc_key_sync: int = 1
    lfo_speed: int = 35
    lfo_delay: int = 0
    lfo_pmd: int = 0
    lfo_amd: int = 0
    lfo_key_sync: int = 1
    lfo_wave: int = 0
    pitch_mod_sens: int = 3
    transpose: int = 24
    name: str = "INIT VOICE"

    def __post_init__(self) -> None:
        self.ops = list(self.ops)
        if len(self.ops) != N_OPERATORS or not all(isinstance(op, Dx7Operator) for op in self.ops):
            raise ValueError(f"Dx7Voice needs exactly {N_OPERATORS} Dx7Operator objects in ops (OP1 first)")

    # -- conveniences -----------------------------------------------------------------------
    @property
    def algorithm_number(self) -> int:
        """The algorithm as the DX7 panel numbers it, 1..32."""
        return self.algorithm + 1

    @algorithm_number.setter
    def algorithm_number(self, number: int) -> None:
        if not isinstance(number, int) or not 1 <= number <= 32:
            raise ValueError(f"algorithm number must be 1..32, got {number!r}")
        self.algorithm = number - 1

    @property
    def display_name(self) -> str:
        """The name without its trailing padding."""
        return self.name.rstrip()

    def op(self, number: int) -> Dx7Operator:
        """Operator by its DX7 number, 1..6 (``voice.op(1) is voice.ops[0]``)."""
        if not 1 <= number <= N_OPERATORS:
            raise IndexError(f"operator number must be 1..{N_OPERATORS}, got {number}")
        return self.ops[number - 1]

    # -- checking ---------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every out-of-range or mistyped field, one readable line each (empty when valid)."""
        out: list[str] = []
        for i, op in enumerate(self.ops):
            out += op.problems(f"op{i + 1}")
        out += _range_problems(self, VOICE_RANGES, "voice")
        if not isinstance(self.name, str):
            out.append(f"voice.name must be a str, got {type(self.name).__name__}")
        else:
            if len(self.name) > NAME_LENGTH:
                out.append(f"voice.name {self.name!r} is longer than {NAME_LENGTH} characters")
            bad = sorted({c for c in self.name if ord(c) > 0x7F})
            if bad:
                out.append(f"voice.name {self.name!r} has characters outside 7-bit ASCII: {''.join(bad)!r}")
        return out

    def validate(self) -> None:
        """Raise ValueError listing every problem :meth:`problems` finds."""
        _raise_problems(self.problems())

    # -- plain data -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: voice fields in VCED order, ``name``, and ``ops`` (OP1 first)."""
        out: dict[str, Any] = {"name": self.name}
        out.update({name: getattr(self, name) for name in VOICE_RANGES})
        out["ops"] = [op.to_dict() for op in self.ops]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dx7Voice:
        """Inverse of :meth:`to_dict`. Every key is required and checked; a short
        name is padded with spaces to 10 characters. ValueError names each problem."""
        if not isinstance(data, dict):
            raise ValueError(f"a DX7 voice must be a dict, got {type(data).__name__}")
        _check_keys(data, [*VOICE_RANGES, "name", "ops"], "voice")
        ops = data["ops"]
        if not isinstance(ops, list) or len(ops) != N_OPERATORS:
            raise ValueError(f"voice.ops must be a list of {N_OPERATORS} operator dicts (OP1 first)")
        name = data["name"]
        if isinstance(name, str):
            name = name.ljust(NAME_LENGTH)
        voice = cls(ops=[Dx7Operator.from_dict(d, f"op{i + 1}") for i, d in enumerate(ops)],
                    name=name, **{k: data[k] for k in VOICE_RANGES})
        voice.validate()
        return voice

    def copy(self) -> Dx7Voice:
        """A deep copy (operators are copied too)."""
        return dataclasses.replace(self, ops=[dataclasses.replace(op) for op in self.ops])

    # -- SysEx ------------------------------------------------------------------------------
    def to_sysex(self, channel: int = 0) -> bytes:
        """This voice as a DX7 single-voice dump (VCED, 163 bytes) for MIDI channel 1..16 = 0..15."""
        from fmcore.dx7.sysex import voice_to_sysex  # sysex imports this module

        return voice_to_sysex(self, channel)

    def save_sysex(self, path: str | os.PathLike, channel: int = 0) -> None:
        """Write :meth:`to_sysex` to ``path`` atomically (temporary file, then rename)."""
        from fmcore.dx7.sysex import write_atomic

        write_atomic(path, self.to_sysex(channel))

    def to_patch(self, ref_note: int = 60):
        """This voice as an engine ``fmcore.Patch`` (see :func:`fmcore.dx7.model.voice_to_patch`)."""
        from fmcore.dx7.model import voice_to_patch  # model imports this module

        return voice_to_patch(self, ref_note)


class Bank(Sequence[Dx7Voice]):
    """The 32 voices of a DX7 bank, voice 1 at index 0.

    ``report`` holds what loading found (a list of :class:`fmcore.dx7.sysex.Finding`:
    clamped values, stray bits, a stale checksum, skipped messages); ``source`` is
    the file it came from; ``channel`` (0..15) is the header's device number and is
    reused when saving so that a clean bank saves byte-identical.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __init__(self, voices: Iterable[Dx7Voice] | None = None, *, report: list | None = None,
                 source: str | None = None, channel: int = 0) -> None:
        voices = [Dx7Voice() for _ in range(BANK_SIZE)] if voices is None else list(voices)
        if len(voices) != BANK_SIZE:
            raise ValueError(f"a DX7 bank holds {BANK_SIZE} voices, got {len(voices)}")
        for v in voices:
            _check_voice_type(v)
        if not 0 <= channel <= 15:
            raise ValueError(f"channel must be 0..15, got {channel}")
        self._voices = voices
        self.report = list(report or [])
        self.source = source
        self.channel = channel

    def __len__(self) -> int:
        return BANK_SIZE

    def __getitem__(self, index):  # int -> Dx7Voice, slice -> list
        return self._voices[index]

    def __setitem__(self, index: int, voice: Dx7Voice) -> None:
        _check_voice_type(voice)
        self._voices[index] = voice

    def __eq__(self, other: object) -> bool:
        # Two banks are equal when their voices are; where they came from does not matter.
        if not isinstance(other, Bank):
            return NotImplemented
        return self._voices == other._voices

    def __repr__(self) -> str:
        src = f" from {self.source}" if self.source else ""
        return f"<Bank{src}: {self._voices[0].display_name!r} ... {self._voices[-1].display_name!r}>"

    @property
    def names(self) -> list[str]:
        """The 32 voice names, trailing spaces stripped."""
        return [v.display_name for v in self._voices]

    def rows(self) -> list[tuple[int, str, int]]:
        """``(number 1..32, name, algorithm 1..32)`` per voice, for listing a bank."""
        return [(i + 1, v.display_name, v.algorithm_number) for i, v in enumerate(self._voices)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{"voices": [voice dict, ...]}`` (voice 1 first)."""
        return {"voices": [v.to_dict() for v in self._voices]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bank:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or not isinstance(data.get("voices"), list):
            raise ValueError('a DX7 bank must be a dict with a "voices" list')
        return cls([Dx7Voice.from_dict(v) for v in data["voices"]])

    def to_sysex(self, channel: int | None = None) -> bytes:
        """The bank as a DX7 32-voice dump (VMEM, 4104 bytes); channel defaults to :attr:`channel`."""
        from fmcore.dx7.sysex import bank_to_sysex  # sysex imports this module

        return bank_to_sysex(self._voices, self.channel if channel is None else channel)

    def save_sysex(self, path: str | os.PathLike, channel: int | None = None) -> None:
        """Write :meth:`to_sysex` to ``path`` atomically (temporary file, then rename)."""
        from fmcore.dx7.sysex import write_atomic

        write_atomic(path, self.to_sysex(channel))

    def to_patches(self, ref_note: int = 60) -> list:
        """The 32 voices as engine ``fmcore.Patch``es, voice 1 first."""
        from fmcore.dx7.model import bank_to_patches

        return bank_to_patches(self._voices, ref_note)


# -- helpers ----------------------------------------------------------------------------------
def _check_voice_type(v: object) -> None:
    if not isinstance(v, Dx7Voice):
        raise TypeError(f"a bank holds Dx7Voice objects, got {type(v).__name__}")


def _range_problems(obj: object, ranges: dict[str, tuple[int, int]], where: str) -> list[str]:
    out = []
    for name, (lo, hi) in ranges.items():
        value = getattr(obj, name)
        # bool is an int subclass but never a DX7 value; reject it to catch mix-ups.
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{where}.{name} must be an int, got {value!r}")
        elif not lo <= value <= hi:
            out.append(f"{where}.{name} = {value} is outside {lo}..{hi}")
    return out


def _check_keys(data: object, expected: Iterable[str], where: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a dict, got {type(data).__name__}")
    expected = list(expected)
    missing = [k for k in expected if k not in data]
    unknown = [k for k in data if k not in expected]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(map(str, unknown)))
        raise ValueError(f"{where}: " + "; ".join(parts))


def _raise_problems(problems: list[str]) -> None:
    if problems:
        raise ValueError("invalid DX7 voice: " + "; ".join(problems))
