"""The General MIDI drum kit: all 47 keys 35..81, made of FM operators only.

Noise comes from an operator with strong self-feedback (more than about 6
radians its output is chaotic: a flat, white-ish spectrum). Kept at full
level with a flat envelope it stays noise, and it phase-modulates carriers
whose envelopes shape the hit: a high carrier turns it into the hiss of hats
and cymbals, a low one into the rattle of a snare. Metal (cymbals, cowbell,
agogo, triangle) is inharmonic fixed-frequency pairs at high index; skins
(kicks, toms, congas) are sines with a falling pitch envelope.

Every sound has a fixed pitch except the kicks and toms, whose key sets the
pitch (a tom's key is its tuning). Releases are as slow as the decays, so a
drum rings out after its note-off (GM players treat drum notes as one-shots).
``GM_CHOKE_GROUPS``: the hi-hats cut each other; so do the short/long whistle,
guiro, cuica and triangle pairs.
"""
from __future__ import annotations

from functools import lru_cache

from fmcore.gm import DRUM_KEY_NAMES
from fmcore.patch import Controllers, Envelope, Operator, Patch, PitchEnvelope

# notes that cut each other's sound (see Synth.set_kit)
GM_CHOKE_GROUPS: tuple[frozenset[int], ...] = (
    frozenset({42, 44, 46}),   # closed, pedal, open hi-hat
    frozenset({71, 72}),       # short / long whistle
    frozenset({73, 74}),       # short / long guiro
    frozenset({78, 79}),       # mute / open cuica
    frozenset({80, 81}),       # mute / open triangle
)

NOISE_FEEDBACK = 8.0           # radians: past ~6 the operator's output is noise



def _hit(decay: float, attack: float = 0.0005, peak: float = 1.0, hold: float = 0.0) -> Envelope:
    """Jump (or ``attack``) to ``peak``, hold, then fall 96 dB in ``decay`` s; the release keeps that rate."""
    if hold > 0:     # (a segment between equal levels would be instant: hold with a 1 dB slope)
        return Envelope(times=[attack, hold, decay, decay], levels=[peak, peak * 0.89, 0.0, 0.0])
    return Envelope(times=[attack, decay, 0.0, decay], levels=[peak, 0.0, 0.0, 0.0])


def _flat() -> Envelope:
    # a noise source: full level from the first sample, ringing on after the note-off
    return Envelope(times=[0.0, 0.0, 0.0, 30.0], levels=[1.0, 1.0, 1.0, 0.0])


def _op(hz=None, ratio=1.0, env=None, level=1.0, vel=0.5, detune=0.0) -> Operator:
    return Operator(ratio=ratio, fixed_hz=hz, level=level, env=env or _flat(), velocity_sens=vel,
                    detune_cents=detune)


def _noise(hz: float = 5000.0) -> Operator:
    return _op(hz, vel=0.0)


def _drum(name: str, ops, edges=(), carriers=((1, 1.0),), feedback=(), gain_db=0.0, peg=None) -> Patch:
    return Patch(name=name, operators=list(ops), edges=[list(e) for e in edges],
                 carriers=[list(c) for c in carriers], feedback=[list(f) for f in feedback],
                 pitch_env=peg or PitchEnvelope(), gain_db=gain_db,
                 controllers=Controllers(mod_wheel_pitch_cents=0.0))


def _drop(cents: float, seconds: float) -> PitchEnvelope:
    """Start ``cents`` above the key and fall to it in ``seconds`` (a struck skin)."""
    return PitchEnvelope(times=[0.0, seconds, 0.0, 0.0], levels_cents=[cents, 0.0, 0.0, 0.0])


# ---- the sounds -------------------------------------------------------------------------

def _kick(name, ratio, decay, click, gain_db=0.0):
    # a sine falling two octaves in 50 ms, with a short noise click for the beater
    return _drum(name, [_op(ratio=ratio, env=_hit(decay), vel=0.4), _op(1800.0, env=_hit(0.07), vel=0.6),
                        _noise(6100.0)],
                 edges=[(3, 2, 1.6)], carriers=[(1, 1.0), (2, click)], feedback=[(3, 3, NOISE_FEEDBACK)],
                 gain_db=gain_db, peg=_drop(2400.0, 0.05))


def _snare(name, body_hz, decay, noise_level, gain_db=0.0, noise_decay=None, wires=0.9):
    # two skin modes, and the wires: a 2.6 kHz carrier smeared into noise (index `wires`)
    return _drum(name, [_op(body_hz, env=_hit(decay * 0.6)), _op(body_hz * 1.84, env=_hit(decay * 0.4)),
                        _op(2600.0, env=_hit(noise_decay or decay), vel=0.4), _noise(7300.0)],
                 edges=[(4, 3, wires)], carriers=[(1, 0.8), (2, 0.45), (3, noise_level)],
                 feedback=[(4, 4, NOISE_FEEDBACK)], gain_db=gain_db)


def _tom(name, decay, gain_db=0.0):
    # the key is the tuning: a sine a little above it falling to it, a touch of stick noise
    return _drum(name, [_op(ratio=1.0, env=_hit(decay), vel=0.4), _op(ratio=1.5, env=_hit(decay * 0.3)),
                        _op(2500.0, env=_hit(0.04), vel=0.6), _noise(4000.0)],
                 edges=[(2, 1, 0.6), (4, 3, 2.5)], carriers=[(1, 1.0), (3, 0.12)],
                 feedback=[(4, 4, NOISE_FEEDBACK)], gain_db=gain_db, peg=_drop(500.0, 0.12))


def _hat(name, decay, gain_db=0.0, body=0.5):
    # hiss around 10 kHz plus two metallic pairs (inharmonic, high index)
    return _drum(name, [_op(10200.0, env=_hit(decay), vel=0.4), _noise(7700.0),
                        _op(6890.0, env=_hit(decay * 0.8), vel=0.4), _op(4713.0, env=_flat(), level=1.0, vel=0.0),
                        _op(8420.0, env=_hit(decay * 0.7), vel=0.4), _op(3271.0, env=_flat(), vel=0.0)],
                 edges=[(2, 1, 2.2), (4, 3, 5.0), (6, 5, 4.0)], carriers=[(1, 1.0), (3, body), (5, body * 0.8)],
                 feedback=[(2, 2, NOISE_FEEDBACK)], gain_db=gain_db)


def _cymbal(name, decay, partials, noise=0.7, gain_db=0.0, attack=0.001, hiss_hz=6200.0, hiss_index=1.6):
    # a wash of inharmonic FM pairs over noise; `partials` are (carrier Hz, modulator Hz, index, level)
    ops = [_op(hiss_hz, env=_hit(decay, attack), vel=0.4), _noise(6600.0)]
    edges = [(2, 1, hiss_index)]
    carriers = [(1, noise)]
    for c_hz, m_hz, index, level in partials:
        ops += [_op(c_hz, env=_hit(decay * 0.9, attack), vel=0.4), _op(m_hz, env=_hit(decay * 1.2), vel=0.2)]
        n = len(ops)
        edges.append((n, n - 1, index))
        carriers.append((n - 1, level))
    return _drum(name, ops, edges=edges, carriers=carriers, feedback=[(2, 2, NOISE_FEEDBACK)], gain_db=gain_db)


def _shaker(name, hz, decay, attack=0.002, gain_db=0.0, index=3.0):
    # a burst of noise around `hz`
    return _drum(name, [_op(hz, env=_hit(decay, attack), vel=0.4), _noise(5300.0)], edges=[(2, 1, index)],
                 feedback=[(2, 2, NOISE_FEEDBACK)], gain_db=gain_db)


def _bell(name, hz, ratio, index, decay, gain_db=0.0, second=None):
    # a struck metal pitch: an inharmonic FM pair (and an optional second pair)
    ops = [_op(hz, env=_hit(decay)), _op(hz * ratio, env=_hit(decay * 0.6), vel=0.3)]
    edges = [(2, 1, index)]
    carriers = [(1, 1.0)]
    if second:
        ops += [_op(second[0], env=_hit(decay * 0.8)), _op(second[0] * second[1], env=_hit(decay * 0.5), vel=0.3)]
        edges.append((4, 3, second[2]))
        carriers.append((3, second[3]))
    return _drum(name, ops, edges=edges, carriers=carriers, gain_db=gain_db)


def _key_hz(key: int) -> float:
    return 440.0 * 2.0 ** ((key - 69) / 12.0)


def _skin(name, key, hz, decay, drop=300.0, slap=0.0, gain_db=0.0):
    # a hand drum at `hz` whatever its key (a ratio operator, so the pitch envelope bends it),
    # two more modes, and a slap of noise
    ops = [_op(ratio=hz / _key_hz(key), env=_hit(decay)), _op(hz * 1.59, env=_hit(decay * 0.5)),
           _op(1900.0, env=_hit(0.05), vel=0.6), _noise(4400.0), _op(hz * 2.14, env=_hit(decay * 0.3))]
    return _drum(name, ops, edges=[(4, 3, 1.2)], carriers=[(1, 1.0), (2, 0.5), (3, slap), (5, 0.3)],
                 feedback=[(4, 4, NOISE_FEEDBACK)], gain_db=gain_db, peg=_drop(drop, 0.04))


def _woody(name, hz, decay, gain_db=0.0, ratio=2.76):
    # claves, wood blocks, side stick: a short bright resonance
    return _drum(name, [_op(hz, env=_hit(decay)), _op(hz * ratio, env=_hit(decay * 0.5), vel=0.3)],
                 edges=[(2, 1, 1.2)], gain_db=gain_db)


def _whistle(name, hz, length, gain_db=0.0):
    # a pea whistle: a sine with a fast flutter of noise on its phase
    return _drum(name, [_op(hz, env=_hit(0.1, 0.01, hold=length)),
                        _noise(2900.0)], edges=[(2, 1, 0.25)], feedback=[(2, 2, NOISE_FEEDBACK)], gain_db=gain_db)


def _guiro(name, length, gain_db=0.0):
    # scraped ridges: noise around 4 kHz chopped at 60 Hz by amplitude modulation through a low modulator
    return _drum(name, [_op(3000.0, env=_hit(0.08, 0.005, hold=length)),
                        _noise(3100.0), _op(63.0, env=_flat(), vel=0.0), _op(1300.0, env=_flat(), vel=0.0)],
                 edges=[(2, 1, 0.9), (3, 1, 3.0), (4, 1, 1.0)], feedback=[(2, 2, NOISE_FEEDBACK)], gain_db=gain_db)


def _cuica(name, decay, rise, gain_db=0.0):
    # a friction drum's squeak: a sine sliding up, shaped by a formant pair
    p = _drum(name, [_op(ratio=1.0, env=_hit(decay, 0.01)), _op(ratio=2.0, env=_hit(decay * 0.7), vel=0.3)],
              edges=[(2, 1, 1.5)], gain_db=gain_db,
              peg=PitchEnvelope(times=[0.0, rise, 0.0, 0.0], levels_cents=[-700.0, 0.0, 0.0, 0.0]))
    return p


def _vibraslap(name, gain_db=0.0):
    # a rattle: a buzzing metal tone beating at ~28 Hz for about a second
    return _drum(name, [_op(2900.0, env=_hit(1.6, 0.002)), _op(28.0, env=_flat(), vel=0.0),
                        _op(4100.0, env=_hit(1.2), vel=0.3), _noise(5100.0)],
                 edges=[(2, 1, 6.0), (3, 1, 2.0), (4, 1, 1.0)], feedback=[(4, 4, NOISE_FEEDBACK)], gain_db=gain_db)


def _clap(name, gain_db=0.0):
    # several hands: noise around 1.5 kHz with a buzz at 90 Hz for the flams
    return _drum(name, [_op(1200.0, env=_hit(0.45), vel=0.4), _noise(3700.0), _op(90.0, env=_hit(0.06), vel=0.0),
                     _op(2300.0, env=_hit(0.3), vel=0.4)],
                 edges=[(2, 1, 1.0), (3, 1, 2.5), (2, 4, 1.2)], carriers=[(1, 1.0), (4, 0.6)], feedback=[(2, 2, NOISE_FEEDBACK)], gain_db=gain_db)


# Each key's level (patch gain, dB): the balance of a GM reference kit (FluidR3's peaks at
# velocity 100), the hi-hats a little louder than there.
_LEVEL_DB = {
    35: -0.5, 36: -1.0, 37: -0.5, 38: 1.5, 39: 0.5, 40: 0.0, 41: -0.5, 42: -13.0,
    43: 2.0, 44: -10.0, 45: 2.0, 46: -12.0, 47: 2.0, 48: 1.5, 49: -7.5, 50: 0.5,
    51: -7.5, 52: -9.5, 53: -7.5, 54: -2.5, 55: -7.5, 56: -0.5, 57: -9.0, 58: 2.0,
    59: -7.5, 60: -2.0, 61: -3.5, 62: -5.0, 63: -3.5, 64: -4.0, 65: -1.0, 66: 0.0,
    67: -4.0, 68: -5.5, 69: 2.0, 70: 3.5, 71: 0.0, 72: 0.0, 73: 1.0, 74: 4.0,
    75: 5.0, 76: 5.0, 77: 4.5, 78: 3.0, 79: 3.0, 80: -3.5, 81: -3.5,
}


@lru_cache(maxsize=1)
def _kit() -> dict[int, Patch]:
    k: dict[int, Patch] = {}
    k[35] = _kick("Acoustic Bass Drum", 0.74, 0.55, 0.25)   # key B1: about 45 Hz
    k[36] = _kick("Bass Drum 1", 0.82, 0.5, 0.35)
    k[37] = _drum("Side Stick", [_op(1650.0, env=_hit(0.2)), _op(1650.0 * 1.87, env=_hit(0.1), vel=0.3),
                                 _op(5400.0, env=_hit(0.12), vel=0.4), _noise(6900.0)],
                  edges=[(2, 1, 1.2), (4, 3, 1.0)], carriers=[(1, 1.0), (3, 0.3)],
                  feedback=[(4, 4, NOISE_FEEDBACK)])
    k[38] = _snare("Acoustic Snare", 185.0, 0.6, 0.35)
    k[39] = _clap("Hand Clap")
    k[40] = _snare("Electric Snare", 215.0, 0.5, 0.5, noise_decay=0.45, wires=1.1)
    for key, decay in ((41, 2.4), (43, 2.2), (45, 2.1), (47, 1.9), (48, 1.8), (50, 1.7)):
        k[key] = _tom(DRUM_KEY_NAMES[key], decay)
    k[42] = _hat("Closed Hi-Hat", 0.35)
    k[44] = _hat("Pedal Hi-Hat", 0.28, body=0.25)
    k[46] = _hat("Open Hi-Hat", 2.2)
    crash = [(5130.0, 3617.0, 5.0, 0.5), (7320.0, 4891.0, 4.0, 0.4), (3467.0, 5980.0, 3.0, 0.3)]
    k[49] = _cymbal("Crash Cymbal 1", 4.0, crash, hiss_hz=4800.0, hiss_index=1.3)
    k[57] = _cymbal("Crash Cymbal 2", 4.6, [(c * 0.94, m * 0.97, i, lv) for c, m, i, lv in crash],
                    hiss_hz=4600.0, hiss_index=1.3)
    k[51] = _cymbal("Ride Cymbal 1", 4.5, [(4210.0, 5891.0, 2.0, 0.6), (6330.0, 2413.0, 1.5, 0.3)], noise=0.35)
    k[59] = _cymbal("Ride Cymbal 2", 4.0, [(3890.0, 5420.0, 2.2, 0.6), (5910.0, 2270.0, 1.5, 0.3)], noise=0.4)
    k[52] = _cymbal("Chinese Cymbal", 2.6, [(2810.0, 4173.0, 6.0, 0.6), (4490.0, 1987.0, 5.0, 0.5)], noise=0.6)
    k[55] = _cymbal("Splash Cymbal", 2.2, [(6120.0, 4310.0, 4.0, 0.5), (8140.0, 5230.0, 3.0, 0.4)])
    k[53] = _bell("Ride Bell", 2350.0, 1.42, 1.4, 2.5, second=(3520.0, 1.33, 1.0, 0.5))
    k[54] = _drum("Tambourine", [_op(9800.0, env=_hit(1.0), vel=0.4), _noise(6200.0), _op(6020.0, env=_hit(0.8)),
                                 _op(4380.0, env=_flat(), vel=0.0), _op(11.5, env=_flat(), vel=0.0)],
                  edges=[(2, 1, 2.5), (4, 3, 4.0), (5, 1, 3.0)], carriers=[(1, 1.0), (3, 0.5)],
                  feedback=[(2, 2, NOISE_FEEDBACK)])
    k[56] = _bell("Cowbell", 587.0, 1.48, 3.0, 0.45, second=(845.0, 1.0, 2.0, 0.6))
    k[58] = _vibraslap("Vibraslap")
    k[60] = _skin("Hi Bongo", 60, 440.0, 0.3, drop=200.0, slap=0.15)
    k[61] = _skin("Low Bongo", 61, 310.0, 0.4, drop=200.0, slap=0.12)
    k[62] = _skin("Mute Hi Conga", 62, 300.0, 0.15, drop=150.0, slap=0.3)
    k[63] = _skin("Open Hi Conga", 63, 300.0, 0.7, drop=150.0, slap=0.1)
    k[64] = _skin("Low Conga", 64, 205.0, 0.8, drop=150.0, slap=0.1)
    k[65] = _bell("High Timbale", 560.0, 2.31, 2.6, 1.2, second=(2950.0, 1.41, 1.5, 0.25))
    k[66] = _bell("Low Timbale", 410.0, 2.31, 2.6, 1.3, second=(2950.0, 1.41, 1.5, 0.25))
    k[67] = _bell("High Agogo", 1080.0, 2.71, 2.4, 0.6, second=(3870.0, 1.53, 1.8, 0.5))
    k[68] = _bell("Low Agogo", 760.0, 2.71, 2.4, 0.7, second=(2990.0, 1.53, 1.8, 0.5))
    k[69] = _shaker("Cabasa", 11200.0, 0.25, attack=0.01)
    k[70] = _shaker("Maracas", 9500.0, 0.2, attack=0.004)
    k[71] = _whistle("Short Whistle", 2480.0, 0.12)
    k[72] = _whistle("Long Whistle", 2250.0, 0.45)
    k[73] = _guiro("Short Guiro", 0.1)
    k[74] = _guiro("Long Guiro", 0.42)
    k[75] = _woody("Claves", 2500.0, 0.12, ratio=3.01)
    k[76] = _woody("Hi Wood Block", 1320.0, 0.16)
    k[77] = _woody("Low Wood Block", 880.0, 0.2)
    k[78] = _cuica("Mute Cuica", 1.2, 0.08)
    k[79] = _cuica("Open Cuica", 1.8, 0.2)
    k[80] = _bell("Mute Triangle", 7130.0, 1.41, 1.2, 0.45, second=(11300.0, 1.17, 0.8, 0.8))
    k[81] = _bell("Open Triangle", 7130.0, 1.41, 1.2, 2.6, second=(11300.0, 1.17, 0.8, 0.8))
    for key, patch in k.items():
        patch.gain_db = _LEVEL_DB[key]
    return k


def drum_kit() -> dict[int, Patch]:
    """General MIDI percussion keys 35..81 -> drum patches, for ``Synth.set_kit(kit, 9, choke=GM_CHOKE_GROUPS)``."""
    return dict(_kit())
