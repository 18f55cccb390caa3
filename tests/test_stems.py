"""Per-part stems: ``render_midi(..., stems=True)`` and ``fmcore render --stems DIR``.

A stem is one part's signal as it enters the mix (after its volume, pan and
the master gain); the shared reverb and chorus returns are stems of their
own, so the stems sum to the mix.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import fmcore
from fmcore.midi import read_midi
from fmcore.render import demo_song_path, setup_synth

SR = 48000
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"
E1M1 = DATA / "gm-multitrack-drums_freedoom-e1m1.mid"


def playing_channels(path):
    ev = read_midi(path).events(SR)
    on = ev[((ev["status"] & 0xF0) == 0x90) & (ev["data2"] > 0)]
    return sorted(set((on["status"] & 0x0F).tolist()))


def test_render_midi_stems_sum_to_the_mix():
    demo = demo_song_path()
    mix = fmcore.render_midi(demo, tail=1.0, limit=False)
    stems = fmcore.render_midi(demo, tail=1.0, limit=False, stems=True)
    parts = [k for k in stems if k.startswith("ch")]
    assert parts == [f"ch{c + 1:02d}" for c in playing_channels(demo)]
    assert "reverb" in stems and "chorus" not in stems, "only returns that sound"
    total = np.sum([stems[k].astype(np.float64) for k in stems], axis=0)
    assert all(v.shape == mix.shape and v.dtype == np.float32 for v in stems.values())
    assert np.abs(total - mix).max() < 1e-5
    for k in parts:
        assert np.abs(stems[k]).max() > 0.01, k


def test_stems_of_a_real_file_and_its_drum_stem():
    mix = fmcore.render_midi(E1M1, tail=0.5, limit=False, block=128)
    stems = fmcore.render_midi(E1M1, tail=0.5, limit=False, block=128, stems=True)
    assert [k for k in stems if k.startswith("ch")] == [f"ch{c + 1:02d}" for c in playing_channels(E1M1)]
    total = np.sum([v.astype(np.float64) for v in stems.values()], axis=0)
    assert np.abs(total - mix).max() < 2e-5
    drums = stems["ch10"].mean(axis=0).astype(np.float64)
    spec = np.abs(np.fft.rfft(drums[: 30 * SR])) ** 2
    f = np.fft.rfftfreq(min(len(drums), 30 * SR), 1 / SR)
    assert spec[f > 8000].sum() / spec.sum() > 0.02, "the drum stem has cymbals and hats"


def test_stems_follow_normalize():
    mix = fmcore.render_midi(demo_song_path(), tail=0.5, normalize=True)
    stems = fmcore.render_midi(demo_song_path(), tail=0.5, normalize=True, stems=True)
    total = np.sum([v.astype(np.float64) for v in stems.values()], axis=0)
    assert np.abs(total - mix).max() < 1e-5


def test_engine_stems_buffer_checks():
    s = fmcore.Synth(SR, max_block=64)
    setup_synth(s)
    out = np.zeros((2, 100), np.float32)
    with pytest.raises(ValueError, match="stems"):
        s.process_stems(out, np.zeros((18, 2, 99), np.float32))
    with pytest.raises(ValueError, match="stems"):
        s.process_stems(out, np.zeros((16, 2, 100), np.float32))
    stems = np.full((18, 2, 100), 7.0, np.float32)
    s.process_stems(out, stems, [(0, 0x90, 60, 100), (10, 0x91, 64, 100)])
    assert np.abs(stems[0]).max() > 0 and np.abs(stems[1]).max() > 0 and not stems[2:16].any()
    assert np.allclose(stems.sum(axis=0), out, atol=1e-6)


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fmcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_cli_stems_writes_one_file_per_part_that_plays(tmp_path):
    out = tmp_path / "stems"
    r = run_cli("render", demo_song_path(), "-o", tmp_path / "mix.wav", "--stems", out, "--bits", "32f",
                "--tail", "0.5", "--no-progress")
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"ch{c + 1:02d}.wav" for c in playing_channels(demo_song_path())] + ["reverb.wav"])
    total = sum(sf.read(out / n, dtype="float64")[0] for n in names)
    mix = fmcore.render_midi(demo_song_path(), tail=0.5, limit=False)
    assert np.abs(total.T - mix).max() < 1e-5
    assert "stems" in r.stdout


def test_cli_stems_in_pcm_never_clip(tmp_path):
    out = tmp_path / "s"
    r = run_cli("render", DATA / "type0_freedoom-dm24.mid", "-o", tmp_path / "m.wav", "--stems", out,
                "--tail", "0.2", "--no-progress")
    assert r.returncode == 0, r.stderr
    peaks = {p.name: np.abs(sf.read(p)[0]).max() for p in out.iterdir()}
    assert len(peaks) >= 8 and max(peaks.values()) < 1.0, peaks


def test_cli_stems_bad_directory_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    r = run_cli("render", demo_song_path(), "-o", tmp_path / "m.wav", "--stems", tmp_path / "file" / "d")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.wav").exists()
