"""One live-stream measurement in its own process (libjack talks to one JACK server per process).

``python bench/stream_probe.py BACKEND LOAD PERIOD SECONDS`` starts JACK's dummy server at
PERIOD frames (real-time when permitted, as the tests run it), plays 16 voices through BACKEND
(native|pyaudio) with the main thread idle or running a GIL hog (pure Python, or C code holding
the GIL), and prints as JSON the stream's stats and callback histogram, the underflows PortAudio
flagged, the callbacks' own CPU time, and what the server's log says: cycles its timer started
late (``server_late``) and cycles JACK reports the stream's client had not finished
(``client_missed``, by state). Reported, never asserted: on a shared virtual machine they
depend on the host as much as on the stream.
"""
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

RATE = 48000


def hog(stop):
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x = (x * 31 + i) % 1000003


def c_hog(stop):
    # one C call holding the GIL for tens of milliseconds at a time
    while not stop.is_set():
        sum(range(3_000_000))


def main(backend, load, period, seconds):
    from jack_server import JackServer

    import fmcore

    with JackServer(RATE, period) as srv:
        os.environ["JACK_DEFAULT_SERVER"] = srv.name
        if backend == "native":
            from fmcore_rt.native_stream import NativeStream as cls
        else:
            from fmcore_rt.pyaudio_stream import PyAudioStream as cls
        before = srv.counts()
        synth = fmcore.Synth(RATE, max_voices=16, max_block=period)
        for i in range(16):
            synth.note_on(36 + 3 * i, 90)
        stop = threading.Event()
        target = {"gil_hog": hog, "c_gil_hog": c_hog}.get(load)
        t = threading.Thread(target=target, args=(stop,), daemon=True) if target else None
        with cls(synth, RATE, period, 2, lock_memory=True) as st:
            if t:
                t.start()
            time.sleep(seconds)
            stop.set()
        s = st.stats
        if t:
            t.join()
        server = srv.since(before, srv.counts())
        edges, counts = synth.timing.histogram()
        out = dict(backend=backend, load=load, block=period, voices=16, callbacks=s.callbacks,
                   expected_callbacks=int(s.seconds * RATE / period), underflows=s.underflows,
                   deadline_us=s.deadline_us, p50_us=s.p50_us, p99_us=s.p99_us, max_us=s.max_us,
                   cpu_mean_us=s.cpu_mean_us, cpu_p50_us=s.cpu_p50_us, cpu_p99_us=s.cpu_p99_us,
                   cpu_max_us=s.cpu_max_us, cpu_overruns=s.cpu_overruns,
                   stalls=s.stalls, server_late=server["driver_late"], client_missed=server["client_missed"],
                   client_misses=server["client_misses"], server_realtime=srv.realtime,
                   hist_edges_us=list(edges), hist_counts=list(counts), realtime=s.realtime)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
