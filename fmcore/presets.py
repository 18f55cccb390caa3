"""The built-in bank: the project's own patches, a General MIDI program map and a drum kit.

Every patch here was written for fmcore on the DX7 algorithms (none is
copied from a commercial bank). ``builtin_bank()`` returns them in bank
order; ``gm_bank()`` returns 128 patches, one per General MIDI program, for
``Synth.set_bank``; ``drum_kit()`` maps the General MIDI percussion keys to
drum patches for channel 10 (index 9).
"""
from __future__ import annotations

from functools import lru_cache

from fmcore.algorithms import algorithm
from fmcore.patch import Controllers, Envelope, Lfo, Operator, Patch, PitchEnvelope


def _op(ratio=1.0, level=1.0, a=0.002, d1=0.3, l1=1.0, d2=2.0, l2=0.8, r=0.3, peak=1.0, fixed=None,
        detune=0.0, vel=0.4, rs=0.2, ams=0.0) -> Operator:
    """An operator with a DX7-style envelope: attack to ``peak``, decay to ``l1`` then ``l2`` (held)."""
    return Operator(ratio=ratio, fixed_hz=fixed, detune_cents=detune, level=level,
                    env=Envelope(times=[a, d1, d2, r], levels=[peak, l1, l2, 0.0]),
                    velocity_sens=vel, rate_scaling=rs, ams=ams)


def _fm(name: str, alg: int, ops: list[Operator], feedback: float = 0.0, index: float = 1.0, **kw) -> Patch:
    # ops are listed OP1..OP6 as on the DX7 chart; `index` is the radians of a full-level modulator
    return Patch.from_graph(algorithm(alg, index=index, feedback=feedback), ops, name=name, **kw)


def _pluck(t: float, r: float = 0.2) -> dict:
    """Envelope arguments for a percussive decay lasting about ``t`` seconds to silence."""
    return dict(a=0.001, d1=t * 0.15, l1=0.5, d2=t, l2=0.0, r=r)


def _sustain(a=0.01, r=0.3, level=0.9) -> dict:
    return dict(a=a, d1=0.2, l1=level, d2=1.0, l2=level, r=r)


def _vibrato(rate=5.5, delay=0.4, depth=0.0) -> Lfo:
    return Lfo(wave="triangle", rate_hz=rate, delay_s=delay, pitch_depth_cents=depth)


@lru_cache(maxsize=1)
def _patches() -> tuple[Patch, ...]:
    P = []
    # --- keys
    P.append(_fm("Grand Piano", 5, [
        _op(1.0, 0.7, **_pluck(4.0, 0.4), vel=0.6), _op(1.0, 0.55, **_pluck(2.0), vel=0.7),
        _op(1.0, 0.6, **_pluck(3.5, 0.4), detune=3, vel=0.6), _op(3.0, 0.35, **_pluck(1.0), vel=0.8),
        _op(2.0, 0.3, **_pluck(3.0, 0.4), detune=-3, vel=0.5), _op(5.0, 0.2, **_pluck(0.6), vel=0.8)], 0.3))
    P.append(_fm("E.Piano", 5, [
        _op(1.0, 0.8, **_pluck(3.0, 0.3), vel=0.5), _op(1.0, 0.5, **_pluck(1.5), vel=0.8),
        _op(1.0, 0.6, **_pluck(2.5, 0.3), detune=4, vel=0.5), _op(14.0, 0.18, **_pluck(0.25), vel=0.9),
        _op(1.0, 0.3, **_pluck(2.5, 0.3), detune=-4, vel=0.4), _op(1.0, 0.2, **_pluck(1.0), vel=0.6)], 0.2))
    P.append(_fm("Tine Piano", 5, [
        _op(1.0, 0.8, **_pluck(2.5)), _op(7.0, 0.25, **_pluck(0.3), vel=0.9),
        _op(1.0, 0.5, **_pluck(2.0), detune=5), _op(1.0, 0.6, **_pluck(1.2)),
        _op(2.0, 0.2, **_pluck(1.5)), _op(1.0, 0.1, **_pluck(1.0))], 0.0))
    P.append(_fm("Clavinet", 3, [
        _op(1.0, 0.8, **_pluck(1.2, 0.05)), _op(3.0, 0.6, **_pluck(0.8)), _op(1.0, 0.5, **_pluck(0.5)),
        _op(1.0, 0.4, **_pluck(1.0, 0.05)), _op(5.0, 0.4, **_pluck(0.4)), _op(1.0, 0.5, **_pluck(0.5))], 1.2))
    P.append(_fm("Harpsichord", 4, [
        _op(1.0, 0.7, **_pluck(1.8, 0.1)), _op(4.0, 0.45, **_pluck(1.2)), _op(1.0, 0.3, **_pluck(0.9)),
        _op(2.0, 0.5, **_pluck(1.6, 0.1)), _op(6.0, 0.4, **_pluck(1.0)), _op(1.0, 0.5, **_pluck(1.0))], 1.5))
    # --- organs (all carriers: additive drawbars)
    for name, levels in (("Drawbar Organ", [0.5, 0.45, 0.3, 0.25, 0.15, 0.1]),
                         ("Perc Organ", [0.5, 0.3, 0.35, 0.1, 0.2, 0.05]),
                         ("Church Organ", [0.45, 0.4, 0.35, 0.3, 0.2, 0.2])):
        ratios = [1.0, 2.0, 3.0, 4.0, 0.5, 6.0]
        P.append(_fm(name, 32, [_op(rt, lv, **_sustain(0.005, 0.08, 1.0), vel=0.0) for rt, lv in zip(ratios, levels)],
                     0.1, lfo=_vibrato(6.5, 0.0, 6.0)))
    # --- plucked and mallets
    P.append(_fm("Nylon Guitar", 1, [
        _op(1.0, 0.8, **_pluck(2.0, 0.15)), _op(2.0, 0.4, **_pluck(0.6)),
        _op(1.0, 0.3, **_pluck(1.5, 0.15), detune=2), _op(3.0, 0.3, **_pluck(0.5)),
        _op(1.0, 0.2, **_pluck(0.4)), _op(1.0, 0.2, **_pluck(0.3))], 0.5))
    P.append(_fm("Steel Pluck", 1, [
        _op(1.0, 0.8, **_pluck(2.5, 0.15)), _op(3.0, 0.45, **_pluck(0.8)),
        _op(1.0, 0.3, **_pluck(2.0, 0.15), detune=4), _op(4.0, 0.35, **_pluck(0.6)),
        _op(1.0, 0.3, **_pluck(0.5)), _op(2.0, 0.3, **_pluck(0.4))], 0.8))
    P.append(_fm("Marimba", 5, [
        _op(1.0, 0.8, **_pluck(0.9, 0.1)), _op(4.0, 0.3, **_pluck(0.1)),
        _op(1.0, 0.4, **_pluck(0.7, 0.1)), _op(10.0, 0.1, **_pluck(0.05)),
        _op(3.0, 0.2, **_pluck(0.3)), _op(1.0, 0.1, **_pluck(0.2))], 0.0))
    P.append(_fm("Vibraphone", 5, [
        _op(1.0, 0.7, **_pluck(3.0, 0.5)), _op(4.0, 0.2, **_pluck(0.3)),
        _op(1.0, 0.4, **_pluck(2.5, 0.5), detune=2), _op(3.0, 0.1, **_pluck(0.5)),
        _op(4.0, 0.15, **_pluck(2.0, 0.5)), _op(1.0, 0.1, **_pluck(0.4))], 0.0,
        lfo=Lfo(wave="sine", rate_hz=5.0, amp_depth_db=4.0), ))
    P.append(_fm("Tubular Bells", 5, [
        _op(1.0, 0.7, **_pluck(5.0, 1.0), rs=0.1), _op(3.5, 0.45, **_pluck(3.0)),
        _op(1.0, 0.45, **_pluck(4.0, 1.0), detune=3), _op(5.04, 0.3, **_pluck(2.0)),
        _op(2.0, 0.25, **_pluck(3.0, 1.0)), _op(7.1, 0.2, **_pluck(1.0))], 0.0))
    P.append(_fm("Glocken", 5, [
        _op(1.0, 0.7, **_pluck(2.5, 0.8)), _op(3.5, 0.35, **_pluck(0.8)),
        _op(2.0, 0.3, **_pluck(2.0, 0.8)), _op(7.0, 0.2, **_pluck(0.4)),
        _op(4.0, 0.2, **_pluck(1.5, 0.8)), _op(11.0, 0.1, **_pluck(0.3))], 0.0, transpose=12))
    P.append(_fm("Kalimba", 5, [
        _op(1.0, 0.8, **_pluck(1.2, 0.2)), _op(6.0, 0.3, **_pluck(0.08)),
        _op(1.0, 0.3, **_pluck(0.8, 0.2)), _op(9.0, 0.1, **_pluck(0.05)),
        _op(1.0, 0.0, **_pluck(0.1)), _op(1.0, 0.0, **_pluck(0.1))], 0.0))
    # --- basses
    P.append(_fm("Finger Bass", 1, [
        _op(1.0, 0.9, a=0.003, d1=0.4, l1=0.7, d2=3.0, l2=0.2, r=0.08), _op(1.0, 0.55, **_pluck(0.6)),
        _op(0.5, 0.0, **_pluck(0.5)), _op(1.0, 0.0, **_pluck(0.5)), _op(1.0, 0.0, **_pluck(0.5)),
        _op(1.0, 0.0, **_pluck(0.5))], 0.0))
    P.append(_fm("Synth Bass", 1, [
        _op(1.0, 0.9, a=0.002, d1=0.3, l1=0.8, d2=2.0, l2=0.6, r=0.06), _op(1.0, 0.8, **_pluck(0.35)),
        _op(1.0, 0.3, **_sustain(0.002, 0.06, 0.6), detune=-6), _op(2.0, 0.4, **_pluck(0.4)),
        _op(1.0, 0.0, **_pluck(0.5)), _op(1.0, 0.0, **_pluck(0.5))], 1.4))
    P.append(_fm("Slap Bass", 3, [
        _op(1.0, 0.9, **_pluck(1.2, 0.06)), _op(1.0, 0.5, **_pluck(0.6)), _op(3.0, 0.6, **_pluck(0.08)),
        _op(1.0, 0.5, **_pluck(0.8, 0.06)), _op(0.5, 0.3, **_pluck(0.4)), _op(7.0, 0.25, **_pluck(0.05))], 0.6))
    P.append(_fm("Sub Bass", 1, [
        _op(1.0, 1.0, **_sustain(0.004, 0.08, 0.9), vel=0.2), _op(1.0, 0.15, **_sustain(0.004, 0.08, 0.5)),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    # --- strings, brass, winds
    P.append(_fm("Strings", 2, [
        _op(1.0, 0.55, **_sustain(0.25, 0.5, 0.9), ams=0.3), _op(1.0, 0.35, **_sustain(0.3, 0.5, 0.8)),
        _op(1.0, 0.55, **_sustain(0.25, 0.5, 0.9), detune=7, ams=0.3), _op(1.0, 0.35, **_sustain(0.3, 0.5, 0.8)),
        _op(3.0, 0.15, **_sustain(0.4, 0.5, 0.6)), _op(1.0, 0.3, **_sustain(0.3, 0.5, 0.8), detune=-7)], 0.4,
        lfo=_vibrato(5.2, 0.6, 8.0)))
    P.append(_fm("Slow Strings", 2, [
        _op(1.0, 0.55, **_sustain(0.8, 1.0, 0.9)), _op(1.0, 0.3, **_sustain(0.9, 1.0, 0.7)),
        _op(1.0, 0.55, **_sustain(0.8, 1.0, 0.9), detune=9), _op(1.0, 0.3, **_sustain(0.9, 1.0, 0.7)),
        _op(2.0, 0.1, **_sustain(1.0, 1.0, 0.5)), _op(1.0, 0.25, **_sustain(0.9, 1.0, 0.7), detune=-9)], 0.3,
        lfo=_vibrato(5.0, 0.8, 6.0)))
    P.append(_fm("Brass", 22, [
        _op(1.0, 0.45, **_sustain(0.04, 0.15, 0.85)), _op(1.0, 0.6, a=0.06, d1=0.3, l1=0.7, d2=1.0, l2=0.6, r=0.15),
        _op(1.0, 0.45, **_sustain(0.04, 0.15, 0.85), detune=5), _op(1.0, 0.45, **_sustain(0.04, 0.15, 0.85), detune=-5),
        _op(0.5, 0.2, **_sustain(0.05, 0.15, 0.8)), _op(1.0, 0.7, a=0.05, d1=0.3, l1=0.6, d2=1.0, l2=0.55, r=0.15)],
        1.0, lfo=_vibrato(5.5, 0.5, 10.0), pitch_env=PitchEnvelope(times=[0.04, 0.1, 0.0, 0.1],
                                                                   levels_cents=[0.0, 0.0, 0.0, -40.0])))
    P.append(_fm("Soft Horn", 16, [
        _op(1.0, 0.8, **_sustain(0.08, 0.25, 0.8)), _op(1.0, 0.3, **_sustain(0.1, 0.25, 0.6)),
        _op(2.0, 0.2, **_sustain(0.1, 0.25, 0.5)), _op(1.0, 0.2, **_sustain(0.1, 0.25, 0.5)),
        _op(1.0, 0.3, **_sustain(0.1, 0.25, 0.5)), _op(1.0, 0.3, **_sustain(0.1, 0.25, 0.5))], 0.6,
        lfo=_vibrato(5.0, 0.6, 8.0)))
    P.append(_fm("Flute", 1, [
        _op(1.0, 0.8, **_sustain(0.06, 0.12, 0.9), ams=0.2), _op(1.0, 0.15, **_sustain(0.05, 0.12, 0.5)),
        _op(2.0, 0.1, **_sustain(0.06, 0.12, 0.5)), _op(4.0, 0.08, **_pluck(0.1)), _op(9.0, 0.05, **_pluck(0.05)),
        _op(1.0, 0.2, **_sustain(0.05, 0.12, 0.3))], 2.0, lfo=_vibrato(5.0, 0.4, 12.0)))
    P.append(_fm("Clarinet", 1, [
        _op(1.0, 0.85, **_sustain(0.05, 0.1, 0.9)), _op(2.0, 0.45, **_sustain(0.05, 0.1, 0.8)),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, lfo=_vibrato(5.0, 0.5, 8.0)))
    P.append(_fm("Reed", 2, [
        _op(1.0, 0.7, **_sustain(0.03, 0.1, 0.85)), _op(1.0, 0.55, **_sustain(0.03, 0.1, 0.75)),
        _op(3.0, 0.3, **_sustain(0.04, 0.1, 0.6)), _op(1.0, 0.35, **_sustain(0.04, 0.1, 0.6)),
        _op(1.0, 0.2, **_sustain(0.04, 0.1, 0.6)), _op(1.0, 0.2, **_sustain(0.04, 0.1, 0.5))], 0.8,
        lfo=_vibrato(5.5, 0.4, 10.0)))
    # --- pads and leads
    P.append(_fm("Warm Pad", 5, [
        _op(1.0, 0.5, **_sustain(0.6, 1.2, 0.9)), _op(1.0, 0.25, **_sustain(0.8, 1.2, 0.8)),
        _op(1.0, 0.5, **_sustain(0.6, 1.2, 0.9), detune=8), _op(2.0, 0.15, **_sustain(0.9, 1.2, 0.7)),
        _op(0.5, 0.35, **_sustain(0.7, 1.2, 0.9), detune=-8), _op(1.0, 0.1, **_sustain(1.0, 1.2, 0.6))], 0.2,
        lfo=Lfo(wave="sine", rate_hz=0.3, pitch_depth_cents=4.0, key_sync=False)))
    P.append(_fm("Glass Pad", 5, [
        _op(1.0, 0.45, **_sustain(0.4, 1.5, 0.9)), _op(3.0, 0.2, **_sustain(0.6, 1.5, 0.6)),
        _op(2.0, 0.3, **_sustain(0.5, 1.5, 0.8), detune=6), _op(5.0, 0.15, **_sustain(0.8, 1.5, 0.5)),
        _op(4.0, 0.2, **_sustain(0.7, 1.5, 0.8), detune=-6), _op(1.0, 0.1, **_sustain(1.0, 1.5, 0.5))], 0.0))
    P.append(_fm("Saw Lead", 1, [
        _op(1.0, 0.8, **_sustain(0.01, 0.12, 0.9)), _op(1.0, 0.55, **_sustain(0.01, 0.12, 0.85)),
        _op(1.0, 0.6, **_sustain(0.01, 0.12, 0.9), detune=-8), _op(1.0, 0.4, **_sustain(0.01, 0.12, 0.8)),
        _op(1.0, 0.3, **_sustain(0.01, 0.12, 0.8)), _op(1.0, 0.5, **_sustain(0.01, 0.12, 0.8))], 2.2,
        lfo=_vibrato(5.8, 0.3, 0.0), controllers=Controllers(mod_wheel_pitch_cents=40.0)))
    P.append(_fm("Square Lead", 7, [
        _op(1.0, 0.8, **_sustain(0.01, 0.1, 0.9)), _op(2.0, 0.4, **_sustain(0.01, 0.1, 0.8)),
        _op(1.0, 0.6, **_sustain(0.01, 0.1, 0.9), detune=5), _op(3.0, 0.2, **_sustain(0.01, 0.1, 0.8)),
        _op(2.0, 0.2, **_sustain(0.01, 0.1, 0.7)), _op(1.0, 0.2, **_sustain(0.01, 0.1, 0.7))], 0.5,
        lfo=_vibrato(5.5, 0.3, 0.0)))
    P.append(_fm("Sync Lead", 1, [
        _op(1.0, 0.8, **_sustain(0.005, 0.1, 0.9)), _op(2.5, 0.7, a=0.005, d1=0.6, l1=0.5, d2=1.0, l2=0.4, r=0.1),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, lfo=_vibrato(5.5, 0.3, 0.0)))
    # --- choir, fx
    P.append(_fm("Choir", 5, [
        _op(1.0, 0.5, **_sustain(0.3, 0.6, 0.9)), _op(1.0, 0.2, **_sustain(0.3, 0.6, 0.7)),
        _op(2.0, 0.3, **_sustain(0.35, 0.6, 0.8), detune=6), _op(4.0, 0.1, **_sustain(0.4, 0.6, 0.6)),
        _op(3.0, 0.2, **_sustain(0.35, 0.6, 0.8), detune=-6), _op(5.0, 0.08, **_sustain(0.4, 0.6, 0.6))], 0.0,
        lfo=_vibrato(4.8, 0.5, 12.0)))
    P.append(_fm("Atmosphere", 5, [
        _op(1.0, 0.5, **_sustain(1.0, 2.0, 0.9)), _op(7.0, 0.2, **_sustain(1.5, 2.0, 0.5)),
        _op(1.0, 0.4, **_sustain(1.2, 2.0, 0.8), detune=12), _op(1.41, 0.3, **_sustain(1.5, 2.0, 0.6)),
        _op(0.5, 0.3, **_sustain(1.0, 2.0, 0.8)), _op(3.0, 0.2, **_sustain(1.5, 2.0, 0.5))], 0.5,
        lfo=Lfo(wave="sine", rate_hz=0.2, amp_depth_db=3.0, key_sync=False)))
    P.append(_fm("Percussion Kit", 1, [
        _op(1.0, 1.0, **_pluck(0.4, 0.05)), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0)], 0.0))
    return tuple(P)


def builtin_bank() -> list[Patch]:
    """The project's patches in bank order (copies: edit them freely)."""
    return [p.copy() for p in _patches()]


def builtin_names() -> list[str]:
    return [p.name for p in _patches()]


def builtin_patch(name: str) -> Patch:
    """A built-in patch by name, case and spaces ignored (``"e.piano"``, ``"Warm Pad"``)."""
    key = name.replace(" ", "").lower()
    for p in _patches():
        if p.name.replace(" ", "").lower() == key:
            return p.copy()
    raise KeyError(name)


# General MIDI program families (8 programs each) -> built-in patch names.
_GM_FAMILIES = [
    ["Grand Piano", "Grand Piano", "Tine Piano", "Grand Piano", "E.Piano", "Tine Piano", "Harpsichord", "Clavinet"],
    ["Glocken", "Glocken", "Vibraphone", "Vibraphone", "Marimba", "Marimba", "Tubular Bells", "Kalimba"],
    ["Drawbar Organ", "Perc Organ", "Perc Organ", "Church Organ", "Reed", "Reed", "Reed", "Reed"],
    ["Nylon Guitar", "Steel Pluck", "Steel Pluck", "Steel Pluck", "Steel Pluck", "Clavinet", "Sync Lead",
     "Nylon Guitar"],
    ["Finger Bass", "Finger Bass", "Finger Bass", "Finger Bass", "Slap Bass", "Slap Bass", "Synth Bass", "Sub Bass"],
    ["Strings", "Strings", "Slow Strings", "Strings", "Strings", "Strings", "Nylon Guitar", "Tubular Bells"],
    ["Strings", "Slow Strings", "Warm Pad", "Warm Pad", "Choir", "Choir", "Choir", "Brass"],
    ["Brass", "Brass", "Soft Horn", "Soft Horn", "Brass", "Brass", "Brass", "Soft Horn"],
    ["Reed", "Reed", "Reed", "Reed", "Clarinet", "Clarinet", "Clarinet", "Clarinet"],
    ["Flute", "Flute", "Flute", "Flute", "Flute", "Flute", "Flute", "Flute"],
    ["Square Lead", "Saw Lead", "Flute", "Choir", "Sync Lead", "Choir", "Saw Lead", "Saw Lead"],
    ["Warm Pad", "Warm Pad", "Slow Strings", "Choir", "Glass Pad", "Warm Pad", "Slow Strings", "Atmosphere"],
    ["Atmosphere", "Atmosphere", "Glass Pad", "Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere"],
    ["Kalimba", "Nylon Guitar", "Nylon Guitar", "Kalimba", "Kalimba", "Reed", "Strings", "Reed"],
    ["Tubular Bells", "Marimba", "Marimba", "Marimba", "Marimba", "Marimba", "Marimba", "Marimba"],
    ["Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere", "Atmosphere"],
]
GM_PROGRAM_MAP: tuple[str, ...] = tuple(name for fam in _GM_FAMILIES for name in fam)


def gm_bank() -> list[Patch]:
    """128 patches, one per General MIDI program (0-based), for ``Synth.set_bank``."""
    by_name = {p.name: p for p in _patches()}
    return [by_name[name] for name in GM_PROGRAM_MAP]


def _drum(name, ops, alg=1, feedback=0.0, peg=None) -> Patch:
    return _fm(name, alg, ops, feedback, pitch_env=peg or PitchEnvelope())


@lru_cache(maxsize=1)
def _kit() -> dict[int, Patch]:
    silent = [_op(1.0, 0.0) for _ in range(6)]

    def with_ops(*ops):
        return list(ops) + silent[len(ops):]

    kick = _drum("Kick", with_ops(_op(1.0, 1.0, **_pluck(0.35, 0.05), vel=0.5), _op(1.0, 0.25, **_pluck(0.05))),
                 peg=PitchEnvelope(times=[0.0, 0.06, 0.0, 0.0], levels_cents=[2400.0, 0.0, 0.0, 2400.0]))
    snare = _drum("Snare", with_ops(_op(3.0, 0.8, **_pluck(0.25, 0.05)), _op(11.3, 1.0, **_pluck(0.2))), feedback=3.0)
    clap = _drum("Clap", with_ops(_op(5.0, 0.7, **_pluck(0.2, 0.05)), _op(17.1, 1.0, **_pluck(0.2))), feedback=3.1)
    tom = _drum("Tom", with_ops(_op(1.0, 1.0, **_pluck(0.5, 0.05)), _op(1.0, 0.2, **_pluck(0.1))),
                peg=PitchEnvelope(times=[0.0, 0.15, 0.0, 0.0], levels_cents=[700.0, 0.0, 0.0, 700.0]))
    hat_c = _drum("Closed Hat", with_ops(_op(9.1, 0.45, **_pluck(0.08, 0.03), vel=0.6), _op(13.7, 1.0, **_pluck(0.1))),
                  feedback=3.1)
    hat_o = _drum("Open Hat", with_ops(_op(9.1, 0.45, **_pluck(0.6, 0.1), vel=0.6), _op(13.7, 1.0, **_pluck(0.6))),
                  feedback=3.1)
    crash = _drum("Crash", with_ops(_op(7.3, 0.5, **_pluck(2.5, 0.5), vel=0.5), _op(11.9, 1.0, **_pluck(2.5))),
                  feedback=3.1)
    ride = _drum("Ride", with_ops(_op(6.1, 0.4, **_pluck(2.0, 0.4)), _op(15.2, 0.8, **_pluck(1.5))), feedback=1.5)
    rim = _drum("Rim", with_ops(_op(4.0, 0.6, **_pluck(0.06, 0.02)), _op(7.7, 0.8, **_pluck(0.05))))
    bell = _drum("Cowbell", with_ops(_op(4.0, 0.6, **_pluck(0.3, 0.05)), _op(5.9, 0.7, **_pluck(0.3))))
    kit = {35: kick, 36: kick, 37: rim, 38: snare, 39: clap, 40: snare, 42: hat_c, 44: hat_c, 46: hat_o,
           49: crash, 52: crash, 55: crash, 57: crash, 51: ride, 53: ride, 59: ride, 54: hat_c, 56: bell,
           41: tom, 43: tom, 45: tom, 47: tom, 48: tom, 50: tom}
    return kit


def drum_kit() -> dict[int, Patch]:
    """General MIDI percussion keys -> drum patches, for ``Synth.set_kit(kit, channel=9)``."""
    return dict(_kit())
