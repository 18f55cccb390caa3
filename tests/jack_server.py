"""A JACK server with the dummy backend (a real clocked audio server, no sound card) for tests.

``JackServer(rate=48000, period=128)`` starts ``jackd -R -P 70 -n <unique name> -d dummy
-r <rate> -p <period>`` the way a real-time user runs it: the server's driver thread at
SCHED_FIFO 70 and its clients' process threads at 65 (JACK gives clients five less). Where
this process may not use SCHED_FIFO (not root, no rtprio limit) or ``FMCORE_JACK_NO_RT`` is
set, it falls back to ``--no-realtime`` and says why in ``realtime_note``. It waits until the
server accepts clients; ``env`` is the environment (``JACK_DEFAULT_SERVER``) under which
PortAudio, PyAudio and JACK-Client reach it. ``kill()`` ends it abruptly (the fault tests),
``stop()`` cleanly. ``running(...)``: a started server for one test or fixture, closed after;
one that cannot start fails the test saying what to install (never a skip: CI installs it).

What the server's log says about a run, counted (``counts()``, compare two with ``since``):

- ``driver_late``: cycles the dummy driver's own timer started late. The server's fault (or the
  machine's), never a client's.
- ``client_misses``: JACK's "client = NAME was not finished" per client and state: at the
  start of a cycle, that client had not finished the previous one. ``Triggered``: it had not
  even started (its thread was not run in time); ``Running``: it started but did not finish.

JACK tells its clients only that *some* xrun happened (PortAudio turns every one into an
output-underflow flag on every stream, JACK-Client's xrun callback likewise gets no client
name), so the server's log is the one place that says whose cycle it was.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid


class JackUnavailable(RuntimeError):
    pass


class JackNotRealtimeWarning(UserWarning):
    """The test server runs without real-time scheduling (its ``realtime_note`` says why)."""


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


# JACK's shm registry (jack2 common/shm.h): a header, then MAX_SERVERS slots of (pid, name).
_REGISTRY = "/dev/shm/jack-shm-registry"
_JACK_SHM_MAGIC = 0x4A41434B
_MAX_SERVERS = 8
_SERVER_SLOT = 264                 # pid_t + char[257], padded
_SERVERS_AT = 24
_JACK_SEMAPHORE_KEY = 0x282929     # the SysV semaphore jackd locks the registry with


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def prune_dead_servers() -> int:
    """Free the registry slots of JACK servers whose process is gone; returns how many.

    JACK keeps 8 server slots and reclaims a dead server's slot only when a server of the same
    name starts again. Test servers have unique names and the fault tests kill theirs, so on a
    machine where some jackd is always running (several test sessions at once) the slots fill
    up and jackd refuses to start ("Too many servers already active"). Done under the registry's
    own lock, touching only slots whose process no longer exists.
    """
    import ctypes
    import mmap
    import struct

    if not os.path.exists(_REGISTRY):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)

    class SemBuf(ctypes.Structure):
        _fields_ = [("sem_num", ctypes.c_ushort), ("sem_op", ctypes.c_short), ("sem_flg", ctypes.c_short)]

    semid = libc.semget(_JACK_SEMAPHORE_KEY, 0, 0)
    if semid < 0:
        return 0
    SEM_UNDO = 0x1000
    if libc.semop(semid, ctypes.byref(SemBuf(0, -1, SEM_UNDO)), 1) != 0:
        return 0
    freed = 0
    try:
        with open(_REGISTRY, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
            if len(m) < _SERVERS_AT + _MAX_SERVERS * _SERVER_SLOT:
                return 0
            magic, _, _, _, hdr_len, _ = struct.unpack_from("<IHxxiIII", m, 0)
            if magic != _JACK_SHM_MAGIC or hdr_len != _SERVERS_AT + _MAX_SERVERS * _SERVER_SLOT:
                return 0            # not the layout this code knows: leave it alone
            for i in range(_MAX_SERVERS):
                off = _SERVERS_AT + i * _SERVER_SLOT
                (pid,) = struct.unpack_from("<i", m, off)
                if pid > 0 and not _pid_alive(pid):
                    m[off:off + _SERVER_SLOT] = bytes(_SERVER_SLOT)
                    freed += 1
    finally:
        libc.semop(semid, ctypes.byref(SemBuf(0, 1, SEM_UNDO)), 1)
    return freed


def _die_with_parent() -> None:
    # the server must not outlive a test process that crashed
    import ctypes
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


#: SCHED_FIFO priority of the server's driver thread (clients get 5 less: 65)
RT_PRIORITY = 70


def realtime_permitted(priority: int = RT_PRIORITY) -> tuple[bool, str]:
    """Whether this process may run threads at SCHED_FIFO ``priority`` (as jackd -R would), and why not.

    Tried for real on a short-lived thread: root, CAP_SYS_NICE or an rtprio limit all allow it.
    """
    if os.environ.get("FMCORE_JACK_NO_RT"):
        return False, "FMCORE_JACK_NO_RT is set"
    result = []

    def probe():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))   # this thread only
            result.append((True, ""))
        except (OSError, AttributeError) as e:
            result.append((False, f"SCHED_FIFO {priority} not permitted ({getattr(e, 'strerror', None) or e})"))

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return result[0]


def _thread_policies(pid: int) -> list[int]:
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out.append(os.sched_getscheduler(int(tid)))
        except OSError:
            pass
    return out


_NOT_FINISHED = re.compile(r"JackEngine::XRun: client = (.+?) was not finished, state = (\w+)")


class JackServer:
    def __init__(self, rate: int = 48000, period: int = 128, name: str | None = None,
                 realtime: bool | None = None, priority: int = RT_PRIORITY, sync: bool = False):
        self.rate = rate
        self.period = period
        #: synchronous mode (jackd -S): each cycle waits for every client to finish (up to 2 s),
        #: so a late client delays the cycle instead of losing or repeating a buffer downstream
        self.sync = sync
        self.name = name or f"fmtest-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.proc: subprocess.Popen | None = None
        self.priority = priority
        #: None: real-time when permitted; True/False: insist / never
        self.want_realtime = realtime
        #: the server runs at real-time priority (known after start)
        self.realtime = False
        self.realtime_note = ""
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
        prune_dead_servers()
        rt, why = (False, "not asked for") if self.want_realtime is False else realtime_permitted(self.priority)
        if self.want_realtime and not rt:
            raise JackUnavailable(f"a real-time JACK server was asked for: {why}")
        mode = ["-R", "-P", str(self.priority)] if rt else ["--no-realtime"]
        if self.sync:
            mode += ["-S", "-t", "2000"]
        cmd = [exe, *mode, "-n", self.name, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JackUnavailable(f"jackd exited with {self.proc.returncode}: {self.output()[-2000:]}")
            if self._ready():
                fifo = os.SCHED_FIFO in _thread_policies(self.proc.pid)
                self.realtime = rt and fifo
                if self.realtime:
                    self.realtime_note = f"jackd -R -P {self.priority}: driver at SCHED_FIFO {self.priority}"
                elif rt:
                    self.realtime_note = "jackd -R started but none of its threads is SCHED_FIFO"
                else:
                    self.realtime_note = (f"jackd runs without real-time scheduling: {why}; its timer and its "
                                          f"clients can wake late on a busy machine (run as root, or with an "
                                          f"rtprio limit, for a real-time server)")
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

    def client_misses(self, client: str | None = None) -> dict[str, int]:
        """JACK's reports that ``client`` (None: any client) had not finished its cycle when the
        next began, by state."""
        out: dict[str, int] = {}
        for name, state in _NOT_FINISHED.findall(self.output()):
            if client is None or name == client:
                out[state] = out.get(state, 0) + 1
        return out

    def counts(self, client: str | None = None) -> dict:
        """Everything the log counts so far: driver_late, client_misses (by state) and their total, xruns."""
        misses = self.client_misses(client)
        return {"driver_late": self.driver_late(), "client_misses": misses,
                "client_missed": sum(misses.values()), "xruns": self.xruns_logged()}

    @staticmethod
    def since(before: dict, after: dict) -> dict:
        """``after - before`` of two ``counts()``."""
        states = set(before["client_misses"]) | set(after["client_misses"])
        misses = {k: after["client_misses"].get(k, 0) - before["client_misses"].get(k, 0) for k in states}
        return {"driver_late": after["driver_late"] - before["driver_late"],
                "client_misses": {k: v for k, v in misses.items() if v},
                "client_missed": after["client_missed"] - before["client_missed"],
                "xruns": after["xruns"] - before["xruns"]}

    def driver_late(self) -> int:
        """Cycles the dummy driver's own timer started late ("JackTimedDriver::Process XRun").

        The timer thread can wake milliseconds late (without real-time scheduling, or on a
        virtual machine whose virtual CPU the host does not run for a while); JACK then reports an
        xrun to every client, which PortAudio passes on as an output underflow, whatever the
        client did."""
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


@contextlib.contextmanager
def running(rate: int = 48000, period: int = 128, **kw):
    """A started ``JackServer(rate, period, **kw)``, closed on exit; if it cannot start, the test
    fails with what to install."""
    import pytest

    srv = JackServer(rate, period, **kw)
    try:
        srv.start()
    except JackUnavailable as e:
        srv.close()
        pytest.fail(f"a JACK server is required (apt-get install --no-install-recommends jackd2): {e}",
                    pytrace=False)
    try:
        yield srv
    finally:
        srv.close()
