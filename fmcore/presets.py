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
from fmcore.drums import GM_CHOKE_GROUPS, drum_kit as _drum_kit
from fmcore.gm import FAMILY_NAMES
from fmcore.patch import Controllers, Envelope, KeyScaling, Lfo, Operator, Patch, PitchEnvelope  # noqa: F401


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
    P += _gm_patches()
    for p in P:
        p.gain_db += _LEVEL_TRIM_DB.get(p.name, 0.0)
        s = _INDEX_SCALE.get(p.name)
        if s is not None:
            p.edges = [[a, b, amount * s] for a, b, amount in p.edges]
    return tuple(P)


# Balance of the GM map: patch gains (dB) that bring a held middle C within about 5 dB of a GM
# reference player's level for the same program (FluidR3_GM through FluidSynth, median offset removed).
_LEVEL_TRIM_DB = {
    "Grand Piano": -4.0, "Honky-tonk": -4.0, "Dulcimer": -6.0, "Drawbar Organ": -4.0, "Guitar Harmonics": 6.0,
    "Synth Bass": -4.0, "Timpani": -8.0, "Orchestra Hit": 5.0, "Metallic Pad": 5.0, "Halo Pad": 6.0,
    "Fifths Lead": -8.0, "Rain": 7.0, "Atmosphere": 9.0, "Goblins": 9.0, "Kalimba": -6.0, "Synth Drum": 6.0,
    "Reverse Cymbal": 8.0, "Fret Noise": 8.0, "Seashore": 8.0, "Helicopter": -6.0, "Applause": 6.0, "Gunshot": 5.0,
}


# Brightness of the GM map: modulation index factors (every modulation edge, not feedback) that
# bring each patch's share of 2-8 kHz within 10 dB of what a GM reference player gives the
# programs it plays (FluidR3_GM through FluidSynth: C3, C4 and C5 at velocity 100); written
# low-index, most patches had next to nothing above their fifth harmonic. tools/gm_brightness.py
_INDEX_SCALE: dict[str, float] = {
    'Accordion': 1.5, 'Acoustic Bass': 3, 'Agogo': 3, 'Atmosphere': 3, 'Bagpipe': 3, 'Banjo': 1.5,
    'Bass Lead': 2, 'Bassoon': 2, 'Brass': 3, 'Cello': 3, 'Choir': 3, 'Choir Pad': 2, 'Clarinet': 3,
    'Clavinet': 1.5, 'Dulcimer': 3, 'Echo Drops': 3, 'Fiddle': 2.5, 'Fifths Lead': 2, 'Finger Bass': 3,
    'Fretless Bass': 3, 'Grand Piano': 3, 'Halo Pad': 3, 'Harmonica': 3, 'Harp': 3, 'Harpsichord': 2,
    'Honky-tonk': 3, 'Jazz Guitar': 3, 'Kalimba': 3, 'Koto': 3, 'Marimba': 2, 'Muted Guitar': 3,
    'Muted Trumpet': 1.5, 'New Age Pad': 3, 'Nylon Guitar': 3, 'Oboe': 1.5, 'Pizzicato': 3,
    'Poly Synth': 2.5, 'Recorder': 3, 'Reed': 3, 'Reed Organ': 1.25, 'Saw Lead': 3, 'Shanai': 1.5,
    'Sitar': 2, 'Slap Bass': 3, 'Slow Strings': 3, 'Soft Horn': 1.25, 'Square Lead': 3,
    'Steel Drum': 3, 'Steel Pluck': 3, 'Strings': 3, 'Sweep Pad': 2, 'Sync Lead': 3, 'Synth Bass': 3,
    'Synth Brass': 2, 'Synth Drum': 2, 'Synth Strings': 3, 'Tine Piano': 3, 'Tremolo Strings': 3,
    'Trumpet': 3, 'Tubular Bells': 3, 'Violin': 3, 'Voice Lead': 3, 'Warm Pad': 3, 'Wood Block': 3,
}


def _noise_op(hz: float = 5100.0, release: float = 5.0) -> Operator:
    """A noise source (as operator 6 of algorithms 1..5 with feedback ~8): full level from the start."""
    return _op(1.0, 1.0, a=0.0, d1=0.01, l1=1.0, d2=0.01, l2=1.0, r=release, fixed=hz, vel=0.0)


def _gm_patches() -> list[Patch]:
    """Patches for the General MIDI families the first bank left without a sound of their own."""
    P = []
    S = _sustain
    # --- piano and chromatic percussion
    P.append(_fm("Honky-tonk", 5, [
        _op(1.0, 0.7, **_pluck(3.5, 0.4), vel=0.6), _op(1.0, 0.5, **_pluck(1.8), vel=0.7),
        _op(1.0, 0.6, **_pluck(3.5, 0.4), detune=14, vel=0.6), _op(3.0, 0.3, **_pluck(1.0), vel=0.8),
        _op(1.0, 0.5, **_pluck(3.0, 0.4), detune=-12, vel=0.5), _op(2.0, 0.4, **_pluck(1.2), vel=0.8)], 0.3))
    P.append(_fm("Music Box", 5, [
        _op(1.0, 0.7, **_pluck(2.0, 0.6)), _op(5.0, 0.25, **_pluck(0.3)), _op(4.0, 0.35, **_pluck(1.0, 0.6)),
        _op(1.0, 0.2, **_pluck(0.2)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, transpose=12))
    P.append(_fm("Xylophone", 5, [
        _op(1.0, 0.8, **_pluck(0.5, 0.08)), _op(3.93, 0.3, **_pluck(0.06)), _op(3.0, 0.35, **_pluck(0.25, 0.08)),
        _op(1.0, 0.2, **_pluck(0.05)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, transpose=12))
    P.append(_fm("Dulcimer", 1, [
        _op(1.0, 0.8, **_pluck(2.5, 0.3)), _op(3.0, 0.45, **_pluck(0.5)), _op(1.0, 0.5, **_pluck(2.0, 0.3),
                                                                                detune=7),
        _op(2.0, 0.4, **_pluck(0.6)), _op(5.0, 0.3, **_pluck(0.3)), _op(1.0, 0.3, **_pluck(0.3))], 0.6))
    # --- organs: reed organ, rock organ, accordion, harmonica (reeds: odd-heavy, breathy)
    P.append(_fm("Rock Organ", 32, [_op(rt, lv, **S(0.003, 0.05, 1.0), vel=0.0) for rt, lv in
                                    zip([1.0, 2.0, 3.0, 0.5, 4.0, 8.0], [0.5, 0.45, 0.35, 0.4, 0.2, 0.15])],
                 0.6, lfo=_vibrato(6.8, 0.0, 9.0)))
    P.append(_fm("Reed Organ", 5, [
        _op(1.0, 0.7, **S(0.05, 0.1, 0.9), vel=0.0), _op(3.0, 0.3, **S(0.05, 0.1, 0.8), vel=0.0),
        _op(2.0, 0.35, **S(0.06, 0.1, 0.9), vel=0.0), _op(1.0, 0.3, **S(0.06, 0.1, 0.8), vel=0.0),
        _op(1.0, 0.3, **S(0.05, 0.1, 0.9), detune=6, vel=0.0), _op(1.0, 0.5, **S(0.05, 0.1, 0.9), vel=0.0)], 0.8))
    P.append(_fm("Accordion", 5, [
        _op(1.0, 0.6, **S(0.03, 0.08, 0.9)), _op(3.0, 0.45, **S(0.03, 0.08, 0.8)),
        _op(1.0, 0.55, **S(0.03, 0.08, 0.9), detune=12), _op(3.0, 0.45, **S(0.03, 0.08, 0.8)),
        _op(2.0, 0.3, **S(0.03, 0.08, 0.9), detune=-10), _op(1.0, 0.5, **S(0.03, 0.08, 0.8))], 1.2,
        lfo=_vibrato(5.5, 0.3, 4.0)))
    P.append(_fm("Harmonica", 1, [
        _op(1.0, 0.8, **S(0.04, 0.1, 0.85), ams=0.3), _op(1.0, 0.7, **S(0.05, 0.1, 0.7)),
        _op(3.0, 0.0, **S()), _op(1.0, 0.0), _op(1.0, 0.0), _op(2.0, 0.35, **S(0.05, 0.1, 0.7))], 2.5, index=2.0,
        lfo=Lfo(wave="sine", rate_hz=5.5, delay_s=0.4, pitch_depth_cents=10.0, amp_depth_db=3.0)))
    # --- guitars: jazz, muted, overdriven, distorted (a fed-back stack: saw-like, held), harmonics
    P.append(_fm("Jazz Guitar", 1, [
        _op(1.0, 0.85, **_pluck(2.2, 0.15)), _op(1.0, 0.45, **_pluck(0.9)), _op(2.0, 0.25, **_pluck(1.5, 0.15)),
        _op(1.0, 0.2, **_pluck(0.6)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    P.append(_fm("Muted Guitar", 1, [
        _op(1.0, 0.9, **_pluck(0.3, 0.05)), _op(2.0, 0.5, **_pluck(0.12)), _op(1.0, 0.4, **_pluck(0.25, 0.05)),
        _op(3.0, 0.3, **_pluck(0.08)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    # overdrive/distortion: two pairs at a very high index, whose Bessel spectra end near
    # (index + 1) x f0; the index follows 1/f0 (+-6 dB per octave around E3), so every note's
    # harmonics stop near 3-4 kHz, as an amp's cabinet cuts the fizz: bright mids, nothing above 8 kHz
    held = dict(a=0.002, d1=0.15, l1=0.85, d2=6.0, l2=0.6, r=0.12)
    for name, index, detune in (("Overdrive Guitar", 18.0, 8), ("Distortion Guitar", 24.0, -9)):
        ops = [_op(1.0, 0.6, **held, vel=0.3), _op(1.0, 1.0, **held, vel=0.3),
               _op(1.0, 0.5, **held, vel=0.3, detune=detune), _op(2.0, 0.8, **held, vel=0.3),
               _op(0.5, 0.3, **held, vel=0.3), _op(1.0, 0.15, **held, vel=0.2)]
        for k in (1, 3):
            ops[k].level_scaling = KeyScaling(breakpoint=52, left_depth_db=6.0, right_depth_db=6.0,
                                              left_curve="+lin", right_curve="-lin")
        P.append(_fm(name, 5, ops, 0.5, index=index, lfo=_vibrato(5.5, 0.5, 0.0),
                     controllers=Controllers(mod_wheel_pitch_cents=30.0)))
    P.append(_fm("Guitar Harmonics", 5, [
        _op(2.0, 0.8, **_pluck(2.5, 0.3)), _op(2.0, 0.15, **_pluck(0.3)), _op(4.0, 0.3, **_pluck(1.5, 0.3)),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    # --- basses
    P.append(_fm("Acoustic Bass", 1, [
        _op(1.0, 0.95, a=0.004, d1=0.3, l1=0.6, d2=2.0, l2=0.0, r=0.15), _op(1.0, 0.35, **_pluck(0.4)),
        _op(2.0, 0.2, **_pluck(0.2)), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    P.append(_fm("Fretless Bass", 1, [
        _op(1.0, 0.95, a=0.03, d1=0.5, l1=0.8, d2=4.0, l2=0.3, r=0.15), _op(1.0, 0.45, **S(0.08, 0.1, 0.5)),
        _op(1.0, 0.3, a=0.03, d1=0.5, l1=0.8, d2=4.0, l2=0.3, r=0.15, detune=5), _op(2.0, 0.15, **S(0.08, 0.1, 0.5)),
        _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, lfo=_vibrato(5.0, 0.5, 6.0)))
    # --- solo strings, tremolo, pizzicato, harp, timpani
    bow = dict(a=0.09, d1=0.3, l1=0.9, d2=2.0, l2=0.85, r=0.2)
    P.append(_fm("Violin", 1, [
        _op(1.0, 0.8, **bow, ams=0.2), _op(1.0, 0.6, **bow), _op(1.0, 0.0), _op(3.0, 0.25, **bow),
        _op(1.0, 0.3, **bow), _op(2.0, 0.35, **bow)], 1.6, index=2.0, lfo=_vibrato(5.8, 0.35, 14.0)))
    P.append(_fm("Cello", 1, [
        _op(1.0, 0.85, **dict(bow, a=0.12), ams=0.2), _op(1.0, 0.55, **dict(bow, a=0.12)), _op(1.0, 0.0),
        _op(1.0, 0.3, **bow), _op(1.0, 0.0), _op(2.0, 0.3, **bow)], 1.2, index=1.6, lfo=_vibrato(5.2, 0.4, 12.0)))
    P.append(_fm("Tremolo Strings", 2, [
        _op(1.0, 0.55, **S(0.1, 0.4, 0.9), ams=1.0), _op(1.0, 0.35, **S(0.1, 0.4, 0.8)),
        _op(1.0, 0.55, **S(0.1, 0.4, 0.9), detune=7, ams=1.0), _op(1.0, 0.35, **S(0.1, 0.4, 0.8)),
        _op(3.0, 0.15, **S(0.1, 0.4, 0.6)), _op(1.0, 0.3, **S(0.1, 0.4, 0.8), detune=-7)], 0.4,
        lfo=Lfo(wave="triangle", rate_hz=11.0, amp_depth_db=12.0)))
    P.append(_fm("Pizzicato", 5, [
        _op(1.0, 0.8, **_pluck(0.5, 0.1)), _op(1.0, 0.4, **_pluck(0.15)), _op(1.0, 0.6, **_pluck(0.45, 0.1),
                                                                            detune=6),
        _op(2.0, 0.3, **_pluck(0.1)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    P.append(_fm("Harp", 5, [
        _op(1.0, 0.8, **_pluck(2.5, 0.8)), _op(2.0, 0.2, **_pluck(0.3)), _op(2.0, 0.3, **_pluck(1.2, 0.8)),
        _op(1.0, 0.15, **_pluck(0.15)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0))
    P.append(_fm("Timpani", 5, [
        _op(1.0, 0.9, **_pluck(2.5, 0.4), vel=0.6), _op(1.0, 0.2, **_pluck(0.1)),
        _op(1.5, 0.4, **_pluck(1.5, 0.4), vel=0.6), _op(1.0, 0.0),
        _op(1.98, 0.3, **_pluck(1.0, 0.4), vel=0.6), _op(1.0, 0.0)], 0.0, transpose=-12,
        pitch_env=PitchEnvelope(times=[0.0, 0.08, 0.0, 0.0], levels_cents=[120.0, 0.0, 0.0, 0.0])))
    # --- ensemble: synth strings, synth voice, orchestra hit
    P.append(_fm("Synth Strings", 1, [
        _op(1.0, 0.7, **S(0.15, 0.4, 0.9)), _op(1.0, 0.55, **S(0.3, 0.4, 0.7)), _op(1.0, 0.6, **S(0.15, 0.4, 0.9),
                                                                                  detune=-11),
        _op(1.0, 0.45, **S(0.3, 0.4, 0.7)), _op(1.0, 0.0), _op(1.0, 0.4, **S(0.3, 0.4, 0.7))], 2.0, index=1.5,
        lfo=Lfo(wave="triangle", rate_hz=0.4, pitch_depth_cents=5.0, key_sync=False)))
    P.append(_fm("Synth Voice", 5, [
        _op(1.0, 0.6, **S(0.2, 0.5, 0.9), ams=0.3), _op(1.0, 0.15, **S(0.2, 0.5, 0.7)),
        _op(3.0, 0.25, **S(0.25, 0.5, 0.8)), _op(1.0, 0.1, **S(0.25, 0.5, 0.6)),
        _op(5.0, 0.12, **S(0.25, 0.5, 0.8)), _op(1.0, 0.0)], 0.0,
        lfo=Lfo(wave="sine", rate_hz=5.0, delay_s=0.3, pitch_depth_cents=8.0, amp_depth_db=2.0)))
    P.append(_fm("Orchestra Hit", 32, [
        _op(1.0, 0.5, **_pluck(0.6, 0.2)), _op(1.5, 0.35, **_pluck(0.5, 0.2)), _op(2.0, 0.35, **_pluck(0.5, 0.2)),
        _op(3.0, 0.3, **_pluck(0.4, 0.2)), _op(0.5, 0.4, **_pluck(0.6, 0.2)), _op(4.0, 0.25, **_pluck(0.3, 0.2))],
        3.0))
    # --- brass: trumpet, muted trumpet, synth brass
    P.append(_fm("Trumpet", 1, [
        _op(1.0, 0.8, **S(0.03, 0.12, 0.85)), _op(1.0, 0.75, a=0.05, d1=0.2, l1=0.7, d2=1.0, l2=0.6, r=0.12),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(2.0, 0.3, **S(0.05, 0.12, 0.6))], 1.5, index=2.2,
        lfo=_vibrato(5.6, 0.45, 12.0),
        pitch_env=PitchEnvelope(times=[0.0, 0.04, 0.0, 0.0], levels_cents=[-60.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Muted Trumpet", 1, [
        _op(1.0, 0.7, **S(0.02, 0.1, 0.8)), _op(3.0, 0.5, **S(0.03, 0.1, 0.6)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(5.0, 0.3, **S(0.03, 0.1, 0.5))], 0.0, index=2.0, lfo=_vibrato(5.5, 0.4, 10.0)))
    P.append(_fm("Synth Brass", 1, [
        _op(1.0, 0.75, **S(0.01, 0.15, 0.85)), _op(1.0, 0.9, a=0.08, d1=0.4, l1=0.55, d2=2.0, l2=0.45, r=0.2),
        _op(1.0, 0.6, **S(0.01, 0.15, 0.85), detune=9), _op(1.0, 0.8, a=0.08, d1=0.4, l1=0.55, d2=2.0, l2=0.45,
                                                            r=0.2),
        _op(1.0, 0.0), _op(1.0, 0.4, **S(0.05, 0.15, 0.5))], 2.4, index=2.0))
    # --- reeds: oboe, bassoon
    P.append(_fm("Oboe", 1, [
        _op(1.0, 0.75, **S(0.04, 0.1, 0.85)), _op(2.0, 0.55, **S(0.04, 0.1, 0.7)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(4.0, 0.3, **S(0.04, 0.1, 0.6))], 1.0, index=2.0, lfo=_vibrato(5.2, 0.4, 9.0)))
    P.append(_fm("Bassoon", 1, [
        _op(1.0, 0.8, **S(0.05, 0.1, 0.85)), _op(1.0, 0.6, **S(0.05, 0.1, 0.7)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(3.0, 0.35, **S(0.05, 0.1, 0.6))], 1.2, index=2.0, lfo=_vibrato(4.8, 0.5, 6.0)))
    # --- pipes: recorder, pan flute and blown bottle (breath: a noise operator on the carrier)
    P.append(_fm("Recorder", 1, [
        _op(1.0, 0.85, **S(0.03, 0.08, 0.9)), _op(2.0, 0.12, **S(0.03, 0.08, 0.5)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, lfo=_vibrato(5.0, 0.5, 6.0)))
    P.append(_fm("Pan Flute", 5, [
        _op(1.0, 0.8, **S(0.06, 0.15, 0.9), ams=0.2), _op(1.0, 0.1, **S(0.06, 0.15, 0.5)),
        _op(2.0, 0.1, **S(0.06, 0.15, 0.6)), _op(1.0, 0.0),
        _op(1.0, 0.12, a=0.01, d1=0.15, l1=0.4, d2=1.0, l2=0.25, r=0.15, fixed=2200.0), _noise_op(4700.0)],
        8.0, index=1.2, lfo=_vibrato(5.0, 0.3, 10.0)))
    P.append(_fm("Blown Bottle", 5, [
        _op(1.0, 0.8, **S(0.12, 0.2, 0.9)), _op(1.0, 0.0), _op(2.0, 0.05, **S(0.12, 0.2, 0.5)), _op(1.0, 0.0),
        _op(1.0, 0.2, a=0.02, d1=0.2, l1=0.6, d2=1.0, l2=0.4, r=0.2, fixed=1400.0), _noise_op(3900.0)],
        8.0, index=0.8))
    # --- synth leads
    P.append(_fm("Calliope Lead", 32, [_op(rt, lv, **S(0.01, 0.08, 0.95), vel=0.2) for rt, lv in
                                       zip([1.0, 2.0, 3.0, 4.0, 1.0, 5.0], [0.6, 0.3, 0.2, 0.1, 0.0, 0.06])],
                 0.0, lfo=_vibrato(6.0, 0.2, 14.0)))
    P.append(_fm("Chiff Lead", 5, [
        _op(1.0, 0.8, **S(0.01, 0.1, 0.85)), _op(2.0, 0.5, **S(0.01, 0.1, 0.6)),
        _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.5, **_pluck(0.06), fixed=2600.0), _noise_op(5200.0)], 8.0, index=2.0,
        lfo=_vibrato(5.5, 0.3, 8.0)))
    P.append(_fm("Voice Lead", 5, [
        _op(1.0, 0.7, **S(0.05, 0.15, 0.9)), _op(1.0, 0.3, **S(0.05, 0.15, 0.7)),
        _op(3.0, 0.3, **S(0.05, 0.15, 0.8)), _op(1.0, 0.15, **S(0.05, 0.15, 0.6)),
        _op(1.0, 0.4, **S(0.05, 0.15, 0.9), detune=8), _op(1.0, 0.2, **S(0.05, 0.15, 0.6))], 0.0,
        lfo=_vibrato(5.3, 0.3, 12.0)))
    P.append(_fm("Fifths Lead", 1, [
        _op(1.0, 0.6, **S(0.01, 0.12, 0.9)), _op(1.0, 0.6, **S(0.01, 0.12, 0.8)),
        _op(1.5, 0.5, **S(0.01, 0.12, 0.9)), _op(1.5, 0.5, **S(0.01, 0.12, 0.8)),
        _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, index=2.5))
    P.append(_fm("Bass Lead", 1, [
        _op(1.0, 0.6, **S(0.005, 0.1, 0.9)), _op(1.0, 0.7, **S(0.005, 0.1, 0.8)),
        _op(0.5, 0.6, **S(0.005, 0.1, 0.9)), _op(0.5, 0.6, **S(0.005, 0.1, 0.8)),
        _op(1.0, 0.0), _op(1.0, 0.5, **S(0.005, 0.1, 0.7))], 2.0, index=2.5))
    # --- synth pads
    P.append(_fm("New Age Pad", 5, [
        _op(1.0, 0.5, **S(0.3, 1.5, 0.9)), _op(1.0, 0.2, **S(0.5, 1.5, 0.7)),
        _op(3.0, 0.3, **_pluck(2.5, 1.5)), _op(3.5, 0.3, **_pluck(1.0)),
        _op(1.0, 0.4, **S(0.4, 1.5, 0.9), detune=7), _op(1.0, 0.1, **S(0.6, 1.5, 0.6))], 0.0))
    P.append(_fm("Poly Synth", 1, [
        _op(1.0, 0.6, **S(0.02, 0.4, 0.85)), _op(1.0, 0.7, a=0.05, d1=0.8, l1=0.5, d2=3.0, l2=0.4, r=0.4),
        _op(1.0, 0.55, **S(0.02, 0.4, 0.85), detune=10), _op(1.0, 0.6, a=0.05, d1=0.8, l1=0.5, d2=3.0, l2=0.4,
                                                             r=0.4),
        _op(1.0, 0.0), _op(1.0, 0.3, **S(0.05, 0.4, 0.5))], 2.0, index=2.0))
    P.append(_fm("Choir Pad", 5, [
        _op(1.0, 0.5, **S(0.6, 1.5, 0.9)), _op(1.0, 0.15, **S(0.6, 1.5, 0.7)),
        _op(2.0, 0.3, **S(0.7, 1.5, 0.8), detune=8), _op(3.0, 0.15, **S(0.7, 1.5, 0.6)),
        _op(1.0, 0.35, **S(0.7, 1.5, 0.8), detune=-8), _op(4.0, 0.12, **S(0.7, 1.5, 0.6))], 0.0,
        lfo=_vibrato(4.5, 0.6, 8.0)))
    P.append(_fm("Metallic Pad", 5, [
        _op(1.0, 0.45, **S(0.4, 1.5, 0.9)), _op(3.5, 0.2, **S(0.5, 1.5, 0.7)),
        _op(1.41, 0.3, **S(0.4, 1.5, 0.8)), _op(2.0, 0.2, **S(0.6, 1.5, 0.6)),
        _op(1.0, 0.35, **S(0.4, 1.5, 0.9), detune=9), _op(5.2, 0.15, **S(0.6, 1.5, 0.6))], 0.0, index=2.0))
    P.append(_fm("Halo Pad", 5, [
        _op(1.0, 0.45, **S(0.9, 2.0, 0.9)), _op(2.0, 0.12, **S(1.0, 2.0, 0.6)),
        _op(2.0, 0.3, **S(1.0, 2.0, 0.8), detune=6), _op(1.0, 0.1, **S(1.2, 2.0, 0.6)),
        _op(0.5, 0.35, **S(0.9, 2.0, 0.8), detune=-6), _op(1.0, 0.0)], 0.0,
        lfo=Lfo(wave="sine", rate_hz=0.25, amp_depth_db=3.0, key_sync=False)))
    P.append(_fm("Sweep Pad", 1, [
        _op(1.0, 0.55, **S(0.5, 1.5, 0.9)), _op(1.0, 0.8, **S(0.5, 1.5, 0.9), ams=1.0),
        _op(1.0, 0.5, **S(0.5, 1.5, 0.9), detune=8), _op(1.0, 0.7, **S(0.5, 1.5, 0.9), ams=1.0),
        _op(1.0, 0.0), _op(1.0, 0.3, **S(0.5, 1.5, 0.7))], 1.5, index=2.5,
        lfo=Lfo(wave="triangle", rate_hz=0.15, amp_depth_db=24.0, key_sync=False)))
    # --- synth effects
    P.append(_fm("Rain", 5, [
        _op(1.0, 0.6, **_pluck(0.8, 0.6)), _op(3.3, 0.3, **_pluck(0.2)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.1, a=0.3, d1=1.0, l1=0.7, d2=2.0, l2=0.6, r=1.0, fixed=6000.0), _noise_op(4300.0)], 8.0,
        index=3.0, lfo=Lfo(wave="sample_hold", rate_hz=9.0, pitch_depth_cents=1200.0)))
    P.append(_fm("Crystal", 5, [
        _op(1.0, 0.55, **_pluck(3.0, 1.2)), _op(3.5, 0.3, **_pluck(1.0)), _op(2.0, 0.4, **S(0.3, 1.2, 0.6)),
        _op(5.19, 0.2, **S(0.5, 1.2, 0.5)), _op(4.0, 0.25, **_pluck(2.0, 1.2)), _op(7.1, 0.2, **_pluck(0.6))], 0.0))
    P.append(_fm("Brightness", 5, [
        _op(1.0, 0.5, **S(0.2, 1.2, 0.9)), _op(4.0, 0.3, **S(0.3, 1.2, 0.7)),
        _op(2.0, 0.4, **S(0.25, 1.2, 0.8), detune=7), _op(6.0, 0.2, **S(0.3, 1.2, 0.6)),
        _op(1.0, 0.35, **S(0.2, 1.2, 0.9), detune=-7), _op(8.0, 0.15, **S(0.3, 1.2, 0.6))], 0.0, index=2.0))
    P.append(_fm("Goblins", 1, [
        _op(1.0, 0.6, **S(1.0, 1.5, 0.9)), _op(0.5, 0.7, **S(1.2, 1.5, 0.8), ams=1.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, index=3.0,
        lfo=Lfo(wave="sample_hold", rate_hz=3.0, pitch_depth_cents=40.0, amp_depth_db=18.0, key_sync=False)))
    P.append(_fm("Echo Drops", 5, [
        _op(1.0, 0.7, **_pluck(1.5, 1.0)), _op(2.0, 0.3, **_pluck(0.3)), _op(1.0, 0.4, **S(0.5, 1.0, 0.5)),
        _op(1.0, 0.1, **S(0.5, 1.0, 0.5)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0,
        lfo=Lfo(wave="square", rate_hz=3.5, amp_depth_db=20.0, key_sync=True)))
    P.append(_fm("Sci-Fi", 1, [
        _op(1.0, 0.6, **S(0.3, 1.0, 0.9)), _op(1.41, 0.8, **S(0.3, 1.0, 0.8)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, index=3.0,
        lfo=Lfo(wave="sine", rate_hz=7.0, pitch_depth_cents=300.0, key_sync=True)))
    # --- ethnic
    P.append(_fm("Sitar", 1, [
        _op(1.0, 0.8, **_pluck(3.0, 0.3)), _op(1.0, 0.7, a=0.001, d1=0.5, l1=0.6, d2=3.0, l2=0.3, r=0.2),
        _op(1.0, 0.35, **_pluck(2.5, 0.3), detune=4), _op(5.0, 0.4, **_pluck(1.5)),
        _op(1.0, 0.0), _op(1.0, 0.5, **_pluck(2.0))], 3.0, index=2.0,
        pitch_env=PitchEnvelope(times=[0.0, 0.05, 0.0, 0.0], levels_cents=[30.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Banjo", 1, [
        _op(1.0, 0.8, **_pluck(0.8, 0.1)), _op(3.0, 0.5, **_pluck(0.3)), _op(2.0, 0.4, **_pluck(0.6, 0.1)),
        _op(5.0, 0.3, **_pluck(0.2)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, index=2.0))
    P.append(_fm("Koto", 1, [
        _op(1.0, 0.8, **_pluck(1.5, 0.3)), _op(4.0, 0.35, **_pluck(0.25)), _op(1.0, 0.5, **_pluck(1.2, 0.3),
                                                                             detune=5),
        _op(2.0, 0.3, **_pluck(0.5)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, index=1.5,
        pitch_env=PitchEnvelope(times=[0.0, 0.03, 0.0, 0.0], levels_cents=[20.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Bagpipe", 1, [
        _op(1.0, 0.75, **S(0.02, 0.1, 0.9)), _op(1.0, 0.7, **S(0.02, 0.1, 0.85)), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(3.0, 0.5, **S(0.02, 0.1, 0.8))], 3.0, index=2.5))
    P.append(_fm("Fiddle", 1, [
        _op(1.0, 0.8, **dict(bow, a=0.04), ams=0.2), _op(1.0, 0.7, **dict(bow, a=0.04)), _op(1.0, 0.0),
        _op(4.0, 0.25, **bow), _op(1.0, 0.35, **bow), _op(2.0, 0.4, **bow)], 2.2, index=2.2,
        lfo=_vibrato(6.2, 0.25, 16.0)))
    P.append(_fm("Shanai", 1, [
        _op(1.0, 0.75, **S(0.03, 0.1, 0.85)), _op(2.0, 0.6, **S(0.03, 0.1, 0.7)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(5.0, 0.35, **S(0.03, 0.1, 0.6))], 1.5, index=2.5, lfo=_vibrato(6.0, 0.3, 20.0)))
    # --- percussive (pitched)
    P.append(_fm("Tinkle Bell", 5, [
        _op(1.0, 0.6, **_pluck(1.5, 0.8)), _op(5.4, 0.35, **_pluck(0.4)), _op(2.76, 0.4, **_pluck(1.0, 0.8)),
        _op(6.8, 0.2, **_pluck(0.3)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, transpose=12))
    P.append(_fm("Agogo", 5, [
        _op(1.0, 0.7, **_pluck(0.9, 0.3)), _op(2.71, 0.5, **_pluck(0.3)), _op(1.53, 0.4, **_pluck(0.6, 0.3)),
        _op(3.1, 0.3, **_pluck(0.2)), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, index=2.0))
    P.append(_fm("Steel Drum", 5, [
        _op(1.0, 0.8, **_pluck(1.5, 0.3)), _op(2.0, 0.25, **_pluck(0.4)), _op(2.0, 0.4, **_pluck(1.0, 0.3)),
        _op(1.0, 0.2, **_pluck(0.2)), _op(3.01, 0.25, **_pluck(0.6, 0.3)), _op(1.0, 0.0)], 0.0,
        pitch_env=PitchEnvelope(times=[0.0, 0.03, 0.0, 0.0], levels_cents=[-40.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Wood Block", 5, [
        _op(1.0, 0.8, **_pluck(0.2, 0.05)), _op(2.76, 0.3, **_pluck(0.05)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, transpose=12))
    P.append(_fm("Taiko", 5, [
        _op(1.0, 1.0, **_pluck(1.6, 0.8), vel=0.6), _op(1.0, 0.15, **_pluck(0.05)),
        _op(1.6, 0.3, **_pluck(0.6, 0.8)), _op(1.0, 0.0),
        _op(1.0, 0.3, **_pluck(0.08), fixed=900.0), _noise_op(3100.0)], 8.0, index=1.0, transpose=-12,
        pitch_env=PitchEnvelope(times=[0.0, 0.1, 0.0, 0.0], levels_cents=[700.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Melodic Tom", 5, [
        _op(1.0, 0.9, **_pluck(1.0, 0.8), vel=0.6), _op(1.5, 0.2, **_pluck(0.3)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.2, **_pluck(0.05), fixed=2500.0), _noise_op(4000.0)], 8.0, index=2.0,
        pitch_env=PitchEnvelope(times=[0.0, 0.15, 0.0, 0.0], levels_cents=[500.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Synth Drum", 1, [
        _op(1.0, 1.0, **_pluck(0.8, 0.6), vel=0.6), _op(1.0, 0.3, **_pluck(0.1)), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0)], 0.0,
        pitch_env=PitchEnvelope(times=[0.0, 0.3, 0.0, 0.0], levels_cents=[1200.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Reverse Cymbal", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.7, a=1.2, d1=0.05, l1=0.0, d2=0.1, l2=0.0, r=0.05, fixed=4500.0), _noise_op(5600.0)], 8.0,
        index=1.2))
    # --- sound effects: all built on the noise operator or on a fast LFO
    P.append(_fm("Fret Noise", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.6, a=0.05, d1=0.2, l1=0.0, d2=0.1, l2=0.0, r=0.1, fixed=1500.0), _noise_op(1900.0)], 8.0,
        index=0.7, lfo=Lfo(wave="sine", rate_hz=25.0, amp_depth_db=20.0), ))
    P.append(_fm("Breath Noise", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.6, a=0.15, d1=0.5, l1=0.4, d2=1.0, l2=0.3, r=0.3, fixed=1700.0), _noise_op(2900.0)], 8.0,
        index=1.0))
    P.append(_fm("Seashore", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.6, **S(1.0, 2.0, 0.9), fixed=1500.0, ams=1.0), _noise_op(3700.0)], 8.0, index=1.3,
        lfo=Lfo(wave="sine", rate_hz=0.12, amp_depth_db=24.0, key_sync=False)))
    P.append(_fm("Bird Tweet", 5, [
        _op(4.0, 0.6, **S(0.01, 0.05, 0.9), ams=1.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0, transpose=12,
        lfo=Lfo(wave="saw_up", rate_hz=12.0, pitch_depth_cents=700.0, amp_depth_db=30.0),
        pitch_env=PitchEnvelope(times=[0.0, 0.08, 0.0, 0.0], levels_cents=[-500.0, 0.0, 0.0, 0.0])))
    P.append(_fm("Telephone", 5, [
        _op(4.0, 0.5, **S(0.005, 0.02, 0.9), ams=1.0), _op(1.0, 0.0), _op(5.0, 0.4, **S(0.005, 0.02, 0.9), ams=1.0),
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0)], 0.0,
        lfo=Lfo(wave="square", rate_hz=18.0, amp_depth_db=40.0)))
    P.append(_fm("Helicopter", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(0.25, 0.5, **S(0.3, 0.5, 0.9), ams=1.0), _op(1.0, 0.0),
        _op(1.0, 0.6, **S(0.3, 0.5, 0.9), fixed=500.0, ams=1.0), _noise_op(2100.0)], 8.0, index=1.0,
        lfo=Lfo(wave="saw_down", rate_hz=14.0, amp_depth_db=30.0)))
    P.append(_fm("Applause", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 0.7, **S(0.5, 1.0, 0.9), fixed=1800.0, ams=1.0), _noise_op(3300.0)], 8.0, index=1.2,
        lfo=Lfo(wave="sample_hold", rate_hz=30.0, amp_depth_db=15.0, key_sync=False)))
    P.append(_fm("Gunshot", 5, [
        _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0), _op(1.0, 0.0),
        _op(1.0, 1.0, **_pluck(1.2, 0.6), fixed=500.0), _noise_op(2600.0)], 8.0, index=1.5))
    return P


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


# General MIDI programs (0-based, in families of 8) -> built-in patch names; each program plays a
# patch of its own family (see patch_family).
_GM_FAMILIES = [
    # acoustic grand, bright, electric grand, honky-tonk, e.piano 1, 2, harpsichord, clavinet
    ["Grand Piano", "Grand Piano", "Tine Piano", "Honky-tonk", "E.Piano", "Tine Piano", "Harpsichord", "Clavinet"],
    # celesta, glockenspiel, music box, vibraphone, marimba, xylophone, tubular bells, dulcimer
    ["Glocken", "Glocken", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer"],
    # drawbar, percussive, rock, church, reed organ, accordion, harmonica, tango accordion
    ["Drawbar Organ", "Perc Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
     "Accordion"],
    # nylon, steel, jazz, clean, muted, overdriven, distortion, harmonics
    ["Nylon Guitar", "Steel Pluck", "Jazz Guitar", "Steel Pluck", "Muted Guitar", "Overdrive Guitar",
     "Distortion Guitar", "Guitar Harmonics"],
    # acoustic, finger, pick, fretless, slap 1, slap 2, synth 1, synth 2
    ["Acoustic Bass", "Finger Bass", "Finger Bass", "Fretless Bass", "Slap Bass", "Slap Bass", "Synth Bass",
     "Sub Bass"],
    # violin, viola, cello, contrabass, tremolo, pizzicato, harp, timpani
    ["Violin", "Violin", "Cello", "Cello", "Tremolo Strings", "Pizzicato", "Harp", "Timpani"],
    # string ensemble 1, 2, synth strings 1, 2, choir aahs, voice oohs, synth voice, orchestra hit
    ["Strings", "Slow Strings", "Synth Strings", "Synth Strings", "Choir", "Choir", "Synth Voice", "Orchestra Hit"],
    # trumpet, trombone, tuba, muted trumpet, french horn, brass section, synth brass 1, 2
    ["Trumpet", "Brass", "Soft Horn", "Muted Trumpet", "Soft Horn", "Brass", "Synth Brass", "Synth Brass"],
    # soprano, alto, tenor, baritone sax, oboe, english horn, bassoon, clarinet
    ["Reed", "Reed", "Reed", "Reed", "Oboe", "Oboe", "Bassoon", "Clarinet"],
    # piccolo, flute, recorder, pan flute, blown bottle, shakuhachi, whistle, ocarina
    ["Flute", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Pan Flute", "Recorder", "Recorder"],
    # square, sawtooth, calliope, chiff, charang, voice, fifths, bass + lead
    ["Square Lead", "Saw Lead", "Calliope Lead", "Chiff Lead", "Sync Lead", "Voice Lead", "Fifths Lead",
     "Bass Lead"],
    # new age, warm, polysynth, choir, bowed, metallic, halo, sweep
    ["New Age Pad", "Warm Pad", "Poly Synth", "Choir Pad", "Glass Pad", "Metallic Pad", "Halo Pad", "Sweep Pad"],
    # rain, soundtrack, crystal, atmosphere, brightness, goblins, echoes, sci-fi
    ["Rain", "Atmosphere", "Crystal", "Atmosphere", "Brightness", "Goblins", "Echo Drops", "Sci-Fi"],
    # sitar, banjo, shamisen, koto, kalimba, bagpipe, fiddle, shanai
    ["Sitar", "Banjo", "Banjo", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai"],
    # tinkle bell, agogo, steel drums, woodblock, taiko, melodic tom, synth drum, reverse cymbal
    ["Tinkle Bell", "Agogo", "Steel Drum", "Wood Block", "Taiko", "Melodic Tom", "Synth Drum", "Reverse Cymbal"],
    # guitar fret noise, breath noise, seashore, bird tweet, telephone ring, helicopter, applause, gunshot
    ["Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone", "Helicopter", "Applause", "Gunshot"],
]
GM_PROGRAM_MAP: tuple[str, ...] = tuple(name for fam in _GM_FAMILIES for name in fam)

# The GM family each built-in patch belongs to (the patches outside the GM map too).
_PATCH_FAMILY = {name: FAMILY_NAMES[i // 8] for i, name in enumerate(GM_PROGRAM_MAP)}
_PATCH_FAMILY.update({"Percussion Kit": "Percussive"})


def patch_family(name: str) -> str:
    """The General MIDI family (one of ``fmcore.gm.FAMILY_NAMES``) of the built-in patch ``name``."""
    return _PATCH_FAMILY[builtin_patch(name).name]


def gm_bank() -> list[Patch]:
    """128 patches, one per General MIDI program (0-based), for ``Synth.set_bank``."""
    by_name = {p.name: p for p in _patches()}
    return [by_name[name] for name in GM_PROGRAM_MAP]


def drum_kit() -> dict[int, Patch]:
    """General MIDI percussion keys 35..81 -> drum patches, for
    ``Synth.set_kit(drum_kit(), channel=9, choke=GM_CHOKE_GROUPS)`` (see ``fmcore.drums``)."""
    return _drum_kit()
