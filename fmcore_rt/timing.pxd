# C-level interface of the callback timing statistics.
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libcpp.atomic cimport atomic
from fmcore_rt.rt_atomics cimport Counter64

cdef enum:
    TIMING_SUBBINS = 16                # bins per octave (4.4 % wide)
    TIMING_OCTAVES = 24                # 64 ns .. ~1.07 s
    TIMING_BINS = TIMING_SUBBINS * TIMING_OCTAVES + 2

cdef int64_t monotonic_ns() noexcept nogil
cdef int64_t thread_cpu_ns() noexcept nogil   # a system call: outside real-time sections only

cdef class TimingStats:
    cdef atomic[uint64_t]* bins
    cdef Counter64* _count
    cdef Counter64* _sum_ns
    cdef Counter64* _max_ns
    cdef Counter64* _overruns
    cdef Counter64* _frames
    cdef Counter64* _last_frames
    cdef double _sample_rate

    # audio thread (single writer): time stamps around a callback
    cdef int64_t begin(self) noexcept nogil
    cdef void end(self, int64_t t0, uint32_t nframes) noexcept nogil
    cdef void record(self, int64_t duration_ns, uint32_t nframes) noexcept nogil
