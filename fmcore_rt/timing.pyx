# cython: boundscheck=False, wraparound=False, cdivision=True
"""Callback timing statistics: a lock-free log-scale histogram of durations.

The audio thread is the single writer: two monotonic clock reads per block and
a few relaxed atomic stores, nothing else. Bins are 1/16 octave wide (4.4 %)
from 64 ns to about a second, so percentiles are good to a few percent while
the maximum is kept exactly. Readers never stop the writer; a read taken while
a block is being recorded may be off by that one block.
"""
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libcpp.atomic cimport atomic, memory_order_relaxed, memory_order_acquire, memory_order_release
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID

from fmcore_rt.rt_atomics cimport new_atomic_array, delete_atomic_array
import math

cdef extern from *:
    int __builtin_clzll(unsigned long long) nogil

ctypedef atomic[uint64_t] atomic_u64


cdef int64_t monotonic_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)   # vDSO: no system call on Linux
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef int64_t thread_cpu_ns() noexcept nogil:
    # CPU time of the calling thread. A real system call (the vDSO does not serve
    # CPU-time clocks): never call it inside a real-time section.
    cdef timespec ts
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline int bin_of(uint64_t ns) noexcept nogil:
    if ns < 64:
        return 0
    cdef int msb = 63 - __builtin_clzll(ns)
    cdef int octave = msb - 6
    if octave >= TIMING_OCTAVES:
        return TIMING_BINS - 1
    return 1 + octave * TIMING_SUBBINS + <int>((ns >> (msb - 4)) & 15)


cdef double bin_low(int b):
    if b == 0:
        return 0.0
    if b == TIMING_BINS - 1:
        return float(64 << TIMING_OCTAVES)
    cdef int octave = (b - 1) // TIMING_SUBBINS
    cdef int sub = (b - 1) % TIMING_SUBBINS
    return float((16 + sub) << (octave + 2))


cdef inline void bump(atomic_u64* c, uint64_t by) noexcept nogil:
    # single writer: a relaxed load and store is enough and cheaper than fetch_add
    c.store(c.load(memory_order_relaxed) + by, memory_order_relaxed)


cdef class TimingStats:
    """Durations of audio callbacks against their deadline (frames / sample_rate).

    ``snapshot()`` (or the properties) gives count, mean, p50/p99/p99.9/max in
    microseconds and the number of overruns, read without stopping the writer.
    """

    def __cinit__(self, double sample_rate=48000.0):
        if not (sample_rate > 0 and math.isfinite(sample_rate)):
            raise ValueError(f"sample_rate must be a positive number, got {sample_rate}")
        self._sample_rate = sample_rate
        self.bins = new_atomic_array[uint64_t](TIMING_BINS)
        self._count = new Counter64()
        self._sum_ns = new Counter64()
        self._max_ns = new Counter64()
        self._overruns = new Counter64()
        self._frames = new Counter64()
        self._last_frames = new Counter64()

    def __dealloc__(self):
        delete_atomic_array[uint64_t](self.bins)
        del self._count
        del self._sum_ns
        del self._max_ns
        del self._overruns
        del self._frames
        del self._last_frames

    cdef int64_t begin(self) noexcept nogil:
        return monotonic_ns()

    cdef void end(self, int64_t t0, uint32_t nframes) noexcept nogil:
        self.record(monotonic_ns() - t0, nframes)

    cdef void record(self, int64_t duration_ns, uint32_t nframes) noexcept nogil:
        if duration_ns < 0:
            duration_ns = 0
        cdef uint64_t d = <uint64_t>duration_ns
        bump(&self.bins[bin_of(d)], 1)
        bump(&self._sum_ns.value, d)
        bump(&self._frames.value, nframes)
        if d > self._max_ns.value.load(memory_order_relaxed):
            self._max_ns.value.store(d, memory_order_relaxed)
        if nframes and <double>d > nframes * 1e9 / self._sample_rate:
            bump(&self._overruns.value, 1)
        self._last_frames.value.store(nframes, memory_order_relaxed)
        # count last, with release: a reader that sees it sees the bins before it
        self._count.value.store(self._count.value.load(memory_order_relaxed) + 1, memory_order_release)

    # ---- Python API ----------------------------------------------------------

    def add(self, double duration_s, uint32_t frames):
        """Record one callback of ``duration_s`` seconds for ``frames`` frames (single writer)."""
        if not math.isfinite(duration_s) or duration_s < 0:
            raise ValueError(f"duration must be a finite number >= 0, got {duration_s}")
        self.record(<int64_t>(duration_s * 1e9), frames)

    def reset(self):
        """Clear all counts (only while no audio thread records)."""
        cdef int i
        for i in range(TIMING_BINS):
            self.bins[i].store(0, memory_order_relaxed)
        self._count.value.store(0, memory_order_relaxed)
        self._sum_ns.value.store(0, memory_order_relaxed)
        self._max_ns.value.store(0, memory_order_relaxed)
        self._overruns.value.store(0, memory_order_relaxed)
        self._frames.value.store(0, memory_order_relaxed)
        self._last_frames.value.store(0, memory_order_relaxed)

    def histogram(self):
        """(lower edges in µs, counts) of the non-empty range of bins."""
        counts = [self.bins[i].load(memory_order_relaxed) for i in range(TIMING_BINS)]
        edges = [bin_low(i) / 1000.0 for i in range(TIMING_BINS)]
        nz = [i for i, c in enumerate(counts) if c]
        if not nz:
            return [], []
        first, last = nz[0], nz[len(nz) - 1]
        return edges[first:last + 1], counts[first:last + 1]

    def percentile(self, double q):
        """Duration in µs below which a fraction ``q`` (0..1) of callbacks fall."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], got {q}")
        cdef uint64_t n = self._count.value.load(memory_order_acquire)
        if n == 0:
            return float("nan")
        cdef double mx = self._max_ns.value.load(memory_order_relaxed)
        cdef double want = q * n
        cdef double seen = 0, c, lo, hi
        cdef int i
        for i in range(TIMING_BINS):
            c = self.bins[i].load(memory_order_relaxed)
            if c and seen + c >= want:
                lo = bin_low(i)
                hi = bin_low(i + 1) if i + 1 < TIMING_BINS else mx
                if hi > mx:
                    hi = mx
                if lo > hi:
                    lo = hi
                return (lo + (hi - lo) * max(0.0, want - seen) / c) / 1000.0
            seen += c
        return mx / 1000.0

    def snapshot(self):
        """A dict of the statistics; durations in µs, ``*_ratio`` as fractions of the deadline."""
        cdef uint64_t n = self._count.value.load(memory_order_acquire)
        frames = self._last_frames.value.load(memory_order_relaxed)
        deadline_us = frames * 1e6 / self._sample_rate if frames else float("nan")
        s = {
            "callbacks": n,
            "frames": self._frames.value.load(memory_order_relaxed),
            "mean_us": (self._sum_ns.value.load(memory_order_relaxed) / n / 1000.0) if n else float("nan"),
            "p50_us": self.percentile(0.5),
            "p99_us": self.percentile(0.99),
            "p999_us": self.percentile(0.999),
            "max_us": self._max_ns.value.load(memory_order_relaxed) / 1000.0 if n else float("nan"),
            "overruns": self._overruns.value.load(memory_order_relaxed),
            "deadline_us": deadline_us,
        }
        for k in ("p50", "p99", "p999", "max"):
            s[k + "_ratio"] = s[k + "_us"] / deadline_us if frames else float("nan")
        return s

    @property
    def count(self):
        return self._count.value.load(memory_order_acquire)

    @property
    def overruns(self):
        return self._overruns.value.load(memory_order_relaxed)

    @property
    def max_us(self):
        return self._max_ns.value.load(memory_order_relaxed) / 1000.0

    @property
    def sample_rate(self):
        return self._sample_rate

    def __repr__(self):
        s = self.snapshot()
        return (f"<TimingStats {s['callbacks']} callbacks, p50 {s['p50_us']:.1f} µs, "
                f"p99 {s['p99_us']:.1f} µs, max {s['max_us']:.1f} µs, overruns {s['overruns']}>")
