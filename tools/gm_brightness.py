"""Calibrate the built-in GM patches' brightness against a GM reference player.

For every General MIDI program, three notes (C3, C4, C5, one second each, velocity 100, dry)
through FluidSynth with a GM SoundFont give the share of the spectrum between 2 and 8 kHz.
For every built-in patch the GM map uses, the modulation index is scaled (all modulation
edges, not feedback) by the smallest factor in SCALES that brings the patch's own share
within TOLERANCE_DB of the median share of the programs it plays, at most MAX_SCALE (when
the index moves it at all: a patch of plain sine carriers keeps 1): an FM
patch with a low index has almost nothing above its fifth harmonic, where a sampled
instrument has its presence. Prints the table for ``fmcore.presets._INDEX_SCALE`` and the
per-program reference shares for ``tests/test_gm.py``.

Needs ``fluidsynth`` and a GM SoundFont (Debian: ``apt-get install fluidsynth fluid-soundfont-gm``).

    python tools/gm_brightness.py [--sf2 /usr/share/sounds/sf2/FluidR3_GM.sf2]
"""
from __future__ import annotations

import argparse
import copy
import math
import statistics
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

SR = 48000
NOTES = (48, 60, 72)
SCALES = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
MAX_SCALE = SCALES[-1]
TOLERANCE_DB = 10.0


def presence_db(x: np.ndarray) -> float:
    """Share of the power spectrum between 2 and 8 kHz, dB."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return 10 * math.log10(max(spec[(f >= 2000) & (f < 8000)].sum(), 1e-30) / (spec.sum() + 1e-30))


def reference(program: int, sf2: str, tmp: Path) -> float:
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.Message("program_change", program=program, time=0))
    for n in NOTES:                          # 120 bpm: 960 ticks = 1 s
        tr.append(mido.Message("note_on", note=n, velocity=100, time=0))
        tr.append(mido.Message("note_off", note=n, time=960))
    tr.append(mido.MetaMessage("end_of_track", time=960))
    mid.save(tmp / "p.mid")
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-F", str(tmp / "p.wav"), "-r", str(SR),
                    sf2, str(tmp / "p.mid")], check=True, capture_output=True)
    return presence_db(sf.read(tmp / "p.wav", dtype="float64", always_2d=True)[0].mean(axis=1))


def scaled(patch, s: float):
    p = copy.deepcopy(patch)
    p.edges = [[a, b, amt * s] for a, b, amt in p.edges]
    return p


def fmcore_presence(patch) -> float:
    from fmcore import Synth

    synth = Synth(SR, max_voices=8, max_block=256)
    synth.set_patch(patch, 0)
    ev = []
    for i, n in enumerate(NOTES):
        ev += [(i * SR, 0x90, n, 100), ((i + 1) * SR - 1, 0x80, n, 0)]
    x = synth.process(np.zeros((2, int((len(NOTES) + 0.5) * SR)), np.float32), ev)
    return presence_db(x.mean(axis=0).astype(np.float64))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sf2", default="/usr/share/sounds/sf2/FluidR3_GM.sf2")
    args = ap.parse_args()
    from fmcore.presets import GM_PROGRAM_MAP, _INDEX_SCALE, gm_bank

    bank = gm_bank()
    with tempfile.TemporaryDirectory() as d:
        ref = [reference(p, args.sf2, Path(d)) for p in range(128)]
    print("FLUIDSYNTH_PRESENCE_DB = (" + ", ".join(f"{r:.1f}" for r in ref) + ")")
    table = {}
    for name in sorted(set(GM_PROGRAM_MAP)):
        progs = [i for i, n in enumerate(GM_PROGRAM_MAP) if n == name]
        target = statistics.median(ref[i] for i in progs)
        base = scaled(bank[progs[0]], 1.0 / _INDEX_SCALE.get(name, 1.0))   # as written, unscaled
        got = {}
        for s in SCALES:
            got[s] = fmcore_presence(scaled(base, s))
            if got[s] >= target - TOLERANCE_DB:
                break
        reached = [s for s in got if got[s] >= target - TOLERANCE_DB]
        if reached:
            choice = min(reached)
        else:
            # out of reach: as bright as allowed, if the index is what the patch lacks at all
            # (a patch of sine carriers gains nothing from it)
            choice = MAX_SCALE if got[MAX_SCALE] - got[1.0] >= 6.0 else 1.0
        print(f"{name:20s} target {target:6.1f}  " + "  ".join(f"x{s:g}: {v:6.1f}" for s, v in got.items())
              + f"  -> {choice:g}")
        if choice != 1.0:
            table[name] = choice
    print("_INDEX_SCALE = {" + ", ".join(f"{k!r}: {v:g}" for k, v in sorted(table.items())) + "}")


if __name__ == "__main__":
    main()
