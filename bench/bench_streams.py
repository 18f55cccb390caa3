"""Live streams on JACK's dummy server: callback durations against the deadline, idle and under a GIL hog.

Per period (64/128/256 frames), backend (native, pyaudio) and load (idle main
thread, a CPU-bound pure-Python thread, or a thread in long C calls that hold the GIL), one run of
`stream_probe.py` in its own process plays 16 voices for a few seconds and
records the callback-duration histogram, percentiles, the deadline, PortAudio's
underflow count, each callback's own CPU time, and the server's view: cycles
its timer started late and cycles JACK reports the stream's client missed.
These counts live here and not in the tests: on a shared virtual machine even a
real-time thread can wake milliseconds late whatever it does.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().parent / "stream_probe.py"
SECONDS = 5.0


@pytest.mark.parametrize("load", ["idle", "gil_hog", "c_gil_hog"])
@pytest.mark.parametrize("backend", ["native", "pyaudio"])
@pytest.mark.parametrize("period", [64, 128, 256])
def test_stream_callbacks(benchmark, period, backend, load):
    result = {}

    def run():
        r = subprocess.run([sys.executable, str(PROBE), backend, load, str(period), str(SECONDS)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        result.update(json.loads(r.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
