"""Audio streams: what the backends share.

``NativeStream`` (``fmcore_rt.native_stream``: a PortAudio callback in C that
never takes the GIL), ``SoundDeviceStream`` (``fmcore_rt.sounddevice_stream``:
python-sounddevice, no build headers needed) and ``PyAudioStream``
(``fmcore_rt.pyaudio_stream``: PyAudio callback mode) all drive any
:class:`fmcore_rt.Processor` and share
this module: device listing and selection, the error type, the statistics
record and the watchdog that notices a stream stopped by its device or
server (for example a JACK server that went away).

All backends use the same ``libportaudio``, so device indices are the same
whichever lists them.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

__all__ = [
    "AudioDeviceError", "AudioStreamError", "DeviceInfo", "HostApiInfo", "StreamStats", "list_devices",
    "list_host_apis", "select_device", "format_devices", "open_stream", "BACKENDS",
]

BACKENDS = ("native", "sounddevice", "pyaudio")


class AudioDeviceError(RuntimeError):
    """No usable audio device: none at all, a bad index or name, or a stream that cannot open.

    ``str(err)`` is one line that says what is wrong and what is available.
    """


class AudioStreamError(AudioDeviceError):
    """A running stream stopped on its own: the device or the audio server went away."""


@dataclass(frozen=True)
class HostApiInfo:
    """A PortAudio host API (ALSA, JACK, ...)."""

    index: int
    name: str
    device_count: int
    default_output: int      # global device index, or -1


@dataclass(frozen=True)
class DeviceInfo:
    """An audio device as PortAudio sees it; ``index`` is what ``device=`` takes."""

    index: int
    name: str
    host_api: str
    max_output_channels: int
    max_input_channels: int
    default_sample_rate: float
    default_low_output_latency: float
    default_high_output_latency: float
    is_default_output: bool = False

    def describe(self) -> str:
        mark = ", default" if self.is_default_output else ""
        return f"{self.index} {self.name!r} ({self.host_api}, {self.max_output_channels} ch{mark})"


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C-level stderr (ALSA/JACK chatter while PortAudio probes its host APIs)."""
    if os.environ.get("FMCORE_AUDIO_DEBUG"):
        yield
        return
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


def _pa_module():
    """The module that talks to PortAudio for device lists: the native binding, else PyAudio."""
    try:
        from fmcore_rt import native_stream
        return native_stream
    except ImportError:
        pass
    from fmcore_rt import sounddevice_stream
    if sounddevice_stream.missing() is None:
        return sounddevice_stream
    try:
        from fmcore_rt import pyaudio_stream
        pyaudio_stream._pyaudio()
        return pyaudio_stream
    except ImportError:
        raise AudioDeviceError(_NO_BACKEND) from None


_NO_BACKEND = ("no audio backend: fmcore_rt.native_stream was built without PortAudio's headers and neither "
               "sounddevice nor PyAudio is installed; pip install 'fmcore[audio]' (sounddevice needs the "
               "libportaudio2 runtime), or apt-get install portaudio19-dev and reinstall fmcore")


def list_host_apis() -> list[HostApiInfo]:
    """PortAudio's host APIs on this machine."""
    return _pa_module()._host_apis()


def list_devices(output_only: bool = True) -> list[DeviceInfo]:
    """Audio devices (by default only those with output channels), default output marked."""
    devs = _pa_module()._devices()
    return [d for d in devs if d.max_output_channels > 0 or not output_only]


def _available(devs: list[DeviceInfo], apis: list[HostApiInfo] | None = None) -> str:
    if devs:
        return "available output devices: " + "; ".join(d.describe() for d in devs)
    apis_text = ", ".join(f"{a.name} ({a.device_count} devices)" for a in (apis or [])) or "none"
    return (f"no output device at all (PortAudio host APIs: {apis_text}); start an audio server "
            f"(e.g. jackd -d dummy) or connect a sound card")


def select_device(device: int | str | None, channels: int, devs: list[DeviceInfo] | None = None,
                  apis: list[HostApiInfo] | None = None) -> DeviceInfo:
    """The output device for ``device``: None (the default output), an index, or part of a name.

    Raises :class:`AudioDeviceError` with one line listing what is available.
    """
    if devs is None:
        devs = list_devices()
    if apis is None and not devs:
        try:
            apis = list_host_apis()
        except AudioDeviceError:
            apis = []
    if isinstance(device, str) and device.strip().lstrip("-").isdigit():
        device = int(device)
    if device is None:
        chosen = [d for d in devs if d.is_default_output] or devs[:1]
        if not chosen:
            raise AudioDeviceError(_available(devs, apis))
        found = chosen[0]
    elif isinstance(device, int) and not isinstance(device, bool):
        found = next((d for d in devs if d.index == device), None)
        if found is None:
            raise AudioDeviceError(f"no output device {device}; {_available(devs, apis)}")
    elif isinstance(device, str):
        key = device.strip().lower()
        exact = [d for d in devs if d.name.lower() == key]
        matches = exact or [d for d in devs if key in d.name.lower() or key in f"{d.host_api}:{d.name}".lower()]
        if not matches:
            raise AudioDeviceError(f"no output device matches {device!r}; {_available(devs, apis)}")
        if len(matches) > 1:
            raise AudioDeviceError(f"{device!r} matches several output devices; "
                                   + "; ".join(d.describe() for d in matches))
        found = matches[0]
    else:
        raise TypeError(f"device must be None, an index or a name, got {device!r}")
    if found.max_output_channels < channels:
        raise AudioDeviceError(f"output device {found.describe()} has {found.max_output_channels} channels, "
                               f"{channels} requested")
    return found


def format_devices() -> str:
    """Host APIs and output devices as text, the default output marked with ``*`` (``fmcore devices``)."""
    apis = list_host_apis()
    devs = list_devices()
    lines = ["host APIs:"]
    for a in apis:
        lines.append(f"  {a.index}: {a.name} ({a.device_count} device{'s' if a.device_count != 1 else ''})")
    lines.append("output devices:")
    if not devs:
        lines.append("  none: " + _available(devs, apis))
    for d in devs:
        mark = "*" if d.is_default_output else " "
        lines.append(f" {mark}{d.index:3d}: {d.name} [{d.host_api}] {d.max_output_channels} ch, "
                     f"{d.default_sample_rate:g} Hz, latency {d.default_low_output_latency * 1000:.1f} ms")
    return "\n".join(lines)


@dataclass
class StreamStats:
    """What a stream did: callbacks against the clock, callback durations against the deadline,
    underflows the audio system reported, and what the processor had to give up.

    ``underflows`` are what the audio system flagged (with JACK: any xrun of the server, whoever
    caused it). The stream's own cost is its thread CPU time per callback (``cpu_*``) against
    the deadline, ``cpu_overruns`` the callbacks over it; ``stalls`` are callbacks that took
    longer than the deadline in wall time although their own CPU time did not (preempted, or
    for PyAudio waiting for the GIL inside the callback). A virtual machine may charge time the
    host took away to the running thread: read ``cpu_p99_us`` before ``cpu_max_us``."""

    backend: str
    device: str
    host_api: str
    sample_rate: float
    frames_per_buffer: int
    channels: int
    running: bool
    seconds: float                  # wall time since start (to stop, if stopped)
    callbacks: int
    frames: int
    callback_rate: float            # callbacks per second of wall time
    expected_rate: float            # sample_rate / frames_per_buffer
    mean_us: float
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float
    deadline_us: float
    overruns: int                   # blocks that took longer than their deadline
    underflows: int                 # callbacks PortAudio flagged paOutputUnderflow
    cpu_mean_us: float = float("nan")   # thread CPU time per callback
    cpu_p50_us: float = float("nan")
    cpu_p99_us: float = float("nan")
    cpu_max_us: float = float("nan")
    cpu_overruns: int = 0           # callbacks whose own CPU time passed the deadline
    stalls: int = 0                 # over the deadline in wall time, not in own CPU time
    render_errors: int = 0
    busy_skips: int = 0             # callbacks given silence: another thread was inside the processor
    events_dropped: int = 0
    voices_stolen: int = 0
    realtime: bool | None = None    # audio thread at real-time priority (None: not known yet)
    realtime_note: str = ""
    output_latency: float = float("nan")
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        """A few human lines (what ``fmcore play`` prints at the end)."""
        rt = {True: "yes", False: "no", None: "unknown"}[self.realtime]
        lines = [
            f"{self.backend} stream on {self.device!r} ({self.host_api}), {self.sample_rate:g} Hz, "
            f"{self.frames_per_buffer} frames ({self.deadline_us / 1000:.2f} ms), {self.channels} ch",
            f"  {self.callbacks} callbacks in {self.seconds:.2f} s ({self.callback_rate:.1f}/s, "
            f"expected {self.expected_rate:.1f}/s), {self.frames} frames",
            f"  callback p50 {self.p50_us:.1f} us, p99 {self.p99_us:.1f} us, p99.9 {self.p999_us:.1f} us, "
            f"max {self.max_us:.1f} us (deadline {self.deadline_us:.0f} us); {self.overruns} overruns",
            f"  own CPU per callback p50 {self.cpu_p50_us:.1f} us, p99 {self.cpu_p99_us:.1f} us, "
            f"max {self.cpu_max_us:.1f} us; {self.cpu_overruns} over the deadline, {self.stalls} stalled",
            f"  underflows {self.underflows}, busy skips {self.busy_skips}, events dropped {self.events_dropped}, "
            f"voices stolen {self.voices_stolen}, real-time priority: {rt}"
            + (f" ({self.realtime_note})" if self.realtime_note else ""),
        ]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


_memory_locked: bool | None = None


def lock_memory() -> tuple[bool, str]:
    """Lock the process's current pages in RAM (``mlockall(MCL_CURRENT)``), once per process.

    Keeps the kernel from paging out code or tables the audio thread touches rarely,
    which would stall a callback for milliseconds. Returns (locked, note).
    """
    global _memory_locked
    if _memory_locked is None:
        import ctypes
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _memory_locked = libc.mlockall(1) == 0      # MCL_CURRENT
            err = ctypes.get_errno()
        except (OSError, AttributeError):
            _memory_locked, err = False, 0
        lock_memory.note = "memory locked" if _memory_locked else \
            f"memory not locked ({os.strerror(err) if err else 'mlockall unavailable'})"
    return _memory_locked, lock_memory.note


lock_memory.note = ""


def _nan_if_none(v):
    return float("nan") if v is None else float(v)


class StreamBase:
    """What both backends share: argument checks, start/stop, context manager, the watchdog, stats.

    A backend implements ``_open(dev)``, ``_start_backend()``, ``_backend_alive()``,
    ``_close_backend(abort)`` and ``_backend_counts()``.
    """

    backend = "?"
    #: a stream whose callbacks stop for this long (seconds) while it should run has failed
    stall_timeout = 0.5
    poll_interval = 0.02

    def __init__(self, processor, sample_rate: float = 48000, frames_per_buffer: int = 128, channels: int = 2,
                 device: int | str | None = None, *, lock_memory: bool = False):
        from fmcore_rt.processor import Processor

        if not isinstance(processor, Processor):
            raise TypeError(f"processor must be a fmcore_rt.Processor, got {type(processor).__name__}")
        if not (isinstance(sample_rate, (int, float)) and math.isfinite(sample_rate) and 8000 <= sample_rate <= 384000):
            raise ValueError(f"sample_rate must be in 8000..384000 Hz, got {sample_rate!r}")
        if not (isinstance(frames_per_buffer, int) and 16 <= frames_per_buffer <= 8192):
            raise ValueError(f"frames_per_buffer must be in 16..8192, got {frames_per_buffer!r}")
        if not (isinstance(channels, int) and 1 <= channels <= 32):
            raise ValueError(f"channels must be in 1..32, got {channels!r}")
        self.processor = processor
        self.sample_rate = float(sample_rate)
        self.frames_per_buffer = frames_per_buffer
        self.channels = channels
        self.device_spec = device
        #: lock the process's memory at start (see :func:`lock_memory`)
        self.lock_memory = bool(lock_memory)
        self.device: DeviceInfo | None = None
        self.on_error: Callable[[AudioStreamError], None] | None = None
        self._error: AudioStreamError | None = None
        self._lock = threading.RLock()
        self._running = False
        self._opened = False
        self._t_start = 0.0
        self._t_stop = 0.0
        self._watch: threading.Thread | None = None
        self._watch_stop = threading.Event()
        self._stopped = threading.Event()

    # ---- lifecycle ---------------------------------------------------------------------

    def _prepare_processor(self) -> None:
        p = self.processor
        if (not p.prepared or p.sample_rate != self.sample_rate or p.max_block < self.frames_per_buffer):
            p.prepare(self.sample_rate, max(self.frames_per_buffer, p.max_block if p.prepared else 0))
        # the stream's statistics start with the stream
        p.timing.reset()

    def start(self):
        """Open the device and start calling the processor. Returns self. Raises AudioDeviceError."""
        with self._lock:
            if self._running:
                return self
            if self._error is not None:
                raise self._error
            self._prepare_processor()
            if self.lock_memory:
                lock_memory()
            try:
                self._opened = True         # a partly opened backend is closed below
                self._open_backend()
                self._start_backend()
            except BaseException:
                self._close_quietly(abort=True)
                raise
            self._running = True
            self._stopped.clear()
            self._t_start = time.monotonic()
            self._watch_stop.clear()
            self._watch = threading.Thread(target=self._watchdog, name=f"fmcore-{self.backend}-watchdog",
                                           daemon=True)
            self._watch.start()
        return self

    def stop(self) -> None:
        """Stop the stream (playing what is queued) and close the device. Idempotent; never raises
        and never hangs for a stream that already failed (see ``error``)."""
        self._watch_stop.set()
        w = self._watch
        if w is not None and w is not threading.current_thread():
            w.join(timeout=0.25 if self._error is not None else 2.0)
            if w.is_alive():
                # the watchdog is still closing a dead device (a server that went away can make
                # PortAudio wait); leave it to finish in the background
                return
        self._finish(abort=self._error is not None)

    def close(self) -> None:
        """Same as ``stop``."""
        self.stop()

    def _finish(self, abort: bool) -> None:
        with self._lock:
            if self._running:
                self._t_stop = time.monotonic()
            self._running = False
            self._close_quietly(abort)
            self._stopped.set()

    def _close_quietly(self, abort: bool) -> None:
        if self._opened:
            self._opened = False
            try:
                self._close_backend(abort)
            except Exception:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):
        try:
            self._watch_stop.set()
            self._finish(abort=True)
        except Exception:
            pass

    @property
    def active(self) -> bool:
        """True while the stream runs (started, not stopped, no error)."""
        return self._running and self._error is None

    @property
    def error(self) -> AudioStreamError | None:
        """The error that stopped the stream on its own, or None."""
        return self._error

    def check(self) -> None:
        """Raise the error that stopped the stream, if any."""
        if self._error is not None:
            raise self._error

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream stops (True) or ``timeout`` seconds pass (False); raises its error."""
        done = self._stopped.wait(timeout)
        self.check()
        return done

    # ---- watchdog ----------------------------------------------------------------------

    def _watchdog(self) -> None:
        last_n, last_t = -1, time.monotonic()
        while not self._watch_stop.wait(self.poll_interval):
            n = self._backend_counts()[0]
            now = time.monotonic()
            if n != last_n:
                last_n, last_t = n, now
            reason = None
            alive, why = self._backend_alive()
            if not alive:
                reason = why
            elif now - last_t > max(self.stall_timeout, 8 * self.frames_per_buffer / self.sample_rate):
                reason = f"no callback for {now - last_t:.2f} s"
            if reason is not None:
                dev = self.device.describe() if self.device else "the device"
                err = AudioStreamError(f"audio stream stopped: {reason} (output {dev}); "
                                       f"the audio device or server went away after {n} callbacks")
                self._error = err
                # tell waiters first: closing a device whose server died can itself take seconds
                self._t_stop = time.monotonic()
                self._running = False
                self._stopped.set()
                cb = self.on_error
                if cb is not None:
                    try:
                        cb(err)
                    except Exception:
                        pass
                self._finish(abort=True)
                return

    # ---- stats -------------------------------------------------------------------------

    @property
    def stats(self) -> StreamStats:
        """A :class:`StreamStats` snapshot, read without stopping the audio thread."""
        callbacks, frames, underflows, render_errors = self._backend_counts()
        p = self.processor
        t = p.timing.snapshot()
        pst = {}
        try:
            pst = p.stats if isinstance(p.stats, dict) else {}
        except Exception:
            pass
        end = time.monotonic() if self._running else (self._t_stop or self._t_start)
        secs = max(0.0, end - self._t_start) if self._t_start else 0.0
        rt, note = self._realtime()
        deadline = self.frames_per_buffer * 1e6 / self.sample_rate
        cpu_t, stalls = self._cpu_timing()
        cpu = cpu_t.snapshot() if cpu_t is not None else {}
        return StreamStats(
            backend=self.backend,
            device=self.device.name if self.device else "",
            host_api=self.device.host_api if self.device else "",
            sample_rate=self.sample_rate, frames_per_buffer=self.frames_per_buffer, channels=self.channels,
            running=self.active, seconds=secs, callbacks=callbacks, frames=frames,
            callback_rate=callbacks / secs if secs > 0 else 0.0,
            expected_rate=self.sample_rate / self.frames_per_buffer,
            mean_us=_nan_if_none(t.get("mean_us")), p50_us=_nan_if_none(t.get("p50_us")),
            p99_us=_nan_if_none(t.get("p99_us")), p999_us=_nan_if_none(t.get("p999_us")),
            max_us=_nan_if_none(t.get("max_us")), deadline_us=deadline, overruns=int(t.get("overruns", 0)),
            underflows=underflows, render_errors=render_errors, busy_skips=int(getattr(p, "busy_skips", 0)),
            cpu_mean_us=_nan_if_none(cpu.get("mean_us")), cpu_p50_us=_nan_if_none(cpu.get("p50_us")),
            cpu_p99_us=_nan_if_none(cpu.get("p99_us")), cpu_max_us=_nan_if_none(cpu.get("max_us")),
            cpu_overruns=int(cpu.get("overruns", 0)), stalls=int(stalls),
            events_dropped=int(pst.get("events_dropped", 0)), voices_stolen=int(pst.get("voices_stolen", 0)),
            realtime=rt, realtime_note=(note + ("; " + lock_memory.note if self.lock_memory else "")).strip("; "),
            output_latency=self._output_latency(),
            error=str(self._error) if self._error else None,
        )

    def histogram(self) -> tuple[list[float], list[int]]:
        """Callback durations: (lower bin edges in us, counts) from the processor's timing."""
        return self.processor.timing.histogram()

    # ---- backend hooks -----------------------------------------------------------------

    def _open_backend(self) -> None:
        raise NotImplementedError

    def _start_backend(self) -> None:
        raise NotImplementedError

    def _close_backend(self, abort: bool) -> None:
        raise NotImplementedError

    def _backend_alive(self) -> tuple[bool, str]:
        raise NotImplementedError

    def _backend_counts(self) -> tuple[int, int, int, int]:
        """(callbacks, frames, underflows, render errors)."""
        raise NotImplementedError

    def _cpu_timing(self):
        """The callbacks' own cost: (a TimingStats of thread CPU time per callback or None, stalls)."""
        return None, 0

    def _realtime(self) -> tuple[bool | None, str]:
        return None, ""

    def _output_latency(self) -> float:
        return float("nan")

    def __repr__(self) -> str:
        state = "error" if self._error else ("running" if self._running else "stopped")
        dev = self.device.name if self.device else self.device_spec
        return (f"<{type(self).__name__} {state} device={dev!r} {self.sample_rate:g} Hz "
                f"{self.frames_per_buffer} frames {self.channels} ch>")


def open_stream(backend: str, processor, **kwargs):
    """A stream of the named backend, not started: ``"native"``, ``"sounddevice"``, ``"pyaudio"``,
    or ``"auto"`` (the first of those that is installed). A backend that is not installed is
    one ``AudioDeviceError`` line saying what to install."""
    if backend == "auto":
        backend = _auto_backend()
    if backend == "sounddevice":
        from fmcore_rt.sounddevice_stream import SoundDeviceStream, missing
        why = missing()
        if why:
            raise AudioDeviceError(why)
        return SoundDeviceStream(processor, **kwargs)
    if backend == "native":
        try:
            from fmcore_rt.native_stream import NativeStream
        except ImportError as e:
            raise AudioDeviceError(f"the native stream is not built ({e}); apt-get install portaudio19-dev "
                                   f"and rebuild, or use --backend pyaudio") from None
        return NativeStream(processor, **kwargs)
    if backend == "pyaudio":
        from fmcore_rt.pyaudio_stream import PyAudioStream, _pyaudio
        try:
            _pyaudio()
        except ImportError:
            raise AudioDeviceError("the pyaudio backend needs PyAudio: pip install pyaudio (it builds against "
                                   "portaudio19-dev), or use --backend sounddevice") from None
        return PyAudioStream(processor, **kwargs)
    raise ValueError(f"unknown backend {backend!r}; choose auto or one of {', '.join(BACKENDS)}")


def _auto_backend() -> str:
    """The first installed backend: native (never takes the GIL), then sounddevice, then PyAudio."""
    try:
        from fmcore_rt import native_stream  # noqa: F401
        return "native"
    except ImportError:
        pass
    from fmcore_rt.sounddevice_stream import missing
    if missing() is None:
        return "sounddevice"
    try:
        from fmcore_rt.pyaudio_stream import _pyaudio
        _pyaudio()
        return "pyaudio"
    except ImportError:
        raise AudioDeviceError(_NO_BACKEND) from None
