"""Patches: everything a part needs to make a sound, as plain data with JSON in and out.

A ``Patch`` holds up to 12 ``Operator``s, the operator graph (modulation
edges, carriers, feedback edges), an LFO, a pitch envelope and global
settings. Patches are compiled to the engine's C plan on the control thread
(``Synth.set_patch``); nothing here runs on the audio thread.

Units: times in seconds, levels as linear amplitude 0..1 (envelopes move
linearly in dB between them, like the DX7's), pitch in cents, modulation
amounts in radians (see ``fmcore.graph``).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fmcore.errors import FmcoreError
from fmcore.graph import MAX_OPERATORS, CompiledGraph, Graph, GraphError

LFO_WAVES = ("sine", "triangle", "saw_up", "saw_down", "square", "sample_hold")
CURVES = ("-lin", "-exp", "+exp", "+lin")
FLOOR_DB = -96.0   # envelope floor: silence


class PatchError(FmcoreError, ValueError):
    """A patch that cannot be used: malformed JSON, unknown field, value out of range."""


def _num(where: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PatchError(f"{where}: expected a number, got {value!r}")
    try:
        v = float(value)
    except OverflowError:   # an int beyond float range (JSON allows 10**400)
        raise PatchError(f"{where}: {str(value)[:20]}... is out of range") from None
    if not math.isfinite(v):
        raise PatchError(f"{where}: must be finite, got {value!r}")
    if not lo <= v <= hi:
        raise PatchError(f"{where}: {v:g} outside [{lo:g}, {hi:g}]")
    return v


def _four(where: str, values: Any, lo: float, hi: float) -> list[float]:
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        raise PatchError(f"{where}: expected a list of 4 numbers, got {values!r}")
    return [_num(f"{where}[{i}]", v, lo, hi) for i, v in enumerate(values)]


def _from_dict(cls, data: Any, where: str):
    """Build dataclass ``cls`` from a dict, refusing unknown keys by name."""
    if not isinstance(data, dict):
        raise PatchError(f"{where}: expected an object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise PatchError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    return data


@dataclass
class Envelope:
    """A DX7-style 4-segment envelope.

    The envelope starts at ``levels[3]``, moves to ``levels[0]`` (attack), then
    ``levels[1]``, then ``levels[2]`` where it holds while the key is down,
    and on release moves to ``levels[3]``. Each segment moves linearly in dB.
    ``times[i]`` is the duration of segment i between its nominal levels (0 =
    a jump); a segment starting elsewhere (a release from the middle of the
    attack) keeps the segment's rate in dB per second. Alternatively
    ``rates`` (dB per second, > 0) give the rates directly, as the DX7 does.
    """

    times: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.05])
    levels: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0, 0.0])
    rates: list[float] | None = None

    @classmethod
    def adsr(cls, attack: float, decay: float, sustain: float, release: float, peak: float = 1.0) -> Envelope:
        """Attack to ``peak``, decay to ``sustain`` (both linear), release to silence; times in seconds."""
        return cls(times=[attack, decay, 0.0, release], levels=[peak, sustain, sustain, 0.0])

    def validate(self, where: str = "env") -> None:
        self.times = _four(f"{where}.times", self.times, 0.0, 600.0)
        self.levels = _four(f"{where}.levels", self.levels, 0.0, 1.0)
        if self.rates is not None:
            self.rates = _four(f"{where}.rates", self.rates, 1e-3, 1e9)

    def levels_db(self) -> list[float]:
        return [amp_to_db(v) for v in self.levels]

    def rates_db(self) -> list[float]:
        """Rate of each segment in dB per second (1e9 for a jump)."""
        if self.rates is not None:
            return list(self.rates)
        db = self.levels_db()
        prev = [db[3], db[0], db[1], db[2]]
        out = []
        for t, a, b in zip(self.times, prev, db):
            # A segment between equal nominal levels still needs a rate: a release that starts
            # mid-decay must end. Such a segment moves at the full range (96 dB) per its time.
            dist = abs(b - a)
            out.append(1e9 if t <= 0.0 else (dist if dist >= 1.0 else -FLOOR_DB) / t)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "env") -> Envelope:
        data = _from_dict(cls, data, where)
        env = cls(**data)
        env.validate(where)
        return env


@dataclass
class KeyScaling:
    """Keyboard level scaling around a breakpoint note, in dB per octave (DX7 curves)."""

    breakpoint: int = 60
    left_depth_db: float = 0.0
    right_depth_db: float = 0.0
    left_curve: str = "-lin"
    right_curve: str = "-lin"

    def validate(self, where: str) -> None:
        self.breakpoint = int(_num(f"{where}.breakpoint", self.breakpoint, 0, 127))
        self.left_depth_db = _num(f"{where}.left_depth_db", self.left_depth_db, 0.0, 96.0)
        self.right_depth_db = _num(f"{where}.right_depth_db", self.right_depth_db, 0.0, 96.0)
        for side in ("left_curve", "right_curve"):
            if getattr(self, side) not in CURVES:
                raise PatchError(f"{where}.{side}: one of {', '.join(CURVES)}, got {getattr(self, side)!r}")

    @classmethod
    def from_dict(cls, data: Any, where: str) -> KeyScaling:
        ks = cls(**_from_dict(cls, data, where))
        ks.validate(where)
        return ks


@dataclass
class Operator:
    """One sine operator: frequency, level, envelope and sensitivities."""

    ratio: float = 1.0                 # frequency = ratio x note frequency ...
    fixed_hz: float | None = None      # ... or a fixed frequency in Hz
    detune_cents: float = 0.0
    level: float = 1.0                 # output amplitude 0..1 (x edge amount for a modulator)
    env: Envelope = field(default_factory=Envelope)
    velocity_sens: float = 0.0         # 0..1: level drop at velocity 1, up to VELOCITY_RANGE_DB
    rate_scaling: float = 0.0          # 0..1: envelope rates x 2**(rate_scaling * octaves above C3)
    level_scaling: KeyScaling = field(default_factory=KeyScaling)
    ams: float = 0.0                   # 0..1: share of the LFO's amplitude depth applied
    # DX7 laws (fmcore.dx7): attack that jumps to -50 dB absolute and slows near the top, keyboard
    # scaling in 3-key groups (breakpoint + 4) with the DX7 exp curve, the DX7 velocity curve
    # (velocity_sens x 7 = sensitivity 0..7). Absolute level = envelope dB + 20*log10(level).
    dx7: bool = False

    def validate(self, where: str) -> None:
        self.ratio = _num(f"{where}.ratio", self.ratio, 0.0, 64.0)
        if self.fixed_hz is not None:
            self.fixed_hz = _num(f"{where}.fixed_hz", self.fixed_hz, 0.0, 30000.0)
        self.detune_cents = _num(f"{where}.detune_cents", self.detune_cents, -1200.0, 1200.0)
        self.level = _num(f"{where}.level", self.level, 0.0, 1.0)
        self.velocity_sens = _num(f"{where}.velocity_sens", self.velocity_sens, 0.0, 1.0)
        self.rate_scaling = _num(f"{where}.rate_scaling", self.rate_scaling, 0.0, 1.0)
        self.ams = _num(f"{where}.ams", self.ams, 0.0, 1.0)
        if not isinstance(self.dx7, bool):
            raise PatchError(f"{where}.dx7: expected true or false, got {self.dx7!r}")
        self.env.validate(f"{where}.env")
        self.level_scaling.validate(f"{where}.level_scaling")

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Operator:
        data = dict(_from_dict(cls, data, where))
        if "env" in data:
            data["env"] = Envelope.from_dict(data["env"], f"{where}.env")
        if "level_scaling" in data:
            data["level_scaling"] = KeyScaling.from_dict(data["level_scaling"], f"{where}.level_scaling")
        op = cls(**data)
        op.validate(where)
        return op


@dataclass
class Lfo:
    """The voice LFO: pitch depth in cents and amplitude depth in dB at full modulation."""

    wave: str = "triangle"
    rate_hz: float = 5.0
    delay_s: float = 0.0
    pitch_depth_cents: float = 0.0
    amp_depth_db: float = 0.0
    key_sync: bool = True
    start_phase: float = 0.0           # cycles: where a key-synced LFO starts
    hold_s: float = 0.0                # seconds of no LFO before the delay ramp (the DX7's delay)

    def validate(self, where: str = "lfo") -> None:
        if self.wave not in LFO_WAVES:
            raise PatchError(f"{where}.wave: one of {', '.join(LFO_WAVES)}, got {self.wave!r}")
        self.rate_hz = _num(f"{where}.rate_hz", self.rate_hz, 0.0, 100.0)
        self.delay_s = _num(f"{where}.delay_s", self.delay_s, 0.0, 30.0)
        self.pitch_depth_cents = _num(f"{where}.pitch_depth_cents", self.pitch_depth_cents, 0.0, 4800.0)
        self.amp_depth_db = _num(f"{where}.amp_depth_db", self.amp_depth_db, 0.0, 96.0)
        self.start_phase = _num(f"{where}.start_phase", self.start_phase, 0.0, 1.0)
        self.hold_s = _num(f"{where}.hold_s", self.hold_s, 0.0, 30.0)
        if not isinstance(self.key_sync, bool):
            raise PatchError(f"{where}.key_sync: expected true or false, got {self.key_sync!r}")


@dataclass
class PitchEnvelope:
    """Pitch envelope in cents, DX7 style: starts and ends at ``levels_cents[3]``."""

    times: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    levels_cents: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    rates: list[float] | None = None   # cents per second, instead of times

    def validate(self, where: str = "pitch_env") -> None:
        self.times = _four(f"{where}.times", self.times, 0.0, 600.0)
        self.levels_cents = _four(f"{where}.levels_cents", self.levels_cents, -4800.0, 4800.0)
        if self.rates is not None:
            self.rates = _four(f"{where}.rates", self.rates, 1e-3, 1e9)

    def rates_cents(self) -> list[float]:
        if self.rates is not None:
            return list(self.rates)
        lv = self.levels_cents
        prev = [lv[3], lv[0], lv[1], lv[2]]
        # equal nominal levels: move at one octave per segment time (see Envelope.rates_db)
        return [1e9 if t <= 0 else max(abs(b - a), 1200.0) / t if abs(b - a) < 1.0 else abs(b - a) / t
                for t, a, b in zip(self.times, prev, lv)]

    @property
    def active(self) -> bool:
        return any(v != 0.0 for v in self.levels_cents)


@dataclass
class Controllers:
    """How the mod wheel and channel aftertouch act on the LFO (added at full controller)."""

    mod_wheel_pitch_cents: float = 50.0
    mod_wheel_amp_db: float = 0.0
    aftertouch_pitch_cents: float = 0.0
    aftertouch_amp_db: float = 0.0

    def validate(self, where: str = "controllers") -> None:
        for f in fields(self):
            hi = 4800.0 if f.name.endswith("cents") else 96.0
            setattr(self, f.name, _num(f"{where}.{f.name}", getattr(self, f.name), 0.0, hi))


@dataclass
class Patch:
    """A complete sound: operators, graph, LFO, pitch envelope and globals.

    ``edges`` are ``[src, dst, amount]`` (1-based operators, amount in
    radians), ``carriers`` are ``[op, level]`` and ``feedback`` edges
    ``[src, dst, amount]`` are read one sample late (two-sample average).
    """

    name: str = "Init"
    operators: list[Operator] = field(default_factory=lambda: [Operator()])
    edges: list[list[float]] = field(default_factory=list)
    carriers: list[list[float]] = field(default_factory=lambda: [[1, 1.0]])
    feedback: list[list[float]] = field(default_factory=list)
    lfo: Lfo = field(default_factory=Lfo)
    pitch_env: PitchEnvelope = field(default_factory=PitchEnvelope)
    controllers: Controllers = field(default_factory=Controllers)
    transpose: int = 0                 # semitones
    bend_range: float = 2.0            # semitones, each way
    gain_db: float = 0.0               # patch volume
    osc_key_sync: bool = True          # operator phases restart at each note (else they run on)

    # ---- construction -------------------------------------------------------

    @classmethod
    def from_graph(cls, graph: Graph, operators: list[Operator] | None = None, **kw) -> Patch:
        """A patch on ``graph`` (e.g. ``fmcore.algorithm(5)``) with the given operators."""
        ops = operators if operators is not None else [Operator() for _ in range(graph.n_ops)]
        return cls(operators=list(ops), edges=[list(e) for e in graph.edges],
                   carriers=[list(c) for c in graph.carriers], feedback=[list(f) for f in graph.feedback], **kw)

    @classmethod
    def from_dict(cls, data: Any) -> Patch:
        """Build and validate a patch from a dict (as read from JSON); raise ``PatchError`` naming the field."""
        data = dict(_from_dict(cls, data, "patch"))
        ops = data.get("operators", [{}])
        if not isinstance(ops, list) or not ops:
            raise PatchError("patch.operators: expected a non-empty list of operators")
        data["operators"] = [Operator.from_dict(o, f"operators[{i}]") for i, o in enumerate(ops)]
        for key, sub in (("lfo", Lfo), ("pitch_env", PitchEnvelope), ("controllers", Controllers)):
            if key in data:
                data[key] = sub(**_from_dict(sub, data[key], key))
        patch = cls(**data)
        patch.validate()
        return patch

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Patch:
        """Read a patch JSON file; errors name the file."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise PatchError("no such file", path=os.fspath(path)) from None
        except OSError as e:
            raise PatchError(f"cannot read: {e.strerror or e}", path=os.fspath(path)) from None
        except UnicodeDecodeError as e:
            raise PatchError(f"not a JSON patch: byte {e.start} is not UTF-8", path=os.fspath(path)) from None
        except RecursionError:
            raise PatchError("not a patch: JSON nested too deeply", path=os.fspath(path)) from None
        except ValueError as e:   # JSONDecodeError, or an integer too long to convert
            raise PatchError(f"not valid JSON: {e}", path=os.fspath(path)) from None
        try:
            return cls.from_dict(data)
        except PatchError as e:
            raise PatchError(str(e), path=os.fspath(path)) from None

    def save(self, path: str | os.PathLike) -> None:
        """Write the patch as JSON (atomically: a temporary file renamed into place)."""
        self.validate()
        from fmcore.atomicfile import write_text

        write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    # ---- checks ---------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        try:
            return Graph.make(len(self.operators), self.edges, self.carriers, self.feedback)
        except (TypeError, ValueError, OverflowError) as e:
            if isinstance(e, GraphError):
                raise PatchError(str(e)) from None
            raise PatchError(f"graph: {e}") from None

    def validate(self) -> CompiledGraph:
        """Check every field; return the compiled graph. Raises ``PatchError``."""
        if not isinstance(self.name, str):
            raise PatchError(f"patch.name: expected a string, got {self.name!r}")
        if not isinstance(self.operators, (list, tuple)):
            raise PatchError(f"patch.operators: expected a list of Operators, got {type(self.operators).__name__}")
        if not 1 <= len(self.operators) <= MAX_OPERATORS:
            raise PatchError(f"patch.operators: 1..{MAX_OPERATORS} operators, got {len(self.operators)}")
        for i, op in enumerate(self.operators):
            if not isinstance(op, Operator):
                raise PatchError(f"operators[{i}]: expected an Operator, got {type(op).__name__}")
            for name, kind in (("env", Envelope), ("level_scaling", KeyScaling)):
                if not isinstance(getattr(op, name), kind):
                    raise PatchError(f"operators[{i}].{name}: expected {kind.__name__}, "
                                     f"got {type(getattr(op, name)).__name__}")
            op.validate(f"operators[{i}]")
        for name, kind in (("lfo", Lfo), ("pitch_env", PitchEnvelope), ("controllers", Controllers)):
            if not isinstance(getattr(self, name), kind):
                raise PatchError(f"patch.{name}: expected {kind.__name__}, got {type(getattr(self, name)).__name__}")
        self.lfo.validate()
        self.pitch_env.validate()
        self.controllers.validate()
        self.transpose = int(_num("patch.transpose", self.transpose, -48, 48))
        self.bend_range = _num("patch.bend_range", self.bend_range, 0.0, 48.0)
        self.gain_db = _num("patch.gain_db", self.gain_db, -96.0, 24.0)
        if not isinstance(self.osc_key_sync, bool):
            raise PatchError(f"patch.osc_key_sync: expected true or false, got {self.osc_key_sync!r}")
        try:
            return self.graph.compile()
        except GraphError as e:
            raise PatchError(f"graph: {e}") from None

    def copy(self) -> Patch:
        return Patch.from_dict(json.loads(json.dumps(self.to_dict())))


def amp_to_db(amp: float) -> float:
    """Linear amplitude to dB, clamped at the envelope floor (silence)."""
    return FLOOR_DB if amp <= 10 ** (FLOOR_DB / 20) else max(FLOOR_DB, 20.0 * math.log10(amp))


def as_patch(obj, what: str = "patch") -> Patch:
    """``obj`` as an engine ``Patch``: a ``Patch`` itself, or anything with a ``to_patch()`` that
    returns one (a DX7 voice, ``bank[i]``). Raises TypeError naming ``what`` otherwise."""
    if isinstance(obj, Patch):
        return obj
    to_patch = getattr(obj, "to_patch", None)
    if callable(to_patch):
        patch = to_patch()
        if isinstance(patch, Patch):
            return patch
    raise TypeError(f"{what}: expected a fmcore.Patch or a DX7 voice (bank[i]), got {type(obj).__name__}")
