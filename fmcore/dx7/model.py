"""DX7 voices on the fmcore engine: ``voice_to_patch(Dx7Voice) -> Patch``.

Every voice parameter is translated into the engine's units (dB, dB/s,
cents, Hz, radians) with the DX7's own laws, taken as the reference emulation
(MSFA, the engine inside Dexed) implements them:

* levels are counted in doublings of amplitude; one output-level step near
  the top is 1/8 doubling (0.753 dB), EG levels move in pairs of steps, and
  low values follow the DX7's level table;
* EG rates become dB per second from the DX7's rate law (4 steps per
  doubling of speed), with keyboard rate scaling; attacks use the engine's
  ``Operator.dx7`` curve (a jump to about -50 dB, then slowing near the top);
* keyboard level scaling, velocity and the EG attack shape need the absolute
  level of the operator, so the operators are marked ``dx7=True`` and the
  engine applies those laws per note;
* modulation: a full-level DX7 operator (EG 99, output level 99) swings the
  phase of what it modulates by two cycles (4*pi radians); feedback 1..7 is
  4*pi * 2**(feedback - 8) radians on the mean of the last two outputs.

The exact keyboard rate-scaling step, which the engine approximates with a
smooth curve, is evaluated at ``ref_note`` (middle C by default).
"""
from __future__ import annotations

import math

from fmcore.algorithms import algorithm, DX7_FULL_INDEX
from fmcore.dx7.voice import Dx7Operator, Dx7Voice
from fmcore.patch import (CURVES, LFO_WAVES, Controllers, Envelope, KeyScaling, Lfo, Operator, Patch,
                          PitchEnvelope)

#: dB per doubling of amplitude; the DX7 counts levels in 1/256 doublings.
DOUBLING_DB = 20.0 * math.log10(2.0)
#: One output-level step near the top of the range: 1/8 doubling, about 0.75 dB.
STEP_DB = DOUBLING_DB / 8.0
#: Keyboard level scaling, -LIN/+LIN: dB per octave per unit of depth (329/4096 step per 3 keys).
KLS_DB_PER_DEPTH = 4.0 * 329.0 / 4096.0 * STEP_DB
#: Patch gain of a DX7 voice: a factory voice at velocity 100 peaks about 6 dB above the
#: built-in bank's patches, so a bank played on every channel of a song would clip.
DX7_GAIN_DB = -6.0
#: Phase swing, in radians, of a modulator at EG level 99 and output level 99.
FULL_INDEX = DX7_FULL_INDEX
#: The DX7's EG/LFO clocks are defined at this rate in the reference (times do not depend on it).
_REF_RATE = 44100.0

# Output/EG levels below 20 follow a table; from 20 up a level is value + 28.
_LEVEL_LUT = (0, 5, 9, 13, 17, 20, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 42, 43, 45, 46)
# Pitch EG: level 0..99 -> 1/32 octave units, rate 0..99 -> speed in 1/21.3 octave per second.
_PEG_LEVEL = (-128, -116, -104, -95, -85, -76, -68, -61, -56, -52, -49, -46, -43, -41, -39, -37, -35, -33,
              -32, -31, -30, -29, -28, -27, -26, -25, -24, -23, -22, -21, -20, -19, -18, -17, -16, -15, -14,
              -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
              12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
              35, 38, 40, 43, 46, 49, 53, 58, 65, 73, 82, 92, 103, 115, 127)
_PEG_RATE = (1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 16,
             16, 17, 18, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 31, 33, 34, 36, 37, 38, 39, 41, 42,
             44, 46, 47, 49, 51, 53, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 79, 82, 85, 88, 91, 94,
             98, 102, 106, 110, 115, 120, 125, 130, 135, 141, 147, 153, 159, 165, 171, 178, 185, 193, 202,
             211, 232, 243, 254, 255)
# Pitch-modulation sensitivity 0..7 and amplitude-modulation sensitivity 0..3 (fractions of 1).
_PMS = (0, 10, 20, 33, 55, 92, 153, 255)
_AMS = (0.0, 4342338 / 2**24, 7171437 / 2**24, 1.0)
# DX7 LFO waves 0..5 -> engine waves, and where a key-synced LFO starts in the engine's phase.
_LFO_WAVE = ("triangle", "saw_down", "saw_up", "square", "sine", "sample_hold")
_LFO_START = (0.5, 0.0, 0.0, 0.5, 0.5, 0.0)
# The LFO clock: 2**32 phase units per cycle advance 25190424 units per second per speed unit.
_LFO_UNIT_HZ = 25190424.0 / 2.0**32


def scale_level(value: int) -> int:
    """The DX7's internal level (0..127) for a panel level 0..99."""
    return _LEVEL_LUT[value] if value < 20 else value + 28


def output_level_db(level: int) -> float:
    """Output level 0..99 in dB relative to 99 (0 is silence, -inf)."""
    if level <= 0:
        return -math.inf
    return ((scale_level(level) << 5) - 4064) / 256.0 * DOUBLING_DB


def eg_level_db(level: int) -> float:
    """EG level 0..99 in dB relative to 99 (0 is silence, -inf); the EG resolves pairs of steps."""
    if level <= 0:
        return -math.inf
    return (((scale_level(level) >> 1) << 6) - 4032) / 256.0 * DOUBLING_DB


def rate_scaling_delta(note: int, sensitivity: int) -> int:
    """Keyboard rate scaling: how many rate steps (1/4 doubling of speed each) ``note`` adds."""
    x = min(31, max(0, note // 3 - 7))
    return (sensitivity * x) >> 3


def eg_rate_db_per_s(rate: int, delta: int = 0) -> float:
    """EG rate 0..99 (plus ``delta`` rate-scaling steps) as a decay speed in dB per second.

    Four steps double the speed. An attack runs (17 - level) times faster
    than this, the level counted in doublings (see ``Operator.dx7``).
    """
    q = min(63, ((rate * 41) >> 6) + delta)
    per_sample = (4 + (q & 3)) << (2 + (q >> 2))          # 1/2**24 doubling per sample at 44.1 kHz
    return per_sample * _REF_RATE / 2.0**24 * DOUBLING_DB


def lfo_speed_hz(speed: int) -> float:
    """LFO speed 0..99 in Hz (about 0.06 Hz at 0, 6 Hz at 37, 24 Hz at 99)."""
    s = 1 if speed == 0 else (165 * speed) >> 6
    s *= 11 if s < 160 else 11 + ((s - 160) >> 4)
    return s * _LFO_UNIT_HZ


def lfo_delay_s(delay: int) -> tuple[float, float]:
    """LFO delay 0..99 as (hold, ramp) in seconds: no LFO for ``hold``, then a linear fade-in."""
    a = 99 - delay
    if a >= 99:
        return 0.0, 0.0
    inc1 = (16 + (a & 15)) << (1 + (a >> 4))
    inc2 = max(0x80, inc1 & 0xFF80)
    unit = 25190424.0          # delay-counter units per second per increment; the counter spans 2**31 twice
    return 2.0**31 / (unit * inc1), 2.0**31 / (unit * inc2)


def pitch_mod_cents(pmd: int, pms: int) -> float:
    """Peak LFO pitch swing in cents for PMD 0..99 at PMS 0..7."""
    return ((pmd * 165) >> 6) * _PMS[pms & 7] * 1200.0 / 65536.0


def _amp_mod_db(s: float) -> float:
    # attenuation (dB) at a full-level operator for amplitude-modulation amount s in 0..1
    return min(96.0, 15.0 * DOUBLING_DB * math.exp(12.2 + 0.07 * 64.0 * s) / 2.0**24)


def detune_cents(detune: int) -> float:
    """Detune 0..14 (7 = centre) in cents: 12606/2**24 octave (0.90 cents) a step, as in MSFA.

    (Later Dexed versions use a key-dependent step, about 1.2 cents at middle
    C; the reference renders match the constant step far better.)
    """
    return (detune - 7) * 12606.0 / 2.0**24 * 1200.0


def feedback_radians(feedback: int) -> float:
    """Feedback 0..7 as the engine's feedback amount (radians per unit of the two-sample mean)."""
    return 0.0 if feedback <= 0 else FULL_INDEX * 2.0 ** (feedback - 8)


def _lin(db: float) -> float:
    return 0.0 if db == -math.inf else 10.0 ** (db / 20.0)


def operator_to_engine(op: Dx7Operator, note: int, transpose: int) -> Operator:
    """One DX7 operator as an engine ``Operator`` (``note`` already transposed)."""
    delta = rate_scaling_delta(note, op.rate_scaling)
    rates = [eg_rate_db_per_s(r, delta) for r in (op.eg_rate1, op.eg_rate2, op.eg_rate3, op.eg_rate4)]
    levels = [_lin(eg_level_db(v)) for v in (op.eg_level1, op.eg_level2, op.eg_level3, op.eg_level4)]
    if op.osc_mode == 0:
        ratio = (0.5 if op.freq_coarse == 0 else float(op.freq_coarse)) * (1.0 + op.freq_fine / 100.0)
        fixed = None
        detune = detune_cents(op.detune)
    else:
        ratio = 1.0
        fixed = 10.0 ** ((op.freq_coarse & 3) + op.freq_fine / 100.0)
        # fixed operators only detune upwards, about 0.96 cents a step
        detune = 1200.0 * 13457 * (op.detune - 7) / 2.0**24 if op.detune > 7 else 0.0
    ks = KeyScaling(breakpoint=min(127, max(0, op.break_point + 21 - transpose)),
                    left_depth_db=op.left_depth * KLS_DB_PER_DEPTH, right_depth_db=op.right_depth * KLS_DB_PER_DEPTH,
                    left_curve=CURVES[op.left_curve], right_curve=CURVES[op.right_curve])
    return Operator(ratio=ratio, fixed_hz=fixed, detune_cents=detune, level=_lin(output_level_db(op.output_level)),
                    env=Envelope(levels=levels, rates=rates), velocity_sens=op.key_vel_sens / 7.0,
                    rate_scaling=op.rate_scaling / 8.0, level_scaling=ks, ams=_AMS[op.amp_mod_sens & 3], dx7=True)


def voice_to_patch(voice: Dx7Voice, ref_note: int = 60) -> Patch:
    """A DX7 voice as an engine ``Patch`` that plays like the DX7 (and MSFA/Dexed).

    ``ref_note`` is the key at which the exact rate-scaling step is taken
    (elsewhere the engine's smooth rate-scaling curve applies).
    Raises ValueError if the voice has out-of-range values.
    """
    voice.validate()
    transpose = voice.transpose - 24
    note = ref_note + transpose
    ops = [operator_to_engine(op, note, transpose) for op in voice.ops]
    # amplitude modulation: engine depth in dB at full sensitivity, each operator's share of it
    amd = ((voice.lfo_amd * 165) >> 6) / 256.0
    amp_depth = _amp_mod_db(amd) - _amp_mod_db(0.0) if amd > 0 else 0.0
    for o, d in zip(ops, voice.ops):
        sens = _AMS[d.amp_mod_sens & 3]
        if amd > 0 and sens > 0:
            o.ams = (_amp_mod_db(amd * sens) - _amp_mod_db(0.0)) / amp_depth
    hold, ramp = lfo_delay_s(voice.lfo_delay)
    lfo = Lfo(wave=_LFO_WAVE[voice.lfo_wave], rate_hz=lfo_speed_hz(voice.lfo_speed), delay_s=ramp, hold_s=hold,
              pitch_depth_cents=pitch_mod_cents(voice.lfo_pmd, voice.pitch_mod_sens), amp_depth_db=amp_depth,
              key_sync=bool(voice.lfo_key_sync), start_phase=_LFO_START[voice.lfo_wave])
    peg_levels = [_PEG_LEVEL[v] * 1200.0 / 32.0 for v in (voice.pitch_eg_level1, voice.pitch_eg_level2,
                                                         voice.pitch_eg_level3, voice.pitch_eg_level4)]
    peg_rates = [_PEG_RATE[r] * 1200.0 / 21.3 for r in (voice.pitch_eg_rate1, voice.pitch_eg_rate2,
                                                         voice.pitch_eg_rate3, voice.pitch_eg_rate4)]
    controllers = Controllers(mod_wheel_pitch_cents=pitch_mod_cents(99, voice.pitch_mod_sens),
                              mod_wheel_amp_db=0.0)
    graph = algorithm(voice.algorithm_number, index=FULL_INDEX, feedback=feedback_radians(voice.feedback))
    patch = Patch.from_graph(graph, ops, name=voice.display_name, lfo=lfo,
                             pitch_env=PitchEnvelope(levels_cents=peg_levels, rates=peg_rates),
                             controllers=controllers, transpose=transpose, osc_key_sync=bool(voice.osc_key_sync),
                             gain_db=DX7_GAIN_DB)
    patch.validate()
    return patch


def bank_to_patches(bank, ref_note: int = 60) -> list[Patch]:
    """Every voice of a DX7 ``Bank`` (or any sequence of ``Dx7Voice``) as a ``Patch``."""
    return [voice_to_patch(v, ref_note) for v in bank]


assert len(_LFO_WAVE) == 6 and set(_LFO_WAVE) == set(LFO_WAVES)
