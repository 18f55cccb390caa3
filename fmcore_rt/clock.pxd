# C-level interface of the sample clock.
from libc.stdint cimport uint64_t
from fmcore_rt.rt_atomics cimport Counter64

cdef class SampleClock:
    cdef Counter64* _frames
    cdef double _sample_rate
    # audio thread: add n frames (single writer: a relaxed load and a release store)
    cdef void advance(self, uint64_t n) noexcept nogil
    # any thread
    cdef uint64_t now(self) noexcept nogil
