"""A JACK server with the dummy backend (a real clocked audio server, no sound card) for tests.

``JackServer(rate=48000, period=128)`` starts ``jackd --no-realtime -n <unique name>
-d dummy -r <rate> -p <period>`` and waits until it accepts clients; ``env`` is the
environment (``JACK_DEFAULT_SERVER``) under which PortAudio, PyAudio and JACK-Client
reach it. ``kill()`` ends it abruptly (the fault tests), ``stop()`` cleanly.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid


class JackUnavailable(RuntimeError):
    pass


def jackd_path() -> str | None:
    return shutil.which("jackd")


def _jackd_running() -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "jackd":
                        return True
            except OSError:
                pass
    return False


def clean_stale_shm() -> None:
    """Remove JACK's shared-memory files when no jackd runs.

    A server killed with SIGKILL (the fault test) leaves its entry in JACK's shm registry, and
    jackd refuses to start once the registry is full ("Too many servers already active").
    """
    if _jackd_running():
        return
    for name in os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else []:
        if name.startswith(("jack-", "jack_", "jack.")):
            try:
                os.unlink(os.path.join("/dev/shm", name))
            except OSError:
                pass


def _die_with_parent() -> None:
    # the server must not outlive a test process that crashed
    import ctypes
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def raise_threads(pid: int, priority: int = 40) -> bool:
    """Put every thread of process ``pid`` at SCHED_FIFO ``priority``; False if not permitted.

    ``--no-realtime`` keeps jackd from asking for real-time scheduling itself (it may not be
    allowed in CI). When this process may grant it, the server's driver thread runs on time
    even on a loaded machine, so the underflows a test counts are the client's own.
    """
    if os.environ.get("FMCORE_JACK_NO_RT"):
        return False
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            os.sched_setscheduler(int(tid), os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (OSError, AttributeError, ValueError):
        return False


class JackServer:
    def __init__(self, rate: int = 48000, period: int = 128, name: str | None = None):
        self.rate = rate
        self.period = period
        self.name = name or f"fmtest-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.proc: subprocess.Popen | None = None
        #: the server's threads were put at real-time priority (a steadier clock)
        self.realtime = False
        self.log = tempfile.NamedTemporaryFile("w+", prefix="jackd-", suffix=".log", delete=False)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["JACK_DEFAULT_SERVER"] = self.name
        env["JACK_NO_AUDIO_RESERVATION"] = "1"
        return env

    def start(self, timeout: float = 10.0) -> "JackServer":
        exe = jackd_path()
        if exe is None:
            raise JackUnavailable("jackd not found (apt-get install --no-install-recommends jackd2)")
        clean_stale_shm()
        cmd = [exe, "--no-realtime", "-n", self.name, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JackUnavailable(f"jackd exited with {self.proc.returncode}: {self.output()[-2000:]}")
            if self._ready():
                self.realtime = raise_threads(self.proc.pid)
                return self
            time.sleep(0.1)
        self.stop()
        raise JackUnavailable(f"jackd did not come up in {timeout} s: {self.output()[-2000:]}")

    def _ready(self) -> bool:
        # A process can only be a client of one JACK server (libjack keeps per-process state),
        # so the readiness probe runs in a subprocess: jack_lsp, from jackd2's tools.
        lsp = shutil.which("jack_lsp")
        if lsp is None:
            raise JackUnavailable("jack_lsp not found (it comes with jackd2)")
        r = subprocess.run([lsp, "-s", self.name], env=self.env, capture_output=True, text=True, timeout=10)
        return r.returncode == 0 and "system:playback_1" in r.stdout

    def output(self) -> str:
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def xruns_logged(self) -> int:
        """XRuns the server itself logged so far."""
        return self.output().count("XRun")

    def driver_late(self) -> int:
        """Cycles the dummy driver's own timer started late ("JackTimedDriver::Process XRun").

        On a machine without real-time scheduling (a VM) the server's timer thread can wake
        milliseconds late; JACK then reports an xrun to every client, which PortAudio passes on as
        an output underflow, whatever the client did."""
        return self.output().count("JackTimedDriver::Process XRun")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.killed = True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def close(self) -> None:
        killed = getattr(self, "killed", False)
        self.stop()
        if killed:
            clean_stale_shm()
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
