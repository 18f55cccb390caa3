"""Offline rendering of MIDI files: real files, timing to the sample, files out, the command line."""
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

import fmcore
from fmcore.midi import read_midi
from fmcore.render import demo_song_path, setup_synth, song_events

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"
GOOD = sorted(p for p in DATA.glob("*.mid") if not p.name.startswith("broken-"))
SR = 48000


def test_shared_data_is_present():
    assert len(GOOD) >= 8, f"expected the real MIDI files in {DATA}"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_real_files_render(path, tmp_path):
    song = read_midi(path)
    audio = fmcore.render_midi(path, sample_rate=SR, tail=1.0, normalize=True)
    # length from the tempo map, checked against mido's own reading where mido can read the file
    expected = round((song.duration_seconds + 1.0) * SR)
    assert audio.shape == (2, expected)
    try:
        length = mido.MidiFile(path).length
    except Exception:   # mido refuses some legal files (unknown chunks, odd running status)
        length = None
    if length is not None:
        assert abs(audio.shape[1] - (length + 1.0) * SR) <= 1.0
    assert np.isfinite(audio).all()
    peak = np.abs(audio).max()
    assert 0.85 < peak <= 10 ** (-1 / 20) + 1e-6, "normalised to -1 dBFS, never clipping"
    rms = np.sqrt(np.mean(audio ** 2))
    assert rms > 0.005, "non-silent"


def render_events(raw, n, patches=None, block=256):
    s = fmcore.Synth(SR, max_voices=64, max_block=block)
    setup_synth(s, patches)
    s.settle()
    out = np.zeros((2, n), np.float32)
    return s.process(out, raw)


@pytest.mark.parametrize("name", ["gm-multitrack-drums_freedoom-e1m1.mid", "pitchbend-modwheel_freedoom-map26.mid"])
def test_every_checked_note_sounds_from_its_sample(name):
    """Removing one note-on changes the output exactly from that note's sample on, never before."""
    song = read_midi(DATA / name)
    ev = song_events(song, SR)
    raw = np.stack([ev["sample"], ev["status"], ev["data1"], ev["data2"]], axis=1).astype(np.int64)
    n = int(8.0 * SR)
    raw = raw[raw[:, 0] < n]
    full = render_events(raw, n)
    notes = np.flatnonzero(((raw[:, 1] & 0xF0) == 0x90) & (raw[:, 3] > 0))
    rng = np.random.default_rng(1)
    for i in rng.choice(notes, size=6, replace=False):
        cut = np.delete(raw, i, axis=0)
        diff = np.abs(render_events(cut, n) - full).max(axis=0)
        first = int(np.flatnonzero(diff > 0)[0])
        s = int(raw[i, 0])
        # never before its sample; within a few samples after it (an attack starts at sin(0) from
        # silence, and its first tiny samples can vanish in float32 rounding against a loud mix)
        assert s <= first <= s + 8, f"note at sample {s} first changed the output at {first}"


def test_render_is_block_size_independent():
    a = fmcore.render_midi(demo_song_path(), block=64)
    b = fmcore.render_midi(demo_song_path(), block=512)
    assert np.array_equal(a, b)


def test_patch_choices(tmp_path):
    demo = demo_song_path()
    default = fmcore.render_midi(demo, tail=0.5)
    organ = fmcore.render_midi(demo, tail=0.5, patches="Drawbar Organ")
    assert default.shape == organ.shape and not np.allclose(default, organ)
    patch = fmcore.presets.builtin_patch("Warm Pad")
    patch.save(tmp_path / "pad.json")
    from_json = fmcore.render_midi(demo, tail=0.5, patches=str(tmp_path / "pad.json"))
    from_obj = fmcore.render_midi(demo, tail=0.5, patches=patch)
    assert np.array_equal(from_json, from_obj)
    by_channel = fmcore.render_midi(demo, tail=0.5, patches={0: patch})
    assert not np.array_equal(by_channel, default) and not np.array_equal(by_channel, from_obj)


def test_builtin_bank_and_gm_map():
    from fmcore.presets import GM_PROGRAM_MAP, builtin_bank, drum_kit, gm_bank

    bank = builtin_bank()
    assert len(bank) >= 32 and len({p.name for p in bank}) == len(bank)
    assert len(GM_PROGRAM_MAP) == 128 and len(gm_bank()) == 128
    kit = drum_kit()
    assert {35, 36, 38, 42, 46, 49, 51} <= set(kit)
    # every patch of the bank makes sound at a middle note
    s = fmcore.Synth(SR)
    for p in bank:
        s.reset()
        s.set_patch(p)
        x = s.render([(0.0, 0x90, 60, 100), (1.2, 0x80, 60, 0)], duration=1.3)
        assert np.isfinite(x).all() and np.abs(x).max() > 0.01, p.name


def test_write_wav_and_flac(tmp_path):
    for name, subtype in (("a.wav", "PCM_16"), ("b.wav", "FLOAT"), ("c.flac", "PCM_24")):
        report = fmcore.render_midi_to_file(demo_song_path(), tmp_path / name, subtype=subtype, tail=0.2)
        info = sf.info(tmp_path / name)
        assert info.samplerate == SR and info.channels == 2 and info.subtype == subtype
        assert info.frames == round(report.audio_seconds * SR)
        assert report.realtime_factor > 0 and "real time" in report.summary()
    assert sorted(os.listdir(tmp_path)) == ["a.wav", "b.wav", "c.flac"], "no temporary files left"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fmcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_renders_the_demo_with_no_arguments(tmp_path):
    r = run_cli("render", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "demo.wav"
    assert out.exists() and "real time" in r.stdout and "peak" in r.stdout
    x, sr = sf.read(out)
    assert sr == SR and x.shape[1] == 2 and np.abs(x).max() > 0.1


@pytest.mark.parametrize("name, message", [
    ("broken-truncated_midly-PiDamaged.mid", "truncated in track 2"),
    ("broken-missing-byte_jazzsoft.mid", "truncated in track 0"),
])
def test_cli_bad_midi_is_one_line_exit_2_nothing_written(tmp_path, name, message):
    out = tmp_path / "x.wav"
    r = run_cli("render", DATA / name, "-o", out)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fmcore: error: ") and message in lines[0] and name in lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_lenient_renders_a_damaged_file_with_a_warning(tmp_path):
    out = tmp_path / "x.wav"
    r = run_cli("render", DATA / "broken-missing-byte_jazzsoft.mid", "-o", out, "--lenient", "--tail", "0.5")
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and out.exists()


def test_cli_says_when_a_song_has_no_notes(tmp_path):
    # a valid file with only meta events (or no tracks) renders silence: say so, not just "peak -inf"
    mid = mido.MidiFile()
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("control_change", control=7, value=100, time=10))
    path = tmp_path / "empty-song.mid"
    mid.save(path)
    out = tmp_path / "x.wav"
    r = run_cli("render", path, "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.exists()
    assert "empty-song.mid: no notes in the song: the output is silent" in r.stderr, r.stderr


@pytest.mark.parametrize("args, message", [
    (["render", "missing.mid"], "missing.mid: no such file"),
    (["render", "--patch", "Nope Patch"], "not a .syx bank"),
    (["render", "-o", "out.xyz"], "unsupported output type"),
    (["render", "--patch", "x.syx:0"], "outside 1..32"),
])
def test_cli_errors(tmp_path, args, message):
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_info():
    r = run_cli("info", demo_song_path())
    assert r.returncode == 0 and "tempo" in r.stdout and "program 5 Electric Piano 1" in r.stdout


def test_reused_engine_renders_like_a_fresh_one():
    s = fmcore.Synth(SR, max_voices=64, max_block=256)
    first = fmcore.render_midi(demo_song_path(), synth=s, tail=0.5)
    again = fmcore.render_midi(demo_song_path(), synth=s, tail=0.5)
    fresh = fmcore.render_midi(demo_song_path(), tail=0.5)
    assert np.array_equal(first, again) and np.array_equal(again, fresh)


def test_cli_dx7_bank_patches(tmp_path):
    syx = DATA.parent / "syx"
    r = run_cli("render", "-o", tmp_path / "v11.wav", "--patch", f"{syx / 'dx7-rom1a_eurorack.syx'}:11", "--tail", "0.2")
    assert r.returncode == 0, r.stderr
    x, _ = sf.read(tmp_path / "v11.wav")
    assert np.abs(x).max() > 0.05
    bad = syx / "dx7-rom1a-bad-checksum_msfa.syx"
    r = run_cli("render", "-o", tmp_path / "bad.wav", "--patch", f"{bad}:1")
    assert r.returncode == 2 and "checksum" in r.stderr and not (tmp_path / "bad.wav").exists()
    r = run_cli("render", "-o", tmp_path / "ok.wav", "--patch", f"{bad}:1", "--ignore-checksum", "--tail", "0.2")
    assert r.returncode == 0 and (tmp_path / "ok.wav").exists()
    r = run_cli("bank", "list", syx / "dx7-rom1a_eurorack.syx")
    assert r.returncode == 0 and "E.PIANO 1" in r.stdout and "algorithm  5" in r.stdout
