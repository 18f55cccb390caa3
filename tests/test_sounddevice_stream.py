"""The sounddevice backend against a real clocked server (JACK's dummy backend), and what the CLI
says when a live-audio part is not installed.

Only what is deterministic is asserted: callbacks arrive at the period, the output is the offline
render, errors are one line. Timing under load is the stream timing tests' business.
Needs jackd (jackd2), the libportaudio2 runtime, python-sounddevice and JACK-Client; a missing
one is a failure, never a skip (`make test` installs them).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from jack_server import running

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RATE, PERIOD = 48000, 128


def _fail(what, exc):
    pytest.fail(f"{what} is required for the sounddevice tests: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def jack():
    import ctypes.util
    import importlib.util

    # not imported here: importing sounddevice initialises PortAudio, and with it libjack, in this process
    if importlib.util.find_spec("sounddevice") is None or ctypes.util.find_library("portaudio") is None:
        _fail("python-sounddevice and the PortAudio runtime (pip install sounddevice; apt-get install libportaudio2)",
              "not found")
    with running(RATE, PERIOD) as srv:
        yield srv


# Everything that talks to JACK runs in a child process: libjack binds a process to the first
# JACK server it reaches, and the stream tests' server comes after this one.
def _child(code, env, *args, timeout=120):
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cli(args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "fmcore.live_commands", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


_LIST = """
import json
from fmcore_rt import native_stream, sounddevice_stream
sd = [(d.index, d.name, d.host_api, d.max_output_channels, d.is_default_output) for d in sounddevice_stream._devices()]
na = [(d.index, d.name, d.host_api, d.max_output_channels, d.is_default_output) for d in native_stream._devices()]
print(json.dumps({"sd": sd, "native": na}))
"""


def test_lists_the_jack_output_as_the_native_binding_does(jack):
    try:
        import fmcore_rt.native_stream  # noqa: F401
    except ImportError as e:
        _fail("fmcore_rt.native_stream (apt-get install portaudio19-dev, then rebuild)", e)
    got = _child(_LIST, jack.env)
    outs = [d for d in got["sd"] if d[3] > 0]
    assert any("JACK" in d[2] and d[1] == "system" for d in outs), got
    assert sum(d[4] for d in got["sd"]) == 1
    assert got["sd"] == got["native"], "the same PortAudio: the same devices and indices"


_PLAY = """
import json, sys, time
import fmcore
from fmcore_rt.streams import open_stream
synth = fmcore.Synth(48000, max_voices=8, max_block=256)
synth.note_on(60, 100)
st = open_stream("sounddevice", synth, sample_rate=48000, frames_per_buffer=int(sys.argv[1]), channels=2)
with st:
    active, device = st.active, st.device.name
    time.sleep(1.0)
    s = st.stats
after = st.stats
print(json.dumps(dict(s.as_dict(), active=active, device=device, clock_frames=synth.clock.frames,
                      after_frames=after.frames, after_running=after.running, active_after=st.active,
                      error=st.error and str(st.error), text=s.format())))
"""


def test_callbacks_arrive_at_the_period_and_the_stream_stops_cleanly(jack):
    s = _child(_PLAY, jack.env, PERIOD)
    assert s["backend"] == "sounddevice" and s["active"] and s["running"] and s["device"] == "system"
    assert s["callbacks"] > 0.5 * RATE / PERIOD, s["text"]
    assert s["frames"] == s["callbacks"] * PERIOD and s["render_errors"] == 0
    assert s["clock_frames"] == s["after_frames"]           # every callback ran the processor once
    assert not s["active_after"] and s["error"] is None and not s["after_running"]


_LATE_SERVER = """
import json, os, sys, time
real = os.environ["JACK_DEFAULT_SERVER"]
os.environ["JACK_DEFAULT_SERVER"] = "fmcore-not-yet"     # PortAudio initialises with no JACK server
import sounddevice
import fmcore
from fmcore_rt import sounddevice_stream
before = [d.name for d in sounddevice_stream._devices()]
os.environ["JACK_DEFAULT_SERVER"] = real                 # then the server is there
st = sounddevice_stream.SoundDeviceStream(fmcore.Synth(48000), device="system")
with st:
    time.sleep(0.3)
print(json.dumps({"before": before, "device": st.device.name, "callbacks": st.stats.callbacks}))
"""


def test_a_server_that_appeared_after_import_is_found(jack):
    got = _child(_LATE_SERVER, jack.env)
    assert "system" not in got["before"], got
    assert got["device"] == "system" and got["callbacks"] > 0, got


_BAD_DEVICE = """
import json
import fmcore
from fmcore_rt.streams import AudioDeviceError, open_stream
st = open_stream("sounddevice", fmcore.Synth(48000), device=99)
try:
    st.start()
    msg = None
except AudioDeviceError as e:
    msg = str(e)
st.stop()
print(json.dumps({"msg": msg, "active": st.active}))
"""


def test_bad_device_is_one_clear_error(jack):
    got = _child(_BAD_DEVICE, jack.env)
    msg = got["msg"]
    assert msg and "\n" not in msg and "no output device 99" in msg and "'system'" in msg, msg
    assert not got["active"]


def _song(path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.Message("program_change", program=4, time=0))
    t_prev = 0
    events = []
    for i, n in enumerate([60, 64, 67, 72, 55]):
        on = 200 + i * 157                                  # odd tick offsets, off block boundaries
        events += [(on, "note_on", n, 100 - 7 * i), (on + 290, "note_off", n, 0)]
    for tick, kind, note, vel in sorted(events):
        tr.append(mido.Message(kind, note=note, velocity=vel, time=tick - t_prev))
        t_prev = tick
    mid.save(str(path))


@pytest.fixture
def jack_sync(jack):
    """A server in synchronous mode (jackd -S): each cycle waits for every client, so a client
    woken late on a loaded machine delays the cycle instead of leaving a part-silent buffer in
    what the recorder gets (seen once in CI: 114 underflows, one block not of the render)."""
    with running(RATE, PERIOD, sync=True) as srv:
        yield srv


def test_fmcore_play_with_sounddevice_plays_the_offline_render(jack_sync, tmp_path):
    from fmcore.render import render_midi

    jack = jack_sync

    song = tmp_path / "short.mid"
    _song(song)
    tail = 2.5                  # past the GM reverb's tail: playback stops after its last sound
    offline = render_midi(song, sample_rate=RATE, tail=tail, block=PERIOD, max_voices=32)
    assert np.abs(offline).max() > 0.05
    out = tmp_path / "rec.npy"
    recorder = subprocess.Popen([sys.executable, os.path.join(HERE, "jack_recorder.py"), jack.name, "fmcore-sdrec",
                                 str(out), "20"], env=jack.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        ready = recorder.stdout.readline().strip()
        assert ready == "ready", recorder.stderr.read()
        r = _cli(["play", str(song), "--backend", "sounddevice", "--tail", str(tail), "--buffer", str(PERIOD),
                  "--voices", "32", "--device", "fmcore-sdrec", "--no-mlock"], jack.env, timeout=60)
    finally:
        _, err = recorder.communicate("", timeout=30)
    assert recorder.returncode == 0, err
    assert r.returncode == 0, r.stderr
    assert "sounddevice stream on 'fmcore-sdrec'" in r.stdout and "0 late" in r.stdout, r.stdout

    # Each JACK cycle carries one callback's block, and both the recording and the render are
    # cut at cycle boundaries: every block that sounds must be a block of the offline render, to
    # the bit, in order. A cycle lost on a loaded machine (the server's timer or the recorder
    # late) is a missing or repeated block, never a wrong one; nearly all must be there.
    got = np.load(out)
    played = _blocks(got)
    want = {b.tobytes(): k for k, b in enumerate(_blocks(offline)) if b.any()}
    order = [want.get(b.tobytes()) for b in played if b.any()]
    wrong = sum(k is None for k in order)
    found = [k for k in order if k is not None]
    unique = set(found)
    assert wrong == 0, f"{wrong} of {len(order)} sounding blocks are not blocks of the offline render\n{r.stdout}"
    # (a block read twice is the recorder's miss: a late JACK client reads its last input again)
    bad = [(i, found[i - 1], found[i]) for i in range(1, len(found)) if found[i] < found[i - 1]]
    assert not bad, f"blocks out of order at {bad[:5]}\n{r.stdout}\n{jack.output()[-800:]}"
    assert len(unique) >= 0.9 * len(want), (f"only {len(unique)} of {len(want)} blocks recorded\n{r.stdout}\n"
                                           + jack.output()[-1500:])


def _blocks(x):
    n = x.shape[1] // PERIOD
    return np.ascontiguousarray(x[:, :n * PERIOD].reshape(2, n, PERIOD).transpose(1, 0, 2))


def test_server_killed_mid_stream_is_one_line_and_exits(jack):
    """A server that dies: one error line, exit 2, promptly; no hang in PortAudio at exit."""
    proc = None
    with running(RATE, PERIOD) as srv:
        try:
            proc = subprocess.Popen([sys.executable, "-m", "fmcore.live_commands", "play", "--backend", "sounddevice",
                                     "--no-mlock"], env=srv.env, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                lsp = subprocess.run(["jack_lsp", "-c", "-s", srv.name], env=srv.env, capture_output=True, text=True)
                if "PortAudio:" in lsp.stdout:
                    break
                time.sleep(0.05)
            time.sleep(1.0)
            assert proc.poll() is None, proc.communicate()
            srv.kill()
            t0 = time.monotonic()
            try:
                out, err = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                pytest.fail("fmcore play --backend sounddevice hung after the JACK server was killed")
            elapsed = time.monotonic() - t0
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fmcore: error: audio stream stopped"), err
    assert elapsed < 5.0, f"took {elapsed:.2f} s to stop"


# ---- what is missing, in one line ------------------------------------------------------------

_WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None            # as if it were not installed: importing it raises ImportError
from fmcore.live_commands import main
sys.exit(main(sys.argv[2:]))
"""


def _without(modules, args, env):
    return subprocess.run([sys.executable, "-c", _WITHOUT, ",".join(modules), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("modules, args, expected", [
    (["pyaudio"], ["play", "--backend", "pyaudio", "--tail", "0"],
     "fmcore: error: the pyaudio backend needs PyAudio: pip install pyaudio"),
    (["sounddevice"], ["play", "--backend", "sounddevice", "--tail", "0"],
     "fmcore: error: the sounddevice backend needs python-sounddevice: pip install sounddevice"),
    (["rtmidi"], ["live", "--list-ports"], "fmcore: error: MIDI input needs python-rtmidi: pip install python-rtmidi"),
    (["fmcore_rt.native_stream", "sounddevice", "pyaudio"], ["play", "--tail", "0"],
     "fmcore: error: no audio backend: fmcore_rt.native_stream was built without PortAudio's headers"),
])
def test_a_missing_part_is_one_line_saying_what_to_install(modules, args, expected):
    r = _without(modules, args, dict(os.environ))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), r.stderr


def test_auto_plays_on_sounddevice_when_the_native_stream_is_not_built(jack, tmp_path):
    song = tmp_path / "short.mid"
    _song(song)
    r = _without(["fmcore_rt.native_stream"], ["play", str(song), "--tail", "0", "--no-mlock"], jack.env)
    assert r.returncode == 0, r.stderr
    assert "\nsounddevice stream on 'system'" in r.stdout, r.stdout
