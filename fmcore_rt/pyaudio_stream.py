"""PyAudioStream: a PyAudio callback-mode output stream driving a processor.

The callback runs in PortAudio's thread but must take the GIL to enter
Python, so a busy Python thread can delay it past its deadline: that is the
failure ``NativeStream`` makes impossible, and this stream makes it
measurable (``stats.underflows``). Per callback it hands one preallocated
planar buffer to the processor's ``process`` (which releases the GIL for the
audio work), interleaves into one preallocated output array and returns one
preallocated tuple: no per-callback Python objects of its own.
"""
from __future__ import annotations

import gc
import os
import sys
from time import perf_counter_ns as _perf_ns, thread_time_ns as _thread_time_ns

import numpy as np

from fmcore_rt.streams import (AudioDeviceError, DeviceInfo, HostApiInfo, StreamBase, quiet_stderr,
                               select_device)
from fmcore_rt.timing import TimingStats

__all__ = ["PyAudioStream"]

#: GIL switch interval (seconds) while a PyAudio stream plays
SWITCH_INTERVAL = 0.0005
#: SCHED_FIFO priority asked for PortAudio's callback thread (as NativeStream does)
RT_PRIORITY = 70

_abandoned: list = []


def _pyaudio():
    try:
        import pyaudio
    except ImportError:
        raise ImportError("PyAudio is not installed (pip install pyaudio; it needs portaudio19-dev to build)") from None
    return pyaudio


def _open_pa():
    pyaudio = _pyaudio()
    with quiet_stderr():
        return pyaudio.PyAudio()


def _devices_of(pa) -> tuple[list[DeviceInfo], list[HostApiInfo]]:
    apis = []
    for i in range(pa.get_host_api_count()):
        a = pa.get_host_api_info_by_index(i)
        apis.append(HostApiInfo(i, a["name"], int(a["deviceCount"]), int(a["defaultOutputDevice"])))
    try:
        dflt = int(pa.get_default_output_device_info()["index"])
    except (IOError, OSError):
        dflt = -1
    devs = []
    for i in range(pa.get_device_count()):
        d = pa.get_device_info_by_index(i)
        devs.append(DeviceInfo(
            index=i, name=d["name"], host_api=apis[int(d["hostApi"])].name,
            max_output_channels=int(d["maxOutputChannels"]), max_input_channels=int(d["maxInputChannels"]),
            default_sample_rate=float(d["defaultSampleRate"]),
            default_low_output_latency=float(d["defaultLowOutputLatency"]),
            default_high_output_latency=float(d["defaultHighOutputLatency"]), is_default_output=(i == dflt)))
    return devs, apis


def _devices() -> list[DeviceInfo]:
    pa = _open_pa()
    try:
        return _devices_of(pa)[0]
    finally:
        pa.terminate()


def _host_apis() -> list[HostApiInfo]:
    pa = _open_pa()
    try:
        return _devices_of(pa)[1]
    finally:
        pa.terminate()


def _raise_priority(priority: int = RT_PRIORITY) -> tuple[bool, str]:
    """Put the calling thread (PortAudio's audio thread, on the first callback) at SCHED_FIFO."""
    try:
        if os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
            return True, "already real-time"
        prio = min(priority, os.sched_get_priority_max(os.SCHED_FIFO))
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))   # 0: this thread on Linux
        return True, f"SCHED_FIFO {prio} set by fmcore"
    except (AttributeError, OSError) as e:
        return False, f"no real-time priority ({getattr(e, 'strerror', None) or e})"


class PyAudioStream(StreamBase):
    """An output stream in PyAudio's callback mode; same API and stats as ``NativeStream``.

    ``PyAudioStream(processor, sample_rate=48000, frames_per_buffer=128, channels=2, device=None)``.
    The callback needs the GIL: under a CPU-bound Python thread it can miss deadlines
    (counted in ``stats.underflows``). Prefer ``NativeStream`` for playing live.
    """

    backend = "pyaudio"

    def __init__(self, processor, sample_rate=48000, frames_per_buffer=128, channels=2, device=None, *,
                 latency=None, lock_memory=False):
        super().__init__(processor, sample_rate, frames_per_buffer, channels, device, lock_memory=lock_memory)
        self.latency = latency
        self._pa = None
        self._stream = None
        self._counts = [0, 0, 0, 0]   # callbacks, frames, underflows, render errors
        self._cpu = TimingStats(sample_rate)    # thread CPU time per callback
        self._stalls = [0]
        self._deadline_ns = int(frames_per_buffer * 1e9 / sample_rate)
        n = frames_per_buffer
        self._planar = np.zeros((channels, n), np.float32)
        self._inter = np.zeros(n * channels, np.float32)
        self._inter_t = self._inter.reshape(n, channels).T      # (channels, frames) view of the output
        self._odd: dict[int, tuple] = {}
        self._rt = None        # (raised?, how): set by the first callback, on the audio thread

    def _open_backend(self):
        pyaudio = _pyaudio()
        self._pa = _open_pa()
        devs, apis = _devices_of(self._pa)
        dev = select_device(self.device_spec, self.channels, [d for d in devs if d.max_output_channels > 0], apis)
        self.device = dev
        # PyAudio's open() takes no suggested latency: PortAudio uses the device's default low latency
        # (``latency`` is accepted for parity with NativeStream and otherwise ignored)
        self._result = (self._inter, pyaudio.paContinue)
        self._underflow_flag = pyaudio.paOutputUnderflow
        try:
            with quiet_stderr():
                self._stream = self._pa.open(
                    format=pyaudio.paFloat32, channels=self.channels, rate=int(self.sample_rate), output=True,
                    output_device_index=dev.index, frames_per_buffer=self.frames_per_buffer,
                    stream_callback=self._callback, start=False)
        except (IOError, OSError, ValueError) as e:
            raise AudioDeviceError(f"cannot open output device {dev.describe()} at {self.sample_rate:g} Hz, "
                                   f"{self.frames_per_buffer} frames: {e}") from None

    def _callback(self, in_data, frame_count, time_info, status):
        # own cost from here on: the wait for the GIL before PyAudio could call us is not in it
        cpu0 = _thread_time_ns()
        wall0 = _perf_ns()
        c = self._counts
        if self._rt is None:
            self._rt = _raise_priority()
        if status & self._underflow_flag:
            c[2] += 1
        if frame_count == self.frames_per_buffer:
            try:
                self.processor.process(self._planar, when_busy="silence")
            except Exception:
                c[3] += 1
                self._planar.fill(0.0)
            np.copyto(self._inter_t, self._planar)
            result = self._result
        else:                       # PortAudio promised fixed buffers; stay correct anyway
            planar, inter, result = self._odd_buffers(frame_count)
            try:
                self.processor.process(planar, when_busy="silence")
            except Exception:
                c[3] += 1
                planar.fill(0.0)
            np.copyto(inter.reshape(frame_count, self.channels).T, planar)
        cpu = _thread_time_ns() - cpu0
        wall = _perf_ns() - wall0
        self._cpu.add(cpu * 1e-9, frame_count)
        deadline = self._deadline_ns if frame_count == self.frames_per_buffer else \
            int(frame_count * 1e9 / self.sample_rate)
        if wall > deadline and cpu <= deadline:
            self._stalls[0] += 1
        c[1] += frame_count
        c[0] += 1
        return result

    def _odd_buffers(self, n):
        b = self._odd.get(n)
        if b is None:
            inter = np.zeros(n * self.channels, np.float32)
            b = self._odd[n] = (np.zeros((self.channels, n), np.float32), inter, (inter, self._result[1]))
        return b

    def _start_backend(self):
        # The callback needs the GIL, and a full garbage collection holds it for milliseconds
        # when many objects are alive: collect now and move everything alive to the permanent
        # generation, so later collections stay short while the stream plays.
        gc.collect()
        gc.freeze()
        self._froze_gc = True
        # A callback waiting for the GIL gets it when the holder reaches its switch interval
        # (5 ms by default, longer than a 128-frame deadline): shorten it while the stream plays.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL))
        try:
            self._stream.start_stream()
        except (IOError, OSError) as e:
            raise AudioDeviceError(f"cannot start the output stream on {self.device.describe()}: {e}") from None

    def _close_backend(self, abort):
        if getattr(self, "_froze_gc", False):
            gc.unfreeze()
            self._froze_gc = False
            sys.setswitchinterval(self._switch_interval)
        st, self._stream = self._stream, None
        pa, self._pa = self._pa, None
        if self._error is not None:
            # the server or device died: PortAudio's stop/close would wait for it; leave them be
            _abandoned.append((st, pa))
            return
        try:
            if st is not None:
                try:
                    if not abort and st.is_active():
                        st.stop_stream()
                finally:
                    st.close()
        finally:
            if pa is not None:
                pa.terminate()

    def _backend_alive(self):
        st = self._stream
        if st is None:
            return False, "stream closed"
        try:
            if not st.is_active():
                return False, "PortAudio reports the stream inactive"
        except (IOError, OSError) as e:
            return False, f"PortAudio error: {e}"
        return True, ""

    def _backend_counts(self):
        c = self._counts
        return c[0], c[1], c[2], c[3]

    def _cpu_timing(self):
        return self._cpu, self._stalls[0]

    def _realtime(self):
        if self._rt is None:
            return None, "PyAudio: the callback takes the GIL"
        ok, how = self._rt
        return ok, f"{how}; PyAudio: the callback takes the GIL"

    def _output_latency(self):
        st = self._stream
        if st is None:
            return getattr(self, "_last_latency", float("nan"))
        try:
            self._last_latency = float(st.get_output_latency())
        except (IOError, OSError, AttributeError):
            self._last_latency = float("nan")
        return self._last_latency
