"""How close fmcore plays DX7 voices to the reference emulation (MSFA, inside Dexed).

Renders the voices of ``../shared/data/dx7_refs`` under that folder's
conditions (48 kHz, mono, note 60, velocity 100, key up at sample 96000,
3.0 s, one voice, controllers at rest, the key not transposed: see
``render_voice``) and prints the spectral distance of its
README per voice: STFT with a 2048-sample Hann window and a 512-sample hop,
magnitudes in dB each floored at the reference's maximum - 80 dB, the mean
absolute difference over all frames and bins, after matching gain (the
single gain that minimises the distance; the absolute levels of the two
engines differ by a constant).

    python tools/dx7_fidelity.py [--refs DIR] [--bank FILE]

Importable: ``render_voice``, ``spectral_distance``, ``REFERENCES``.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

SAMPLE_RATE = 48000
NOTE = 60
VELOCITY = 100
KEY_UP_SAMPLES = 96000
DURATION_S = 3.0
WINDOW = 2048
HOP = 512
FLOOR_DB = 80.0

_HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(_HERE, "..", "..", "shared", "data"))
#: (wav file, voice number 1..32 in the ROM1A bank)
REFERENCES = (("rom1a_v01_n60.wav", 1), ("rom1a_v11_n60.wav", 11), ("rom1a_v15_n60.wav", 15))


def render_voice(voice, note: int = NOTE, velocity: int = VELOCITY, transpose: bool = False) -> np.ndarray:
    """Render one DX7 voice as the references were rendered; returns mono float64 samples.

    The references play the key itself, without the voice's transpose: BASS 1
    (transpose -12, every ratio 0.5) sounds at 130.8 Hz there, which is key 60,
    not key 48. So by default the transpose is set to centre here as well.
    """
    from fmcore.dx7 import voice_to_patch
    from fmcore.synth import Synth

    if not transpose:
        voice = voice.copy()
        voice.transpose = 24
    synth = Synth(sample_rate=SAMPLE_RATE, max_voices=4, max_block=1024)
    synth.set_patch(voice_to_patch(voice))
    synth.settle()
    events = [(0.0, 0x90, note, velocity), (KEY_UP_SAMPLES / SAMPLE_RATE, 0x80, note, 0)]
    out = synth.render(events, DURATION_S)
    return out.mean(axis=0).astype(np.float64)


def _stft_db(x: np.ndarray) -> np.ndarray:
    from scipy.signal import get_window

    win = get_window("hann", WINDOW)
    n = 1 + (len(x) - WINDOW) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW)[::HOP][:n] * win
    mag = np.abs(np.fft.rfft(frames, axis=1))
    return 20.0 * np.log10(np.maximum(mag, 1e-30))


def spectral_distance(test: np.ndarray, ref: np.ndarray, match_gain: bool = True) -> tuple[float, float]:
    """The README's distance in dB between ``test`` and ``ref``; returns (distance, gain_db applied to test)."""
    from scipy.optimize import minimize_scalar

    n = min(len(test), len(ref))
    r = _stft_db(np.asarray(ref[:n], np.float64))
    t = _stft_db(np.asarray(test[:n], np.float64))
    floor = r.max() - FLOOR_DB
    r = np.maximum(r, floor)

    def dist(g: float) -> float:
        return float(np.mean(np.abs(np.maximum(t + g, floor) - r)))

    if not match_gain:
        return dist(0.0), 0.0
    # start at the RMS match, then find the best constant gain near it
    rms = 20 * np.log10(np.sqrt(np.mean(ref[:n] ** 2)) / max(np.sqrt(np.mean(test[:n] ** 2)), 1e-30))
    res = minimize_scalar(dist, bounds=(rms - 6.0, rms + 6.0), method="bounded", options={"xatol": 1e-3})
    return float(res.fun), float(res.x)


def main(argv: list[str] | None = None) -> int:
    import soundfile as sf

    from fmcore.dx7 import load_bank

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default=os.path.join(DATA, "dx7_refs"), help="folder of the reference WAVs")
    ap.add_argument("--bank", default=os.path.join(DATA, "syx", "dx7-rom1a_eurorack.syx"), help="the ROM1A bank")
    args = ap.parse_args(argv)
    bank = load_bank(args.bank)
    print(f"{'reference':22s} {'voice':>5s} {'name':10s} {'distance dB':>11s} {'gain dB':>8s}")
    worst = 0.0
    for wav, number in REFERENCES:
        ref, sr = sf.read(os.path.join(args.refs, wav), dtype="float64")
        if sr != SAMPLE_RATE:
            print(f"{wav}: sample rate {sr}, expected {SAMPLE_RATE}", file=sys.stderr)
            return 2
        voice = bank[number - 1]
        d, g = spectral_distance(render_voice(voice), ref)
        worst = max(worst, d)
        print(f"{wav:22s} {number:5d} {voice.display_name:10s} {d:11.3f} {g:8.2f}")
    print(f"worst: {worst:.3f} dB (target <= 0.5)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(_HERE))
    sys.exit(main())
