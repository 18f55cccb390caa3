"""fmcore's General MIDI render against FluidSynth's on the same files: the listening proxies.

For each MIDI file (default: the freedoom songs of ../shared/data/midi), the first
``--seconds`` of both renders: energy per band (< 250 Hz, 250-2k, 2k-8k, > 8 kHz, dB of
the total) and the reverb's share (wet energy below dry; wet = the render minus the same
render without reverb). Needs ``fluidsynth`` and a GM SoundFont
(Debian: ``apt-get install fluidsynth fluid-soundfont-gm``).

    python tools/gm_compare.py [--sf2 /usr/share/sounds/sf2/FluidR3_GM.sf2] [--seconds 60] [file.mid ...]
"""
from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SR = 48000
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"
BANDS = ((0, 250), (250, 2000), (2000, 8000), (8000, SR / 2 + 1))


def bands_db(x: np.ndarray) -> list[float]:
    m = x.mean(axis=0).astype(np.float64)
    spec = np.abs(np.fft.rfft(m)) ** 2
    f = np.fft.rfftfreq(len(m), 1 / SR)
    return [10 * math.log10(spec[(f >= lo) & (f < hi)].sum() / spec.sum() + 1e-30) for lo, hi in BANDS]


def db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-30)


def fluidsynth(path: Path, sf2: str, n: int, reverb: bool) -> np.ndarray:
    import soundfile as sf

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "x.wav"
        cmd = ["fluidsynth", "-ni", "-q", "-C", "0", "-F", str(out), "-r", str(SR)]
        cmd += [] if reverb else ["-R", "0"]
        subprocess.run(cmd + [sf2, str(path)], check=True, capture_output=True)
        return sf.read(out, dtype="float32")[0][:n].T


def fmcore_render(path: Path, n: int, reverb: bool) -> np.ndarray:
    import fmcore

    params = None if reverb else {"fx.send_reverb.mix": 0.0}
    return fmcore.render_midi(path, tail=0.0, limit=False, params=params)[:, :n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("midi", nargs="*", type=Path)
    ap.add_argument("--sf2", default="/usr/share/sounds/sf2/FluidR3_GM.sf2")
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    if shutil.which("fluidsynth") is None or not Path(args.sf2).exists():
        print("gm_compare: needs fluidsynth and a GM SoundFont (apt-get install fluidsynth fluid-soundfont-gm)",
              file=sys.stderr)
        return 2
    files = args.midi or sorted(DATA.glob("*freedoom*.mid"))
    n = int(args.seconds * SR)
    print(f"{'file':<42} {'renderer':<10} {'<250':>6} {'-2k':>6} {'-8k':>6} {'>8k':>6}   reverb wet/dry")
    for path in files:
        for name, render in (("fluidsynth", lambda r: fluidsynth(path, args.sf2, n, r)),
                             ("fmcore", lambda r: fmcore_render(path, n, r))):
            wet, dry = render(True), render(False)
            m = min(wet.shape[1], dry.shape[1])
            b = bands_db(wet)
            print(f"{path.name[:42]:<42} {name:<10} " + " ".join(f"{v:6.1f}" for v in b)
                  + f"   {db(wet[:, :m] - dry[:, :m]) - db(dry[:, :m]):6.1f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
