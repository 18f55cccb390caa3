"""The real-time checker on the synth: the whole validation workload under the preload makes no violation."""
import subprocess
import sys

import numpy as np

import fmcore
from fmcore_rt import rtcheck


def test_synth_passes_the_workload_with_zero_violations_under_the_checker():
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "validate", "--seconds", "4", "--block", "64"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "active (librtcheck preloaded)" in r.stdout
    assert "violations          0" in r.stdout and "result              PASS" in r.stdout
    assert "non-finite samples  0" in r.stdout


def test_validator_fails_a_processor_that_allocates():
    code = ("from fmcore_rt.validate import validate\n"
            "from fmcore_rt.rtcheck._selftest import MallocProcessor\n"
            "r = validate(MallocProcessor(), 48000, 64, 50)\n"
            "print(r.table()); raise SystemExit(0 if r.ok else 1)\n")
    r = rtcheck.run([sys.executable, "-c", code], timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "malloc" in r.stdout and "FAIL" in r.stdout


def test_offline_render_with_effects_makes_no_violation():
    code = ("import numpy as np, fmcore\n"
            "from fmcore_rt import rtcheck\n"
            "from fmcore.render import demo_song_path\n"
            "s = fmcore.Synth(48000, max_voices=32, max_block=128)\n"
            "for name in s.fx.order: s.fx.enable(name)\n"
            "with rtcheck.watch() as rep:\n"
            "    a = fmcore.render_midi(demo_song_path(), synth=s, tail=0.5)\n"
            "assert rtcheck.available() and np.isfinite(a).all()\n"
            "print('violations', rep.total, rep.by_function)\n")
    r = rtcheck.run([sys.executable, "-c", code], timeout=300)
    assert r.returncode == 0, r.stderr
    assert "violations 0 {}" in r.stdout


def test_limiter_keeps_a_dense_render_under_its_ceiling():
    from pathlib import Path

    dense = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi" / "dense-polyphony_freedoom-e3m8.mid"
    s = fmcore.Synth(48000, max_voices=64, max_block=256)
    s.params["master.gain"] = 4.0          # drive it hard
    loud = fmcore.render_midi(dense, synth=s, tail=0.5, limit=True)
    assert np.abs(loud).max() <= 10 ** (-1 / 20) + 1e-6
