# cython: boundscheck=False, wraparound=False, cdivision=True
"""NativeStream: a PortAudio output stream whose callback never takes the GIL.

The callback is a C function (``noexcept nogil``) that hands PortAudio's own
non-interleaved float32 buffers to the processor's ``run_block``: no Python
object, no GIL, no allocation, no lock on the audio thread, so a busy Python
thread cannot make it miss a deadline. Controls reach the processor only
through the lock-free structures of ``fmcore_rt``.

On its first callback the audio thread asks for real-time scheduling
(``SCHED_FIFO``) unless it already has it; ``stats.realtime`` reports the
outcome. That one system call happens before the first block, outside the
real-time section the checker watches. Everything after it (counters, the
split into blocks, the busy check) is inside the section. A callback that
finds the processor busy on another thread writes silence and counts it
(``Processor.busy_skips``); it never waits.

Each callback's own cost is measured against its deadline (frames / sample
rate) in thread CPU time, which preemption or a late server wakeup cannot
inflate: ``stats.cpu_p50_us``/``cpu_p99_us``/``cpu_overruns``, kept in a
``TimingStats`` histogram; ``stats.stalls`` counts callbacks whose wall time
passed the deadline while their own CPU time did not (the machine held them
up). On a virtual machine the host may stop the virtual CPU while the callback
runs, and the kernel may charge that time to the thread: a rare callback then
shows a large CPU time that is not the stream's (the percentiles are immune).
The thread CPU clock costs two non-blocking ``clock_gettime`` calls per callback,
made just outside the checked section.
"""
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memset
from libcpp.atomic cimport atomic, memory_order_relaxed, memory_order_acquire, memory_order_release
from posix.types cimport pid_t
from posix.time cimport clock_gettime, timespec, CLOCK_THREAD_CPUTIME_ID

from fmcore_rt.timing cimport monotonic_ns

from fmcore_rt.processor cimport Processor
from fmcore_rt.rtcheck.hooks cimport fmrt_hooks_init, fmrt_rt_enter, fmrt_rt_exit

import os
import time

from fmcore_rt.streams import (AudioDeviceError, AudioStreamError, DeviceInfo, HostApiInfo, StreamBase,
                               quiet_stderr, select_device)

cdef extern from "portaudio.h" nogil:
    ctypedef int PaError
    ctypedef int PaDeviceIndex
    ctypedef int PaHostApiIndex
    ctypedef double PaTime
    ctypedef unsigned long PaSampleFormat
    ctypedef unsigned long PaStreamFlags
    ctypedef unsigned long PaStreamCallbackFlags
    ctypedef enum PaHostApiTypeId:
        paJACK
        paALSA
    ctypedef struct PaHostApiInfo:
        int structVersion
        PaHostApiTypeId type
        const char* name
        int deviceCount
        PaDeviceIndex defaultInputDevice
        PaDeviceIndex defaultOutputDevice
    ctypedef struct PaDeviceInfo:
        int structVersion
        const char* name
        PaHostApiIndex hostApi
        int maxInputChannels
        int maxOutputChannels
        PaTime defaultLowInputLatency
        PaTime defaultLowOutputLatency
        PaTime defaultHighInputLatency
        PaTime defaultHighOutputLatency
        double defaultSampleRate
    ctypedef struct PaStreamParameters:
        PaDeviceIndex device
        int channelCount
        PaSampleFormat sampleFormat
        PaTime suggestedLatency
        void* hostApiSpecificStreamInfo
    ctypedef struct PaStreamCallbackTimeInfo:
        PaTime inputBufferAdcTime
        PaTime currentTime
        PaTime outputBufferDacTime
    ctypedef struct PaStreamInfo:
        int structVersion
        PaTime inputLatency
        PaTime outputLatency
        double sampleRate
    ctypedef int PaStreamCallback(const void*, void*, unsigned long, const PaStreamCallbackTimeInfo*,
                                  PaStreamCallbackFlags, void*) noexcept nogil
    ctypedef void PaStreamFinishedCallback(void*) noexcept nogil

    PaError paNoError
    PaDeviceIndex paNoDevice
    PaSampleFormat paFloat32
    PaSampleFormat paNonInterleaved
    PaStreamFlags paClipOff
    PaStreamFlags paDitherOff
    PaStreamCallbackFlags paOutputUnderflow
    int paContinue

    PaError Pa_Initialize()
    PaError Pa_Terminate()
    const char* Pa_GetErrorText(PaError)
    const char* Pa_GetVersionText()
    PaHostApiIndex Pa_GetHostApiCount()
    const PaHostApiInfo* Pa_GetHostApiInfo(PaHostApiIndex)
    PaDeviceIndex Pa_GetDeviceCount()
    PaDeviceIndex Pa_GetDefaultOutputDevice()
    const PaDeviceInfo* Pa_GetDeviceInfo(PaDeviceIndex)
    PaError Pa_OpenStream(PaStream** stream, const PaStreamParameters* inp, const PaStreamParameters* outp,
                          double sampleRate, unsigned long framesPerBuffer, PaStreamFlags flags,
                          PaStreamCallback* callback, void* userData)
    PaError Pa_SetStreamFinishedCallback(PaStream*, PaStreamFinishedCallback*)
    PaError Pa_StartStream(PaStream*)
    PaError Pa_StopStream(PaStream*)
    PaError Pa_AbortStream(PaStream*)
    PaError Pa_CloseStream(PaStream*)
    PaError Pa_IsStreamActive(PaStream*)
    const PaStreamInfo* Pa_GetStreamInfo(PaStream*)

cdef extern from "pa_jack.h" nogil:
    PaError PaJack_SetClientName(const char* name)

cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    cdef struct sched_param:
        int sched_priority
    pthread_t pthread_self()
    int pthread_getschedparam(pthread_t, int* policy, sched_param* param)
    int pthread_setschedparam(pthread_t, int policy, const sched_param* param)

cdef extern from "<sched.h>" nogil:
    int SCHED_FIFO
    int SCHED_RR
    int sched_get_priority_max(int)
    int sched_get_priority_min(int)

fmrt_hooks_init()


cdef inline int64_t thread_cpu_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec

# JACK clients opened by this module are named after the program (ports "fmcore:out_0", ...)
_client_name = b"fmcore"


def set_jack_client_name(str name):
    """Name of the JACK client PortAudio opens (default "fmcore"); set before creating streams."""
    global _client_name
    _client_name = name.encode()


cdef void _pa_check(PaError err, str what) except *:
    if err < 0:
        raise AudioDeviceError(f"{what}: {Pa_GetErrorText(err).decode(errors='replace')} (PortAudio error {err})")


cdef PaError _initialize():
    cdef bytes name = _client_name
    PaJack_SetClientName(name)
    with quiet_stderr():
        return Pa_Initialize()


def portaudio_version():
    """The version text of the linked libportaudio."""
    return Pa_GetVersionText().decode(errors="replace")


def _host_apis():
    """PortAudio's host APIs (see ``fmcore_rt.streams.list_host_apis``)."""
    _pa_check(_initialize(), "cannot initialise PortAudio")
    try:
        return _host_apis_initialized()
    finally:
        Pa_Terminate()


def _devices():
    """Every device PortAudio sees (see ``fmcore_rt.streams.list_devices``)."""
    _pa_check(_initialize(), "cannot initialise PortAudio")
    try:
        return _devices_initialized()
    finally:
        Pa_Terminate()


cdef list _devices_initialized():
    cdef const PaDeviceInfo* d
    cdef const PaHostApiInfo* a
    cdef int i
    cdef PaDeviceIndex dflt = Pa_GetDefaultOutputDevice()
    out = []
    for i in range(Pa_GetDeviceCount()):
        d = Pa_GetDeviceInfo(i)
        if d == NULL:
            continue
        a = Pa_GetHostApiInfo(d.hostApi)
        out.append(DeviceInfo(
            index=i, name=d.name.decode(errors="replace"),
            host_api=a.name.decode(errors="replace") if a != NULL else "?",
            max_output_channels=d.maxOutputChannels, max_input_channels=d.maxInputChannels,
            default_sample_rate=d.defaultSampleRate, default_low_output_latency=d.defaultLowOutputLatency,
            default_high_output_latency=d.defaultHighOutputLatency, is_default_output=(i == dflt)))
    return out


cdef list _host_apis_initialized():
    cdef const PaHostApiInfo* a
    cdef int i
    out = []
    for i in range(Pa_GetHostApiCount()):
        a = Pa_GetHostApiInfo(i)
        if a != NULL:
            out.append(HostApiInfo(i, a.name.decode(errors="replace"), a.deviceCount, a.defaultOutputDevice))
    return out


# cores of streams whose server died: kept alive because the audio thread may still hold them
_abandoned = []


# ---- the audio thread --------------------------------------------------------------------

cdef int _pa_callback(const void* inp, void* outp, unsigned long nframes,
                      const PaStreamCallbackTimeInfo* ti, PaStreamCallbackFlags flags,
                      void* user) noexcept nogil:
    return (<_PaCore>user).on_callback(<float**>outp, nframes, flags)


cdef void _pa_finished(void* user) noexcept nogil:
    (<_PaCore>user).finished.store(1, memory_order_release)


cdef class _PaCore:
    """The C side of a NativeStream: the PortAudio stream and the counters its callback keeps."""

    def __cinit__(self):
        self.stream = NULL
        self.initialized = False
        self.callbacks.store(0)
        self.frames.store(0)
        self.underflows.store(0)
        self.render_errors.store(0)
        self.first_underflow.store(-1)
        self.rt_state.store(0)
        self.finished.store(0)
        self.ns_per_frame = 0
        self.cpu_timing = TimingStats()
        self.stalls.store(0)

    cdef int on_callback(self, float** out, unsigned long nframes, unsigned long flags) noexcept nogil:
        # the thread CPU clock is a system call: read around the checked section, not inside it
        cdef int64_t cpu0 = thread_cpu_ns(), wall0 = monotonic_ns(), cpu, wall, deadline
        if self.callbacks.load(memory_order_relaxed) == 0:
            self._raise_priority()     # one system call, before the first block, outside the section
        fmrt_rt_enter()                # the checker watches the glue as well as the render
        if flags & paOutputUnderflow:
            if self.underflows.fetch_add(1, memory_order_relaxed) == 0:
                self.first_underflow.store(<int64_t>self.callbacks.load(memory_order_relaxed), memory_order_relaxed)
        # busy (another thread inside the processor): silence, counted in busy_skips, no waiting
        cdef int failed = self.proc.run_callback(out, self.nchannels, nframes)
        if failed:
            self.render_errors.fetch_add(failed, memory_order_relaxed)
        self.frames.fetch_add(nframes, memory_order_relaxed)
        fmrt_rt_exit()
        cpu = thread_cpu_ns() - cpu0
        wall = monotonic_ns() - wall0
        deadline = <int64_t>(nframes * self.ns_per_frame)
        self.cpu_timing.record(cpu, <unsigned int>nframes)
        if wall > deadline and cpu <= deadline:
            self.stalls.store(self.stalls.load(memory_order_relaxed) + 1, memory_order_relaxed)
        self.callbacks.fetch_add(1, memory_order_release)
        return paContinue

    cdef void _raise_priority(self) noexcept nogil:
        # once, on the first callback, before any block is rendered
        cdef int policy = 0, err
        cdef sched_param sp
        cdef pthread_t me = pthread_self()
        if pthread_getschedparam(me, &policy, &sp) == 0 and (policy == SCHED_FIFO or policy == SCHED_RR):
            self.rt_state.store(2, memory_order_release)
            return
        if self.rt_priority <= 0:
            self.rt_state.store(-1000, memory_order_release)
            return
        sp.sched_priority = self.rt_priority
        if sp.sched_priority > sched_get_priority_max(SCHED_FIFO):
            sp.sched_priority = sched_get_priority_max(SCHED_FIFO)
        err = pthread_setschedparam(me, SCHED_FIFO, &sp)
        self.rt_state.store(1 if err == 0 else -err, memory_order_release)

    def __dealloc__(self):
        if self.stream != NULL:
            with nogil:
                Pa_AbortStream(self.stream)
                Pa_CloseStream(self.stream)
            self.stream = NULL
        if self.initialized:
            Pa_Terminate()
            self.initialized = False

    def open(self, Processor proc, int device, double sample_rate, int frames_per_buffer, int channels,
             double latency, int rt_priority):
        cdef PaStreamParameters op
        cdef PaError err
        self.proc = proc
        self.nchannels = channels
        self.max_block = proc.max_block
        self.rt_priority = rt_priority
        self.ns_per_frame = 1e9 / sample_rate
        self.cpu_timing = TimingStats(sample_rate)
        memset(&op, 0, sizeof(op))
        op.device = device
        op.channelCount = channels
        op.sampleFormat = paFloat32 | paNonInterleaved
        op.suggestedLatency = latency
        op.hostApiSpecificStreamInfo = NULL
        with nogil:
            err = Pa_OpenStream(&self.stream, NULL, &op, sample_rate, frames_per_buffer,
                                paClipOff | paDitherOff, _pa_callback, <void*>self)
        if err < 0:
            self.stream = NULL
            _pa_check(err, f"cannot open output device {device} at {sample_rate:g} Hz, "
                           f"{frames_per_buffer} frames, {channels} channels")
        Pa_SetStreamFinishedCallback(self.stream, _pa_finished)

    def start(self):
        cdef PaError err
        with nogil:
            err = Pa_StartStream(self.stream)
        _pa_check(err, "cannot start the output stream")

    def close(self, bint abort):
        cdef PaError err = 0
        if self.stream != NULL:
            with nogil:
                if abort:
                    Pa_AbortStream(self.stream)
                elif Pa_IsStreamActive(self.stream) == 1:
                    err = Pa_StopStream(self.stream)
                    if err < 0:
                        Pa_AbortStream(self.stream)
                Pa_CloseStream(self.stream)
            self.stream = NULL
        if self.initialized:
            Pa_Terminate()
            self.initialized = False
        self.proc = None

    def abandon(self):
        # The server or device died: PortAudio's stop/close would wait for it forever. Leave the
        # stream and PortAudio's initialisation alone (a few kilobytes, until the process ends).
        self.stream = NULL
        self.initialized = False
        _abandoned.append(self)

    def is_active(self):
        if self.stream == NULL:
            return -1
        return Pa_IsStreamActive(self.stream)

    def counts(self):
        return (self.callbacks.load(memory_order_acquire), self.frames.load(memory_order_relaxed),
                self.underflows.load(memory_order_relaxed), self.render_errors.load(memory_order_relaxed))

    def stall_count(self):
        return self.stalls.load(memory_order_relaxed)

    def first_underflow_at(self):
        return self.first_underflow.load(memory_order_relaxed)

    def rt(self):
        return self.rt_state.load(memory_order_acquire)

    def is_finished(self):
        return self.finished.load(memory_order_acquire) != 0

    def output_latency(self):
        cdef const PaStreamInfo* info
        if self.stream == NULL:
            return float("nan")
        info = Pa_GetStreamInfo(self.stream)
        return info.outputLatency if info != NULL else float("nan")

    def initialize(self):
        _pa_check(_initialize(), "cannot initialise PortAudio")
        self.initialized = True
        return _devices_initialized(), _host_apis_initialized()


class NativeStream(StreamBase):
    """An output stream whose PortAudio callback runs the processor in C, never taking the GIL.

    ``NativeStream(processor, sample_rate=48000, frames_per_buffer=128, channels=2, device=None)``;
    ``device`` is an index from ``fmcore devices`` / ``list_devices()``, part of a device name, or
    None for the default output. Use as a context manager, or ``start()`` / ``stop()``; ``stats``
    gives a :class:`~fmcore_rt.streams.StreamStats`. ``rt_priority`` is the SCHED_FIFO priority the
    audio thread asks for (0: do not ask). ``latency`` (seconds) is passed to PortAudio as the
    suggested output latency (default: the device's low latency). ``lock_memory=True`` locks the
    process's pages in RAM at start (``mlockall``), so no page fault can stall the audio thread.
    """

    backend = "native"

    def __init__(self, processor, sample_rate=48000, frames_per_buffer=128, channels=2, device=None, *,
                 rt_priority=70, latency=None, lock_memory=False):
        super().__init__(processor, sample_rate, frames_per_buffer, channels, device, lock_memory=lock_memory)
        self.rt_priority = int(rt_priority)
        self.latency = latency
        self._core = None

    def _open_backend(self):
        core = _PaCore()
        self._core = core
        devs, apis = core.initialize()
        outs = [d for d in devs if d.max_output_channels > 0]
        dev = select_device(self.device_spec, self.channels, outs, apis)
        self.device = dev
        latency = float(self.latency) if self.latency is not None else dev.default_low_output_latency
        core.open(self.processor, dev.index, self.sample_rate, self.frames_per_buffer, self.channels,
                  latency, self.rt_priority)

    def _start_backend(self):
        self._core.start()

    def _close_backend(self, abort):
        core = self._core
        if core is not None:
            self._last_rt = core.rt()
            self._last_latency = core.output_latency()
            self._core = None
            if self._error is not None:
                core.abandon()
            else:
                core.close(abort)
            # the final figures, read once no callback can run any more (one could run until
            # the stream stopped, rendering a block these counts would miss)
            self._last_counts = core.counts()
            self._last_cpu = (core.cpu_timing, core.stall_count())

    def _backend_alive(self):
        core = self._core
        if core is None:
            return False, "stream closed"
        if core.is_finished():
            return False, "PortAudio finished the stream"
        a = core.is_active()
        if a != 1:
            return False, "PortAudio reports the stream inactive" if a == 0 else \
                f"PortAudio error {a} on the stream"
        return True, ""

    def _backend_counts(self):
        core = self._core
        if core is None:
            return self._last_counts if hasattr(self, "_last_counts") else (0, 0, 0, 0)
        c = core.counts()
        self._last_counts = c
        return c

    def _cpu_timing(self):
        core = self._core
        if core is None:
            return getattr(self, "_last_cpu", (None, 0))
        return core.cpu_timing, core.stall_count()

    def _realtime(self):
        core = self._core
        s = core.rt() if core is not None else getattr(self, "_last_rt", 0)
        self._last_rt = s
        if s == 0:
            return None, "no callback yet"
        if s == 1:
            return True, f"SCHED_FIFO {self.rt_priority} set by fmcore"
        if s == 2:
            return True, "the audio server's thread was already real-time"
        if s == -1000:
            return False, "not requested"
        return False, f"SCHED_FIFO refused: {os.strerror(-s)}"

    def _output_latency(self):
        core = self._core
        if core is not None:
            self._last_latency = core.output_latency()
        return getattr(self, "_last_latency", float("nan"))
