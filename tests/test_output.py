"""Files out: streamed renders, every format libsndfile has, no clipping by default, a full disk named,
interrupts and kills that leave nothing behind (issue 14 items 3, 16, 18; issue 15 items 1, 8)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import fmcore
from fmcore.audiofile import CODECS, FORMATS, writable_suffixes
from fmcore.midi import read_midi
from fmcore.render import demo_song_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GOOD = sorted(p for p in (DATA / "midi").glob("*.mid") if not p.name.startswith("broken-"))
TINY = DATA / "midi" / "tiny-piano-cc64_music21-test14.mid"
SR = 48000


def cli(*args, **kw):
    return [sys.executable, "-m", "fmcore.cli", *map(str, args)]


def run_cli(*args, cwd=None, timeout=600):
    return subprocess.run(cli(*args), capture_output=True, text=True, cwd=cwd, timeout=timeout)


def full_scale_samples(path) -> int:
    """Samples at the integer format's full scale: what a clipping render writes."""
    info = sf.info(path)
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}[info.subtype]
    x, _ = sf.read(path, dtype="int32")
    top = (2 ** 31 - 1) >> (32 - bits) << (32 - bits)
    return int(np.count_nonzero((x >= top) | (x <= -(2 ** 31))))


# ---- no clipping by default (issue 15 item 1) ------------------------------------------------------------

def test_shared_files_are_there():
    assert len(GOOD) >= 8, f"expected the real MIDI files in {DATA / 'midi'}"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_default_file_renders_never_clip(path, tmp_path):
    out = tmp_path / "x.wav"
    report = fmcore.render_midi_to_file(path, out)
    assert full_scale_samples(out) == 0, "dm24 had 22,581 clipped samples before the limiter was on by default"
    assert report.peak_dbfs <= -1.0 + 1e-4 and report.limited
    assert f"peak {report.peak_dbfs:.1f} dBFS" in report.summary()
    x, sr = sf.read(out)
    assert sr == SR and x.shape[0] == round(report.audio_seconds * SR) and np.abs(x).max() > 0.05


def test_cli_says_the_peak_and_no_limit_turns_the_limiter_off(tmp_path):
    dm24 = DATA / "midi" / "type0_freedoom-dm24.mid"
    r = run_cli("render", dm24, "-o", tmp_path / "lim.wav", "--no-progress")
    assert r.returncode == 0 and "peak -1.0 dBFS" in r.stdout, r.stdout + r.stderr
    assert full_scale_samples(tmp_path / "lim.wav") == 0
    r = run_cli("render", dm24, "-o", tmp_path / "raw.wav", "--no-limit", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "clips" in r.stderr and full_scale_samples(tmp_path / "raw.wav") > 1000, "--no-limit: as before"


def test_the_limiter_keeps_every_onset_on_its_sample():
    # the limiter's look-ahead delays the audio; the render cuts it off again
    song = read_midi(TINY)
    first = int(song.events(SR)["sample"][((song.events(SR)["status"] & 0xF0) == 0x90)].min())
    onsets = []
    for limit in (True, False):
        x = fmcore.render_midi(TINY, limit=limit, tail=0.5)
        assert x.shape[1] == round((song.duration_seconds + 0.5) * SR)
        onsets.append(int(np.flatnonzero(np.abs(x).max(axis=0) > 0)[0]))
    # (an attack starts at sin(0): its first sample is 0)
    assert onsets[0] == onsets[1] and first <= onsets[0] <= first + 1
    quiet = fmcore.render_midi(TINY, limit=False, tail=0.5, params={"master.gain": 0.1})
    limited = fmcore.render_midi(TINY, limit=True, tail=0.5, params={"master.gain": 0.1})
    assert np.abs(quiet).max() < 0.5 and np.array_equal(quiet, limited), "below the ceiling: untouched"


# ---- streaming: memory flat in song length (issue 13, issue 14 item 3) -------------------------------

def test_an_hour_long_render_streams_in_flat_memory(tmp_path):
    # one hour at 8 kHz (the same span loop as 48 kHz, cheaper to run): the whole-song buffer
    # alone was 230 MB, and peak RSS 480 MB; streamed it stays at the interpreter's size
    # VmHWM: this process image's peak RSS (ru_maxrss would carry the forking parent's over exec)
    code = ("import sys; from fmcore.cli import main; rc = main(sys.argv[1:]); "
            "print('MAXRSS', [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]); "
            "sys.exit(rc)")
    out = tmp_path / "hour.wav"
    r = subprocess.run([sys.executable, "-c", code, "render", str(TINY), "-o", str(out), "--rate", "8000",
                        "--tail", "3600", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rss_mb = int(r.stdout.split("MAXRSS")[1]) / 1024
    assert rss_mb < 120, f"peak RSS {rss_mb:.0f} MB for an hour of audio"
    info = sf.info(out)
    assert info.frames == round((read_midi(TINY).duration_seconds + 3600) * 8000)


def test_array_and_file_renders_are_the_same_audio(tmp_path):
    x = fmcore.render_midi(demo_song_path(), limit=True, tail=0.5)
    fmcore.render_midi_to_file(demo_song_path(), tmp_path / "a.wav", subtype="FLOAT", tail=0.5)
    y, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    assert np.array_equal(x, y.T)
    z = fmcore.render_midi(demo_song_path(), limit=True, tail=0.5, block=64)
    assert np.array_equal(x, z), "block-size invariant with the limiter on"


def test_normalize_streams_through_a_scratch_file(tmp_path):
    report = fmcore.render_midi_to_file(demo_song_path(), tmp_path / "n.flac", normalize=True, tail=0.2)
    x, _ = sf.read(tmp_path / "n.flac")
    assert abs(20 * np.log10(np.abs(x).max()) + 1.0) < 0.01 and abs(report.peak_dbfs + 1.0) < 0.01
    assert report.gain_applied_db != 0.0
    assert os.listdir(tmp_path) == ["n.flac"], "the scratch file is gone"


# ---- formats (issue 15 item 8) ---------------------------------------------------------------------

@pytest.mark.parametrize("suffix", list(FORMATS))
def test_every_format_this_libsndfile_has_renders_by_suffix(suffix, tmp_path):
    if suffix not in writable_suffixes():
        r = run_cli("render", "-o", tmp_path / f"x{suffix}")
        assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr
        return
    out = tmp_path / f"demo{suffix}"
    r = run_cli("render", "-o", out, "--tail", "0.2", "--no-progress")
    assert r.returncode == 0, r.stderr
    info = sf.info(out)
    assert info.format == FORMATS[suffix] and info.samplerate == SR and info.channels == 2
    assert info.subtype == CODECS.get(suffix, "PCM_24")
    x, _ = sf.read(out, dtype="float32")
    want = round((read_midi(demo_song_path()).duration_seconds + 0.2) * SR)
    assert abs(x.shape[0] - want) <= (2048 if suffix in CODECS else 0)
    assert np.abs(x).max() > 0.05 and np.abs(x).max() < 0.95
    assert os.listdir(tmp_path) == [out.name]


@pytest.mark.parametrize("args, needle", [
    (["-o", "x.mp3", "--bits", "16"], "x.mp3: MP3 is a compressed format without a bit depth"),
    (["-o", "x.opus", "--rate", "44100"], "x.opus: Opus cannot be written at 44100 Hz"),
    (["-o", "x.mp3", "--rate", "96000"], "x.mp3: MP3 cannot be written at 96000 Hz"),
    (["-o", "x.flac", "--bits", "32f"], "FLAC cannot hold FLOAT samples"),
    (["-o", "x.m4a"], "unsupported output type '.m4a'; use one of .wav, .flac"),
    # libsndfile took it and libvorbis crashed the process (SIGSEGV) on the first block: found by fuzzing
    (["-o", "x.ogg", "--rate", "384000"], "x.ogg: Ogg Vorbis cannot be written at 384000 Hz"),
])
def test_format_errors_are_one_line_before_any_work(tmp_path, args, needle):
    r = run_cli("render", *args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_a_wav_longer_than_4_gib_is_refused_naming_the_way_out(tmp_path):
    r = run_cli("render", "-o", tmp_path / "long.wav", "--rate", "384000", "--bits", "32f", "--tail", "1500",
                "--max-duration", "99999")
    assert r.returncode == 2 and "more than a WAV file can hold" in r.stderr and ".rf64" in r.stderr
    assert list(tmp_path.iterdir()) == []


# ---- a full disk (issue 14 item 16) ------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_a_full_disk_is_named(suffix, tmp_path):
    # a real full file system: a 96 KiB tmpfs mounted in a private mount namespace (unshare maps
    # us to root in it, so this needs no privilege and leaves no mount behind)
    assert suffix in writable_suffixes()
    d = tmp_path / "small"
    d.mkdir()
    script = (f"mount -t tmpfs -o size=96k tmpfs {d} && {' '.join(cli('render', '-o', d / ('x' + suffix)))} "
              f"--tail 20 --no-progress; rc=$?; echo LEFT:$(ls -A {d}); exit $rc")
    r = subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip() == f"fmcore: error: {d / ('x' + suffix)}: the disk is full (no space left on device)"
    assert r.stdout.strip().endswith("LEFT:"), "nothing half-written"


def test_a_full_disk_while_normalizing_is_named(tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    script = (f"mount -t tmpfs -o size=96k tmpfs {d} && {' '.join(cli('render', '-o', d / 'x.wav'))} "
              f"--normalize --no-progress; rc=$?; echo LEFT:$(ls -A {d}); exit $rc")
    r = subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and "x.wav: the disk is full" in r.stderr and r.stdout.strip().endswith("LEFT:")


# ---- interrupts and kills (issue 14 item 18) ---------------------------------------------------------

def wait_for_part(d: Path, timeout=60.0) -> list[str]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        parts = [n for n in os.listdir(d) if ".part" in n]
        if parts:
            return parts
        time.sleep(0.05)
    raise AssertionError("the render never started writing")


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130,
                                                                                     "interrupted")])
def test_sigterm_stops_like_ctrl_c_and_leaves_nothing(tmp_path, sig, code, word):
    p = subprocess.Popen(cli("render", "-o", tmp_path / "x.wav", "--tail", "600", "--no-progress"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_part(tmp_path)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == code and err.strip() == f"fmcore: {word}" and "Traceback" not in err, err
    assert os.listdir(tmp_path) == []


def test_what_a_killed_render_left_is_removed_by_the_next_one(tmp_path):
    p = subprocess.Popen(cli("render", "-o", tmp_path / "x.wav", "--tail", "600", "--no-progress"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    (left,) = wait_for_part(tmp_path)
    p.kill()
    p.wait(timeout=60)
    assert f".fmcore-" in left and f"-{p.pid}-" in left
    # a write in progress (a live process) and another host's file are never touched
    live = subprocess.Popen(["sleep", "60"])
    try:
        from fmcore.atomicfile import _HOST

        busy = tmp_path / f".y.wav.fmcore-{_HOST}-{live.pid}-abcdefgh.part.wav"
        foreign = tmp_path / f".y.wav.fmcore-otherhost-{p.pid}-abcdefgh.part.wav"
        mine = tmp_path / "not-ours.part.wav"
        for f in (busy, foreign, mine):
            f.write_bytes(b"x")
        r = run_cli("render", TINY, "-o", tmp_path / "z.wav", "--tail", "0")
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(tmp_path)) == sorted([busy.name, foreign.name, mine.name, "z.wav"])
    finally:
        live.kill()
        live.wait()


def test_a_stop_signal_inside_libsndfiles_write_callback_still_stops_cleanly(tmp_path):
    """libsndfile writes through Python callbacks; an exception raised in one is swallowed by
    cffi and turns into a failed write ("writing failed", exit 2). A SIGTERM that lands in
    there must wait for the callback to return, then stop the render like any other."""
    code = f"""
import os, signal, numpy as np
from fmcore import interrupts
from fmcore.audiofile import AudioWriter, _Sink
interrupts.install()
real = _Sink.write
def write(self, data):
    os.kill(os.getpid(), signal.SIGTERM)        # the signal arrives inside the callback
    return real(self, data)
_Sink.write = write
try:
    with AudioWriter({str(tmp_path / 'x.wav')!r}, 48000) as w:
        w.write(np.zeros((2, 48000), np.float32))
except interrupts.Terminated:
    print("terminated", sorted(os.listdir({str(tmp_path)!r})))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Exception ignored" not in r.stderr, r.stderr
    assert r.stdout.strip() == "terminated []"
