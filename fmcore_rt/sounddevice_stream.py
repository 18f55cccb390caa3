"""SoundDeviceStream: a python-sounddevice callback stream driving a processor.

sounddevice is a cffi binding that loads the PortAudio runtime library (``libportaudio.so.2``,
Debian's ``libportaudio2``) when imported: it needs no headers and no compiler, so it installs
from a wheel wherever pip runs, unlike PyAudio (no Linux wheel; it builds against
``portaudio19-dev``). Same API and statistics as ``PyAudioStream`` and ``NativeStream``, and the
same PortAudio, so device indices agree. PortAudio lists devices once, when it is initialised
(sounddevice does that at import): a device asked for but not in the list makes this module
re-initialise it and look again.

Like PyAudio's, this callback enters Python and needs the GIL, with the same mitigations
while it plays (short switch interval, frozen garbage collector, real-time priority for
PortAudio's thread). Per callback it renders into one preallocated planar buffer, interleaves
into one preallocated array and copies that into PortAudio's buffer: no Python objects of its
own (sounddevice itself makes the buffer and flags objects it passes in).
"""
from __future__ import annotations

import gc
import sys

import numpy as np

from fmcore_rt.pyaudio_stream import SWITCH_INTERVAL, _raise_priority
from fmcore_rt.streams import (AudioDeviceError, DeviceInfo, HostApiInfo, StreamBase, quiet_stderr,
                               select_device)

__all__ = ["SoundDeviceStream", "missing", "release_portaudio"]

_open_streams = 0          # PortAudio is re-initialised to re-read devices only while none is open
_abandoned: list = []
_server_gone = False       # a stream's server went away: PortAudio must never be terminated again


def missing() -> str | None:
    """What is missing for this backend, in one line, or None when it can run."""
    try:
        _sounddevice()
    except AudioDeviceError as e:
        return str(e)
    return None


def _sounddevice():
    try:
        with quiet_stderr():
            import sounddevice
    except ImportError:
        raise AudioDeviceError("the sounddevice backend needs python-sounddevice: pip install sounddevice "
                               "(or pip install 'fmcore[audio]')") from None
    except OSError as e:            # sounddevice could not load libportaudio
        raise AudioDeviceError(f"sounddevice cannot load the PortAudio library ({e}); "
                               f"apt-get install libportaudio2") from None
    return sounddevice


def _ready(sd):
    """sounddevice's PortAudio, initialised (``release_portaudio`` may have let it go)."""
    if not sd._initialized:
        with quiet_stderr():
            sd._initialize()
    return sd


def _refresh(sd) -> bool:
    """Re-read PortAudio's devices (it lists them once, at initialisation) so a server or a JACK
    client that appeared since shows up; False when that cannot be done now (a stream of ours
    is open, or a server died under one). Terminating PortAudio closes every stream of this
    process's sounddevice, so it is only done when a device was not found."""
    if _open_streams or _server_gone:
        return False
    with quiet_stderr():
        if sd._initialized:
            sd._terminate()
        sd._initialize()
    return True


def release_portaudio() -> None:
    """Terminate sounddevice's PortAudio now (fmcore initialises it again when it next needs it).

    sounddevice initialises PortAudio at import and terminates it at exit. In between, its
    JACK host API holds a client of the JACK server, and terminating that after the server
    has gone fails an assertion inside PortAudio (the process aborts at exit); while it is
    initialised, other PortAudio users in the process (the native stream, PyAudio) see its
    device list, not a fresh one. Call this before stopping a JACK server the process used.
    """
    if _open_streams or _server_gone:
        return
    sd = _sounddevice()
    with quiet_stderr():
        while sd._initialized:
            sd._terminate()


def _devices_of(sd) -> tuple[list[DeviceInfo], list[HostApiInfo]]:
    apis = [HostApiInfo(i, a["name"], len(a["devices"]), int(a["default_output_device"]))
            for i, a in enumerate(sd.query_hostapis())]
    try:
        dflt = int(sd.query_devices(kind="output")["index"])
    except (sd.PortAudioError, ValueError, KeyError):
        dflt = -1
    devs = [DeviceInfo(index=i, name=d["name"], host_api=apis[d["hostapi"]].name,
                       max_output_channels=int(d["max_output_channels"]),
                       max_input_channels=int(d["max_input_channels"]),
                       default_sample_rate=float(d["default_samplerate"]),
                       default_low_output_latency=float(d["default_low_output_latency"]),
                       default_high_output_latency=float(d["default_high_output_latency"]),
                       is_default_output=(i == dflt))
            for i, d in enumerate(sd.query_devices())]
    return devs, apis


def _devices() -> list[DeviceInfo]:
    return _devices_of(_ready(_sounddevice()))[0]


def _host_apis() -> list[HostApiInfo]:
    return _devices_of(_ready(_sounddevice()))[1]


class SoundDeviceStream(StreamBase):
    """An output stream through python-sounddevice's callback; same API and stats as the others.

    ``SoundDeviceStream(processor, sample_rate=48000, frames_per_buffer=128, channels=2, device=None)``.
    ``latency``: seconds, or None for the device's default low latency. The callback needs the
    GIL: under a busy Python thread it can miss deadlines (counted in ``stats.underflows``).
    """

    backend = "sounddevice"

    def __init__(self, processor, sample_rate=48000, frames_per_buffer=128, channels=2, device=None, *,
                 latency=None, lock_memory=False):
        super().__init__(processor, sample_rate, frames_per_buffer, channels, device, lock_memory=lock_memory)
        self.latency = latency
        self._stream = None
        self._counted = False
        self._counts = [0, 0, 0, 0]   # callbacks, frames, underflows, render errors
        n = frames_per_buffer
        self._planar = np.zeros((channels, n), np.float32)
        self._inter = np.zeros(n * channels, np.float32)
        self._inter_t = self._inter.reshape(n, channels).T      # (channels, frames) view of the output
        self._inter_bytes = memoryview(self._inter).cast("B")
        self._odd: dict[int, tuple] = {}
        self._rt = None        # (raised?, how): set by the first callback, on the audio thread

    def _open_backend(self):
        global _open_streams
        sd = _ready(_sounddevice())
        try:
            dev = self._select(sd)
        except AudioDeviceError:
            if not _refresh(sd):        # the device may have appeared since PortAudio listed them
                raise
            dev = self._select(sd)
        self.device = dev
        try:
            with quiet_stderr():
                self._stream = sd.RawOutputStream(
                    samplerate=self.sample_rate, blocksize=self.frames_per_buffer, device=dev.index,
                    channels=self.channels, dtype="float32", callback=self._callback,
                    latency="low" if self.latency is None else self.latency)
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(f"cannot open output device {dev.describe()} at {self.sample_rate:g} Hz, "
                                   f"{self.frames_per_buffer} frames: {e}") from None
        _open_streams += 1
        self._counted = True

    def _select(self, sd) -> DeviceInfo:
        devs, apis = _devices_of(sd)
        return select_device(self.device_spec, self.channels, [d for d in devs if d.max_output_channels > 0], apis)

    def _callback(self, outdata, frames, time_info, status):
        c = self._counts
        if self._rt is None:
            self._rt = _raise_priority()
        if status.output_underflow:
            c[2] += 1
        if frames == self.frames_per_buffer:
            planar, inter_t, out = self._planar, self._inter_t, self._inter_bytes
        else:                       # PortAudio promised fixed buffers; stay correct anyway
            planar, inter_t, out = self._odd_buffers(frames)
        try:
            self.processor.process(planar)
        except Exception:
            c[3] += 1
            planar.fill(0.0)
        np.copyto(inter_t, planar)
        outdata[:] = out
        c[1] += frames
        c[0] += 1

    def _odd_buffers(self, n):
        b = self._odd.get(n)
        if b is None:
            inter = np.zeros(n * self.channels, np.float32)
            b = self._odd[n] = (np.zeros((self.channels, n), np.float32), inter.reshape(n, self.channels).T,
                                memoryview(inter).cast("B"))
        return b

    def _start_backend(self):
        # as PyAudioStream: the callback needs the GIL (see fmcore_rt.pyaudio_stream)
        gc.collect()
        gc.freeze()
        self._froze_gc = True
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL))
        sd = _sounddevice()
        try:
            self._stream.start()
        except sd.PortAudioError as e:
            raise AudioDeviceError(f"cannot start the output stream on {self.device.describe()}: {e}") from None

    def _close_backend(self, abort):
        global _open_streams
        if getattr(self, "_froze_gc", False):
            gc.unfreeze()
            self._froze_gc = False
            sys.setswitchinterval(self._switch_interval)
        st, self._stream = self._stream, None
        if self._counted:
            self._counted = False
            _open_streams -= 1
        if st is None:
            return
        if self._error is not None:
            # the server or device died: PortAudio's stop/close, and the Pa_Terminate sounddevice
            # runs at exit, would wait for it forever; leave them be (the OS cleans up at exit)
            global _server_gone
            import atexit

            _abandoned.append(st)
            _server_gone = True
            atexit.unregister(_sounddevice()._exit_handler)
            return
        try:
            if abort:
                st.abort()
            else:
                st.stop()
        finally:
            st.close()

    def _backend_alive(self):
        st = self._stream
        if st is None:
            return False, "stream closed"
        try:
            if not st.active:
                return False, "PortAudio reports the stream inactive"
        except Exception as e:          # sounddevice.PortAudioError
            return False, f"PortAudio error: {e}"
        return True, ""

    def _backend_counts(self):
        c = self._counts
        return c[0], c[1], c[2], c[3]

    def _realtime(self):
        if self._rt is None:
            return None, "sounddevice: the callback takes the GIL"
        ok, how = self._rt
        return ok, f"{how}; sounddevice: the callback takes the GIL"

    def _output_latency(self):
        st = self._stream
        if st is None:
            return getattr(self, "_last_latency", float("nan"))
        try:
            self._last_latency = float(st.latency)
        except Exception:
            self._last_latency = float("nan")
        return self._last_latency
