# cython: boundscheck=False, wraparound=False, cdivision=True
"""The processor protocol: what the host runs on the audio thread.

A processor allocates everything in ``prepare`` and renders blocks in
``render`` without the GIL. ``run_block`` wraps one render in a marked
real-time section (for the checker), flushes denormals, times it and advances
the sample clock: streams, the offline renderer and the validator all call it,
so one code path is tested offline and played live.

One thread at a time: ``process``, ``prepare`` and a subclass's ``reset``
take the processor with a wait-free try-acquire of an atomic flag
(``in_use``). A second Python caller gets ``ProcessorBusyError`` at once,
never a corrupted engine; an audio stream's callback that finds the
processor busy writes silence and counts the block (``busy_skips``), never
waits.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memset
from libcpp.atomic cimport memory_order_acquire, memory_order_release, memory_order_relaxed

from fmcore_rt.spsc cimport RtEvent, EV_MIDI
from fmcore_rt.timing cimport TimingStats, thread_cpu_ns
from fmcore_rt.clock cimport SampleClock
from fmcore_rt.rtcheck.hooks cimport fmrt_hooks_init, fmrt_rt_enter, fmrt_rt_exit

import functools
import math
import numpy as np

from fmcore_rt.messages import event_array, message_rows

cdef extern from "denormals.h" nogil:
    unsigned int fmrt_ftz_enter()
    void fmrt_ftz_exit(unsigned int old)

cdef enum:
    MAX_CHANNELS = 32

fmrt_hooks_init()


class ProcessorBusyError(RuntimeError):
    """Another thread is inside this processor (rendering, resetting or preparing it)."""


_HOLDERS = {USE_PROCESS: "process()", USE_CALLBACK: "an audio stream's callback", USE_PREPARE: "prepare()",
            USE_RESET: "reset()", USE_SETTLE: "settle()"}


def _events_array(events, Py_ssize_t nframes):
    """Events as an (n, 4) int64 array (frame, status, data1, data2), checked and sorted by frame."""
    if events is None:
        return np.empty((0, 4), np.int64)
    if not isinstance(events, np.ndarray):
        events = message_rows(events, frames=True)      # mido.Message & co.: time = frame offset
    arr = event_array(events, "frame offset", nframes)
    order = np.argsort(arr[:, 0], kind="stable")
    return arr[order]


cdef class Processor:
    """Base class of everything the host can run: synths, effects, test processors.

    Subclasses implement ``prepare_c`` (allocate for a sample rate and a
    maximum block) and ``render`` (``nogil``, no allocation, no locks). This
    base gives them the Python API: ``prepare(sample_rate, max_block)`` and
    ``process(out, events)``, and the statistics ``timing`` and ``clock``.
    """

    def __cinit__(self, *args, **kwargs):
        self.sample_rate = 0
        self.max_block = 0
        self.max_channels = MAX_CHANNELS
        self.prepared = False
        self._evbuf = NULL
        self._evcap = 0
        self.timing = TimingStats()
        self.cpu_timing = TimingStats()
        self.measure_cpu = False
        self.clock = SampleClock()
        self.in_use.store(USE_FREE)
        self.busy_skipped.store(0)

    def __dealloc__(self):
        PyMem_Free(self._evbuf)

    # ---- one thread at a time ------------------------------------------------------

    cdef int try_enter(self, int who) noexcept nogil:
        cdef int holder = USE_FREE
        if self.in_use.compare_exchange_strong(holder, who, memory_order_acquire, memory_order_relaxed):
            return USE_FREE
        return holder

    cdef void leave(self) noexcept nogil:
        self.in_use.store(USE_FREE, memory_order_release)

    cdef int enter_or_raise(self, int who, str what) except -1:
        cdef int holder = self.try_enter(who)
        if holder != USE_FREE:
            raise ProcessorBusyError(
                f"{type(self).__name__}.{what}: the processor is busy in {_HOLDERS.get(holder, 'another call')} "
                f"on another thread; one thread at a time may render, reset or prepare it")
        return 0

    @property
    def busy(self):
        """True while a thread is inside ``process``/``prepare``/``reset`` or a stream's callback."""
        return self.in_use.load(memory_order_acquire) != USE_FREE

    @property
    def busy_skips(self):
        """Blocks an audio callback (or ``process(when_busy="silence")``) gave silence to because the
        processor was busy on another thread."""
        return self.busy_skipped.load(memory_order_relaxed)

    cdef int run_callback(self, float** out, int nchannels, unsigned long nframes) noexcept nogil:
        cdef float* cur[MAX_CHANNELS]
        cdef unsigned long pos = 0
        cdef int m, c, failed = 0
        if self.try_enter(USE_CALLBACK) != USE_FREE:
            for c in range(nchannels):
                memset(out[c], 0, nframes * sizeof(float))
            self.busy_skipped.fetch_add(1, memory_order_relaxed)
            return 0
        while pos < nframes:
            m = <int>(nframes - pos) if nframes - pos < <unsigned long>self.max_block else self.max_block
            for c in range(nchannels):
                cur[c] = out[c] + pos
            if self.run_block(cur, nchannels, m, NULL, 0) < 0:
                failed += 1
                for c in range(nchannels):
                    memset(cur[c], 0, m * sizeof(float))
            pos += m
        self.leave()
        return failed

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        return 0

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        return 0

    cdef int run_block(self, float** out, int nchannels, int nframes,
                       const RtEvent* events, int nevents) noexcept nogil:
        # the CPU clock is a system call: read it around the wall-timed, marked section
        cdef bint cpu = self.measure_cpu
        cdef int64_t c0 = thread_cpu_ns() if cpu else 0
        cdef int64_t t0 = self.timing.begin()
        cdef unsigned int mode = fmrt_ftz_enter()
        fmrt_rt_enter()
        cdef int r = self.render(out, nchannels, nframes, events, nevents)
        fmrt_rt_exit()
        fmrt_ftz_exit(mode)
        self.timing.end(t0, <unsigned int>nframes)
        if cpu:
            self.cpu_timing.record(thread_cpu_ns() - c0, <unsigned int>nframes)
        self.clock.advance(<unsigned long long>nframes)
        return r

    def prepare(self, double sample_rate, int max_block):
        """Size every buffer for ``sample_rate`` and blocks of up to ``max_block`` frames.

        Call from the control thread while no audio thread runs this processor.
        """
        if not (math.isfinite(sample_rate) and 1000.0 <= sample_rate <= 768000.0):
            raise ValueError(f"sample_rate must be in 1000..768000 Hz, got {sample_rate}")
        if not 1 <= max_block <= 65536:
            raise ValueError(f"max_block must be in 1..65536 frames, got {max_block}")
        self.enter_or_raise(USE_PREPARE, "prepare()")
        try:
            self.prepare_c(sample_rate, max_block)
            self.sample_rate = sample_rate
            self.max_block = max_block
            self.timing = TimingStats(sample_rate)
            self.cpu_timing = TimingStats(sample_rate)
            self.clock = SampleClock(sample_rate)
            self._reserve_events(1024)
            self.prepared = True
        finally:
            self.leave()

    cdef int _reserve_events(self, int n) except -1:
        if n <= self._evcap:
            return 0
        cdef RtEvent* p = <RtEvent*>PyMem_Realloc(self._evbuf, n * sizeof(RtEvent))
        if p == NULL:
            raise MemoryError()
        self._evbuf = p
        self._evcap = n
        return 0

    def process(self, out, events=None, *, when_busy="raise"):
        """Render into ``out``, a C-contiguous float32 array shaped (channels, frames).

        ``events`` is a sequence of ``(frame_offset, status, data1, data2)``
        MIDI channel messages with offsets inside this call (or a structured
        array with fields frame/sample, status, data1, data2), or of MIDI
        message objects such as ``mido.Message`` whose ``time`` is the frame
        offset (see ``fmcore_rt.messages``); each is applied
        at its exact frame. Calls longer than ``max_block`` are split into
        blocks inside, without the GIL. Returns ``out``.

        One thread at a time: if another thread is inside this processor,
        ``when_busy="raise"`` (the default) raises ``ProcessorBusyError``;
        ``"silence"`` (for audio callbacks) zeroes ``out``, counts the call in
        ``busy_skips`` and returns at once.
        """
        if when_busy not in ("raise", "silence"):
            raise ValueError(f"when_busy must be 'raise' or 'silence', got {when_busy!r}")
        if not self.prepared:
            raise RuntimeError(f"{type(self).__name__}.prepare(sample_rate, max_block) must be called before process()")
        if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.ndim != 2:
            raise TypeError("out must be a float32 numpy array shaped (channels, frames)")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writeable")
        cdef int nch = out.shape[0]
        cdef Py_ssize_t n = out.shape[1]
        if not 1 <= nch <= MAX_CHANNELS:
            raise ValueError(f"out must have 1..{MAX_CHANNELS} channels, got {nch}")
        if n == 0:
            return out
        ev = _events_array(events, n)
        cdef Py_ssize_t nev = len(ev)
        cdef int holder = self.try_enter(USE_PROCESS)
        if holder != USE_FREE:
            if when_busy == "silence":
                out.fill(0.0)
                self.busy_skipped.fetch_add(1, memory_order_relaxed)
                return out
            raise ProcessorBusyError(
                f"{type(self).__name__}.process(): the processor is busy in {_HOLDERS.get(holder, 'another call')} "
                f"on another thread; one thread at a time may render, reset or prepare it")
        cdef Py_ssize_t i
        cdef long long[:, ::1] evv = ev
        cdef float[:, ::1] o = out
        cdef float* ptrs[MAX_CHANNELS]
        cdef int r
        try:
            self._reserve_events(<int>nev)
            for i in range(nev):
                memset(&self._evbuf[i], 0, sizeof(RtEvent))
                self._evbuf[i].frame = evv[i, 0]
                self._evbuf[i].kind = EV_MIDI
                self._evbuf[i].status = <uint8_t>evv[i, 1]
                self._evbuf[i].data1 = <uint8_t>evv[i, 2]
                self._evbuf[i].data2 = <uint8_t>evv[i, 3]
            for i in range(nch):
                ptrs[i] = &o[i, 0]
            with nogil:
                r = self._run_span(ptrs, nch, n, nev)
        finally:
            self.leave()
        if r < 0:
            raise RuntimeError(f"{type(self).__name__}.render failed with code {r}")
        return out

    cdef int _run_span(self, float** ptrs, int nch, Py_ssize_t n, Py_ssize_t nev) noexcept nogil:
        # Split a long call into blocks; events are made block-relative in place.
        cdef float* cur[MAX_CHANNELS]
        cdef Py_ssize_t pos = 0, e0 = 0, e1, j
        cdef int m, c, r = 0
        while pos < n:
            m = <int>(n - pos) if n - pos < self.max_block else self.max_block
            e1 = e0
            while e1 < nev and self._evbuf[e1].frame < pos + m:
                self._evbuf[e1].frame -= pos
                e1 += 1
            for c in range(nch):
                cur[c] = ptrs[c] + pos
            r = self.run_block(cur, nch, m, &self._evbuf[e0], <int>(e1 - e0))
            if r < 0:
                return r
            e0 = e1
            pos += m
        return r

    @property
    def stats(self):
        """Timing statistics of the blocks rendered so far (see ``TimingStats.snapshot``)."""
        return self.timing.snapshot()


cdef class _Exclusive:
    """``with _Exclusive(processor, USE_RESET, "reset()"):`` holds the processor or raises ProcessorBusyError."""
    cdef Processor p
    cdef int who
    cdef str what

    def __cinit__(self, Processor p, int who, str what):
        self.p = p
        self.who = who
        self.what = what

    def __enter__(self):
        self.p.enter_or_raise(self.who, self.what)
        return self.p

    def __exit__(self, *exc):
        self.p.leave()
        return False


def exclusive(int who, str what):
    """Decorator for a subclass's control method that must not run while another thread is
    inside the processor: ``@exclusive(USE_RESET, "reset()")`` holds it for the call or
    raises ProcessorBusyError."""
    def wrap(method):
        @functools.wraps(method)
        def held(Processor self, *args, **kwargs):
            with _Exclusive(self, who, what):
                return method(self, *args, **kwargs)
        return held
    return wrap


cdef class Gain(Processor):
    """A minimal processor: multiplies its input in place by a constant.

    Useful to test hosts and streams without an instrument.
    """
    cdef public float gain

    def __init__(self, float gain=1.0):
        self.gain = gain

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int c, i
        for c in range(nchannels):
            for i in range(nframes):
                out[c][i] *= self.gain
        return 0
