"""A Python caller cannot crash or hang the engine by entering it from two threads (issue 14.2).

``process`` from two threads at once on one synth, or ``reset()``/``settle()``/
``prepare()`` while another thread is in ``process()``, must raise a clear
``ProcessorBusyError`` (a ``RuntimeError``) and leave the synth working. Each
case runs in a child Python, so a crash is a failed test, not a dead pytest.
"""
import subprocess
import sys
import textwrap

import numpy as np

import fmcore
from fmcore_rt import ProcessorBusyError

PRELUDE = """
import json, threading, time
import numpy as np
import fmcore
from fmcore_rt import ProcessorBusyError

def busy_synth():
    s = fmcore.Synth(48000, max_voices=32, max_block=256)
    for n in range(32):
        s.note_on(36 + n, 100)
    return s

def run_for(seconds, fn):
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        fn()
"""


def child(code, timeout=60):
    r = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"child died ({r.returncode}):\n{r.stdout}\n{r.stderr[-3000:]}"
    return r.stdout


def test_process_from_two_threads_raises_instead_of_crashing():
    out = child("""
    s = busy_synth()
    counts = {"ok": 0, "busy": 0, "other": []}
    lock = threading.Lock()
    def worker():
        buf = np.zeros((2, 4096), np.float32)
        def once():
            try:
                s.process(buf, [(0, 0x90, 60, 100), (100, 0x80, 60, 0)])
                k = "ok"
            except ProcessorBusyError as e:
                assert "busy" in str(e) and "process()" in str(e), e
                k = "busy"
            with lock:
                counts[k] += 1
        run_for(1.5, once)
    ts = [threading.Thread(target=worker) for _ in range(2)]
    [t.start() for t in ts]; [t.join() for t in ts]
    after = s.process(np.zeros((2, 512), np.float32))      # still works
    print(json.dumps({"ok": counts["ok"], "busy": counts["busy"], "finite": bool(np.isfinite(after).all())}))
    """)
    res = eval(out.strip().splitlines()[-1].replace("true", "True").replace("false", "False"))
    assert res["ok"] > 0 and res["busy"] > 0 and res["finite"]


def test_reset_while_another_thread_processes_raises_and_never_hangs():
    out = child("""
    s = busy_synth()
    stop = threading.Event()
    rendered = [0]
    def render():
        buf = np.zeros((2, 8192), np.float32)
        while not stop.is_set():
            for n in range(32):              # a reset may have silenced them: keep the render long
                s.note_on(36 + n, 100)
            s.process(buf)
            rendered[0] += 1
    t = threading.Thread(target=render)
    t.start()
    refused = done = 0
    def once():
        global refused, done
        s.all_sound_off()
        wait = time.monotonic() + 0.05
        while not s.busy and time.monotonic() < wait:   # aim at a render in progress
            time.sleep(0)
        try:
            s.reset()
            done += 1
        except ProcessorBusyError as e:
            assert "reset()" in str(e) and "process()" in str(e), e
            refused += 1
    run_for(1.5, once)
    stop.set(); t.join(30)
    assert not t.is_alive(), "process() never returned"
    s.reset()
    s.note_on(60, 100)
    a = s.process(np.zeros((2, 4800), np.float32))
    print(refused, done, rendered[0], float(np.abs(a).max()))
    """)
    refused, done, rendered, peak = out.split()
    assert int(refused) > 0 and int(rendered) > 0
    assert float(peak) > 0.01                 # a note after the race sounds


def test_busy_is_deterministic_while_a_render_runs():
    # one thread inside a long process(): every entry point refuses, naming what it collided with
    s = fmcore.Synth(48000, max_voices=64, max_block=1024)
    for n in range(64):
        s.note_on(30 + n, 100)
    import threading
    import time

    long_buf = np.zeros((2, 48000 * 20), np.float32)
    t = threading.Thread(target=s.process, args=(long_buf,))
    t.start()
    deadline = time.monotonic() + 10
    while not s.busy and time.monotonic() < deadline:
        time.sleep(0.0005)
    try:
        assert s.busy, "the render thread never entered process()"
        calls = {
            "process()": lambda: s.process(np.zeros((2, 64), np.float32)),
            "reset()": s.reset,
            "settle()": s.settle,
            "prepare()": lambda: s.prepare(48000, 1024),
        }
        for name, call in calls.items():
            try:
                call()
            except ProcessorBusyError as e:
                assert isinstance(e, RuntimeError)
                assert name in str(e) and "busy in process()" in str(e), str(e)
            else:
                raise AssertionError(f"{name} ran while another thread was in process()")
    finally:
        t.join(60)
    assert not s.busy
    s.reset()                                 # free again: everything works
    assert np.isfinite(s.process(np.zeros((2, 256), np.float32))).all()


def test_process_when_busy_can_give_silence_and_count_it():
    # what an audio callback does: never wait, output silence, count the block
    from fmcore_rt.rtcheck._selftest import CleanProcessor
    import threading
    import time

    p = CleanProcessor()
    p.prepare(48000, 65536)
    big = np.zeros((2, 65536 * 40), np.float32)
    t = threading.Thread(target=p.process, args=(big,))
    t.start()
    deadline = time.monotonic() + 10
    while not p.busy and time.monotonic() < deadline:
        time.sleep(0.0005)
    try:
        assert p.busy
        out = np.ones((2, 128), np.float32)
        p.process(out, when_busy="silence")
        assert not out.any() and p.busy_skips == 1
    finally:
        t.join(60)
    out = np.zeros((2, 128), np.float32)
    p.process(out, when_busy="silence")
    assert out.any() and p.busy_skips == 1


def test_when_busy_is_checked():
    s = fmcore.Synth(48000, max_voices=4, max_block=64)
    try:
        s.process(np.zeros((2, 64), np.float32), when_busy="wait")
    except ValueError as e:
        assert "when_busy" in str(e)
    else:
        raise AssertionError("when_busy='wait' accepted")
    assert issubclass(ProcessorBusyError, RuntimeError)


def _hold_in_process(p, frames):
    """Start a thread inside ``p.process`` on a long buffer; return it once ``p.busy``."""
    import threading
    import time

    t = threading.Thread(target=p.process, args=(np.zeros((2, frames), np.float32),))
    t.start()
    deadline = time.monotonic() + 10
    while not p.busy and time.monotonic() < deadline:
        time.sleep(0.0005)
    assert p.busy, "the render thread never entered process()"
    return t


def test_the_native_callback_gives_silence_when_busy_and_renders_when_free():
    from fmcore_rt import _stress
    from fmcore_rt.rtcheck._selftest import CleanProcessor

    p = CleanProcessor()
    p.prepare(48000, 65536)
    t = _hold_in_process(p, 65536 * 40)
    try:
        out = _stress.run_callback_once(p, 2, 300)       # PortAudio's buffer, split at max_block
        assert not out.any() and p.busy_skips == 1
    finally:
        t.join(60)
    p.prepare(48000, 128)
    out = _stress.run_callback_once(p, 2, 300)           # free: rendered (1.0 + the sine), 3 blocks
    assert (out != 1.0).mean() > 0.9 and p.busy_skips == 1
    assert p.clock.frames == 300


STREAM_BUSY = """
import json, sys, threading, time
import numpy as np
import fmcore
from fmcore_rt.native_stream import NativeStream
from fmcore_rt.pyaudio_stream import PyAudioStream
from fmcore_rt import ProcessorBusyError
synth = fmcore.Synth(48000, max_voices=64, max_block=256)
for i in range(64):
    synth.note_on(30 + i, 90)
cls = NativeStream if sys.argv[1] == "native" else PyAudioStream
long = np.zeros((2, 48000 * 8), np.float32)
with cls(synth, 48000, 128, 2) as st:
    time.sleep(0.3)
    before = st.stats
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:      # the main thread keeps the synth busy rendering offline
        try:
            synth.process(long)
        except ProcessorBusyError:          # the callback was inside at that moment: it is refused, not
            time.sleep(0.0005)             # made to wait; try again once the callback has left
    during = st.stats
    time.sleep(0.5)
    after = st.stats
print(json.dumps({"skips": [before.busy_skips, during.busy_skips, after.busy_skips],
                  "callbacks": [before.callbacks, during.callbacks, after.callbacks],
                  "active": st.error is None}))
"""


def test_a_stream_whose_processor_is_busy_outputs_silence_counts_it_and_keeps_running():
    import json
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from jack_server import running

    with running(48000, 128) as srv:
        for backend in ("native", "pyaudio"):
            r = subprocess.run([sys.executable, "-c", STREAM_BUSY, backend], env=srv.env, capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0, f"{backend}: {r.stderr[-3000:]}"
            res = json.loads(r.stdout.strip().splitlines()[-1])
            skips, calls = res["skips"], res["callbacks"]
            assert skips[0] == 0 and skips[1] > 0, (backend, res)          # busy while rendering offline
            assert calls[2] > calls[1] > calls[0], (backend, res)          # never stalled
            assert skips[2] - skips[1] < calls[2] - calls[1], (backend, res)   # free again: renders
            assert res["active"], (backend, res)
