"""Live audio streams against a real clocked audio server: JACK's dummy backend.

Needs jackd (jackd2), libportaudio with its JACK host API (portaudio19-dev, for the
native stream and PyAudio), and the Python packages pyaudio and JACK-Client. A missing
one is a failure, never a skip: `make test` installs them.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from jack_server import JackServer, JackUnavailable

import fmcore
from fmcore_rt.streams import AudioDeviceError, list_devices, select_device

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RATE, PERIOD = 48000, 128


def _need(what: str, exc: BaseException):
    pytest.fail(f"{what} is required for the live tests: {exc}", pytrace=False)


try:
    from fmcore_rt.native_stream import NativeStream
except ImportError as e:  # pragma: no cover - reported by the tests that need it
    NativeStream = None
    _native_error = e
from fmcore_rt.pyaudio_stream import PyAudioStream


def _backend(name):
    if name == "native":
        if NativeStream is None:
            _need("fmcore_rt.native_stream (apt-get install portaudio19-dev, then rebuild)", _native_error)
        return NativeStream
    try:
        import pyaudio  # noqa: F401
    except ImportError as e:
        _need("PyAudio (pip install pyaudio)", e)
    return PyAudioStream


@pytest.fixture(scope="module")
def jack():
    srv = JackServer(RATE, PERIOD)
    try:
        srv.start()
    except JackUnavailable as e:
        srv.close()
        _need("a JACK server (apt-get install --no-install-recommends jackd2)", e)
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = srv.name
    try:
        yield srv
    finally:
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old
        srv.close()


def _realtime_thread(priority: int = 60) -> None:
    """Put the calling thread (a JACK client's process thread) at SCHED_FIFO where permitted."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError:
        pass


# ---- devices and errors ---------------------------------------------------------------------

def test_devices_lists_the_jack_output(jack):
    devs = list_devices()
    assert any("JACK" in d.host_api for d in devs), devs
    assert sum(d.is_default_output for d in devs) == 1
    assert select_device(None, 2, devs).is_default_output


@pytest.mark.parametrize("backend", ["native", "pyaudio"])
def test_bad_device_index_is_one_clear_error(jack, backend):
    cls = _backend(backend)
    st = cls(fmcore.Synth(RATE), device=99)
    with pytest.raises(AudioDeviceError) as ei:
        st.start()
    # nothing left open: a JACK client of this process would keep the name "fmcore"
    lsp = subprocess.run(["jack_lsp", "-s", jack.name], capture_output=True, text=True).stdout
    assert "fmcore:" not in lsp, lsp
    msg = str(ei.value)
    assert "\n" not in msg
    assert "no output device 99" in msg and "'system'" in msg and "JACK" in msg
    assert not st.active
    st.stop()


def _cli(args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "fmcore.live_commands", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_bad_device_and_no_device(jack):
    r = _cli(["play", "--device", "42", "--tail", "0"], jack.env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("fmcore: error: no output device 42; available output devices: 0 'system'")
    # no server at all: nothing to play on, said in one line (ALSA/JACK chatter silenced)
    env = dict(jack.env, JACK_DEFAULT_SERVER="fmcore-no-such-server")
    r = _cli(["play", "--tail", "0"], env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no output device at all" in lines[0], r.stderr
    r = _cli(["devices"], jack.env)
    assert r.returncode == 0 and "* " in r.stdout and "JACK Audio Connection Kit" in r.stdout, r.stdout


def test_cli_live_without_midi_port_says_so(jack):
    r = _cli(["live", "--midi-api", "jack", "--seconds", "1"], jack.env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no MIDI input port found" in lines[0], r.stderr


def test_cli_registers_the_live_commands():
    from fmcore.cli import build_parser

    parser = build_parser()
    for cmd in (["devices"], ["play", "x.mid"], ["live", "--list-ports"]):
        assert callable(parser.parse_args(cmd).func), cmd


# ---- timing ------------------------------------------------------------------------------

# The timing runs happen in a fresh child process, as a user's playing process would: this
# long test process holds threads and objects from earlier tests (Ray, thread pools) that can
# take the GIL from a PyAudio callback at any moment.
_TIMING_RUN = """
import json, sys, threading, time
import fmcore
from fmcore_rt.native_stream import NativeStream
from fmcore_rt.pyaudio_stream import PyAudioStream
backend, seconds, load = sys.argv[1], float(sys.argv[2]), sys.argv[3]
synth = fmcore.Synth(48000, max_voices=16, max_block=256)
for i in range(16):
    synth.note_on(36 + 3 * i, 90, channel=0)
stop = threading.Event()
def spin():                 # pure-Python bytecode: yields the GIL at each switch interval
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x = (x * 31 + i) % 1000003
def spin_c():               # one C call holding the GIL for tens of milliseconds at a time
    while not stop.is_set():
        sum(range(3_000_000))
cls = NativeStream if backend == "native" else PyAudioStream
with cls(synth, 48000, 128, 2, lock_memory=True) as st:
    t = threading.Thread(target={"hog": spin, "c_hog": spin_c}[load], daemon=True) if load != "idle" else None
    if t:
        t.start()
    time.sleep(seconds)
    s = st.stats
    stop.set()
out = s.as_dict()
out.update(clock_frames=synth.clock.frames, active=st.active, error=st.error and str(st.error),
           text=s.format())
print(json.dumps(out))
"""


def _timing_run(jack, backend, seconds, load="idle"):
    _backend(backend)
    late0 = jack.driver_late()
    r = subprocess.run([sys.executable, "-c", _TIMING_RUN, backend, str(seconds), load],
                       env=jack.env, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60)
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(r.stdout.strip().splitlines()[-1])
    s["server_late"] = jack.driver_late() - late0
    return s


@pytest.mark.parametrize("backend", ["native", "pyaudio"])
def test_ten_seconds_at_the_expected_rate_without_underflows(jack, backend):
    s = _timing_run(jack, backend, 10.0)
    expected = RATE / PERIOD
    assert abs(s["callback_rate"] - expected) / expected < 0.02, s["text"]
    assert s["frames"] == s["callbacks"] * PERIOD
    # Zero underflows caused by the stream: every callback within its deadline, and no underflow
    # beyond the cycles the server's own timer started late (see JackServer.driver_late).
    assert s["overruns"] == 0 and s["max_us"] < s["deadline_us"], s["text"]
    assert s["underflows"] <= s["server_late"], s["text"] + "\n" + jack.output()[-2000:]
    assert s["render_errors"] == 0
    assert s["p50_us"] < s["deadline_us"]
    assert s["clock_frames"] == s["frames"]
    assert s["voices_stolen"] == 0 and s["events_dropped"] == 0
    assert not s["active"] and s["error"] is None


@pytest.mark.parametrize("load", ["hog", "c_hog"])
def test_native_stream_survives_a_gil_hog(jack, load):
    s = _timing_run(jack, "native", 20.0 if load == "hog" else 5.0, load)
    assert s["callbacks"] >= 0.98 * s["seconds"] * RATE / PERIOD, s["text"]
    assert s["overruns"] == 0 and s["max_us"] < s["deadline_us"], s["text"]
    assert s["underflows"] <= s["server_late"], s["text"] + "\n" + jack.output()[-2000:]
    assert s["realtime"] is not None


def test_pyaudio_stream_misses_deadlines_when_c_code_holds_the_gil(jack):
    """The failure NativeStream exists to prevent, shown to be real (and the checks above able to fail).

    Against a pure-Python hog PyAudioStream holds up (short switch interval, real-time
    priority), but no callback that needs the GIL can run while C code holds it."""
    s = _timing_run(jack, "pyaudio", 5.0, "c_hog")
    assert s["underflows"] > s["server_late"] + 10, s["text"]


# ---- faults ------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["native", "pyaudio"])
def test_server_killed_mid_stream_stops_with_a_clear_error(backend):
    """`fmcore play` on a server that dies: one error line, exit 2, within a second, no hang."""
    _backend(backend)
    from fmcore.render import demo_song_path

    srv = JackServer(RATE, PERIOD)
    try:
        srv.start()
    except JackUnavailable as e:
        srv.close()
        _need("a JACK server", e)
    try:
        # one process talks to one JACK server: look at this one through jack_lsp
        proc = subprocess.Popen([sys.executable, "-m", "fmcore.live_commands", "play", str(demo_song_path()),
                                 "--backend", backend, "--no-mlock"],
                                env=srv.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            lsp = subprocess.run(["jack_lsp", "-s", srv.name], env=srv.env, capture_output=True, text=True)
            if any(ln.startswith(("fmcore:", "PortAudio:", "python")) for ln in lsp.stdout.splitlines()):
                break
            time.sleep(0.05)
        time.sleep(1.0)                  # playing
        assert proc.poll() is None, proc.communicate()
        srv.kill()
        t0 = time.monotonic()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("fmcore play hung after the JACK server was killed")
        elapsed = time.monotonic() - t0
    finally:
        srv.close()
    assert proc.returncode == 2, (out, err)
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("fmcore")]
    assert len(lines) == 1 and lines[0].startswith("fmcore: error: audio stream stopped"), err
    assert elapsed < 1.0, f"took {elapsed:.2f} s to stop"


# ---- what plays live is the offline render --------------------------------------------------

def _write_song(path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("program_change", program=4, channel=0, time=0))
    tr.append(mido.Message("program_change", program=33, channel=1, time=0))
    notes = [(60, 0), (64, 0), (67, 1), (72, 0), (48, 1), (65, 0), (69, 0), (43, 1)]
    t_prev = 0
    events = []
    for i, (n, ch) in enumerate(notes):
        on = 240 + i * 137 + 7                      # ticks: odd offsets, not on block boundaries
        events.append((on, "note_on", n, 100 - 5 * i, ch))
        events.append((on + 300 + 11 * i, "note_off", n, 0, ch))
    events.append((400, "pitchwheel", 1000, 0, 0))
    events.append((700, "control_change", 1, 90, 0))
    events.sort()
    for tick, kind, a, b, ch in events:
        dt = tick - t_prev
        t_prev = tick
        if kind == "note_on":
            tr.append(mido.Message("note_on", note=a, velocity=b, channel=ch, time=dt))
        elif kind == "note_off":
            tr.append(mido.Message("note_off", note=a, velocity=0, channel=ch, time=dt))
        elif kind == "pitchwheel":
            tr.append(mido.Message("pitchwheel", pitch=a, channel=ch, time=dt))
        else:
            tr.append(mido.Message("control_change", control=a, value=b, channel=ch, time=dt))
    mid.save(str(path))


def test_live_playback_equals_the_offline_render(jack, tmp_path):
    try:
        import jack as jackc
    except ImportError as e:
        _need("JACK-Client (pip install JACK-Client)", e)
    from scipy.signal import correlate
    from fmcore.render import render_midi

    song = tmp_path / "short.mid"
    _write_song(song)
    tail = 2.5                  # past the GM reverb's tail: playback stops after its last sound
    offline = render_midi(song, sample_rate=RATE, tail=tail, block=PERIOD, max_voices=32)
    assert np.abs(offline).max() > 0.05

    cap = RATE * 12
    rec = np.zeros((2, cap), np.float32)
    pos = [0, False]
    client = jackc.Client("fmcore-recorder", servername=jack.name, no_start_server=True)
    ins = [client.inports.register(f"in_{i}") for i in range(2)]

    @client.set_process_callback
    def process(frames):
        if not pos[1]:
            pos[1] = True
            _realtime_thread()          # the recorder must not miss a cycle either
        p = pos[0]
        n = min(frames, cap - p)
        if n > 0:
            rec[0, p:p + n] = ins[0].get_array()[:n]
            rec[1, p:p + n] = ins[1].get_array()[:n]
            pos[0] = p + n

    # The recorder is a Python callback: keep a full garbage collection of this long test
    # process from holding the GIL past a JACK cycle (a missed cycle is a gap in the recording).
    gc.collect()
    gc.freeze()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    late0 = jack.driver_late()
    client.activate()
    try:
        # PortAudio lists JACK clients with input ports as output devices: play straight into ours
        proc = subprocess.run([sys.executable, "-m", "fmcore.live_commands", "play", str(song), "--tail",
                               str(tail), "--buffer", str(PERIOD), "--voices", "32", "--device", "fmcore-recorder"],
                              env=jack.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        out, err = proc.stdout, proc.stderr
    finally:
        client.deactivate()
        client.close()
        gc.unfreeze()
        sys.setswitchinterval(interval)
    assert proc.returncode == 0, err
    # (connecting the recorder mid-stream makes JACK report one xrun: underflows are not checked here)
    assert "0 late" in out, out

    got = rec[:, :pos[0]]
    n = offline.shape[1]
    first = int(np.flatnonzero(np.abs(offline).max(axis=0) > 0)[0])
    # align by cross-correlation (the recording may start a few periods after the stream)
    padded = np.concatenate([np.zeros(n, np.float32), got[0], np.zeros(n, np.float32)])
    c = correlate(padded, offline[0], mode="valid", method="fft")
    lag = int(np.argmax(c)) - n             # offline sample i is recorded at i + lag
    lo = max(0, -lag)
    hi = min(n, got.shape[1] - lag)
    assert lo <= first and hi == n, f"recording covers offline samples {lo}..{hi} of {n} (sound from {first})"
    d = np.abs(got[:, lo + lag:hi + lag] - offline[:, lo:hi]).max(axis=0)
    diff = float(d.max())
    bad = np.flatnonzero(d > 1e-4)
    assert diff <= 1e-4, (f"lag {lag}: max abs difference {diff}, first at offline sample "
                          f"{lo + int(bad[0])} of {n}; server timer late {jack.driver_late() - late0} times\n"
                          + jack.output()[-1500:])
    assert np.abs(got[:, lo + lag:hi + lag]).max() > 0.05


def test_cli_live_plays_notes_from_a_jack_midi_port(jack):
    """`fmcore live` reads a real MIDI port (a JACK MIDI output of this test) and plays what arrives."""
    import jack as jackc

    client = jackc.Client("fmcore-keys", servername=jack.name, no_start_server=True)
    midi_out = client.midi_outports.register("keys")
    ins = [client.inports.register(f"in_{i}") for i in range(2)]
    cap = RATE * 10
    rec = np.zeros((2, cap), np.float32)
    # a note every quarter second, released an eighth later: (frame after start, message)
    script = sorted([(k * RATE // 4, bytes([0x90, 60 + 2 * k, 100])) for k in range(4)]
                    + [(k * RATE // 4 + RATE // 8, bytes([0x80, 60 + 2 * k, 0])) for k in range(4)])
    state = {"pos": 0, "send_from": None, "sent": 0}

    @client.set_process_callback
    def process(frames):
        midi_out.clear_buffer()
        p = state["pos"]
        n = min(frames, cap - p)
        if n > 0:
            rec[0, p:p + n] = ins[0].get_array()[:n]
            rec[1, p:p + n] = ins[1].get_array()[:n]
            state["pos"] = p + n
        start = state["send_from"]
        while start is not None and state["sent"] < len(script) and p - start >= script[state["sent"]][0]:
            midi_out.write_midi_event(0, script[state["sent"]][1])
            state["sent"] += 1

    client.activate()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "fmcore.live_commands", "live", "--midi-api", "jack",
                                 "--midi-in", "fmcore-keys", "--seconds", "4", "--device", "fmcore-keys"],
                                env=jack.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # start sending once fmcore is connected to our MIDI port
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not client.get_all_connections(midi_out):
            time.sleep(0.05)
        assert client.get_all_connections(midi_out), "fmcore live never connected to the MIDI port"
        state["send_from"] = state["pos"] + RATE // 10
        out, err = proc.communicate(timeout=60)
    finally:
        client.deactivate()
        client.close()
    assert proc.returncode == 0, err
    assert "8 played" in out, out
    start = state["send_from"]
    got = rec[:, :state["pos"]]
    assert np.abs(got[:, :start]).max() == 0, "silence before the first note"
    assert np.abs(got[:, start:start + RATE * 2]).max() > 0.05, "the notes sound"
