# distutils: language = c++
# distutils: extra_compile_args = -std=c++17 -O3
# cython: boundscheck=False, wraparound=False, cdivision=True
"""Benchmark-only code: a writer thread that stops on a flag, and a
std::mutex-guarded parameter store as the reference the lock-free store is
measured against. Not part of the library."""
from libc.string cimport memcpy
from libcpp.atomic cimport atomic, memory_order_relaxed
from libcpp.mutex cimport mutex

from fmcore_rt.params cimport AtomicParams


cdef class Flag:
    cdef atomic[int] value
    def set(self):
        self.value.store(1)
    def clear(self):
        self.value.store(0)


cdef class MutexParams:
    """256 floats behind one std::mutex: the textbook alternative."""
    cdef mutex m
    cdef float values[256]
    cdef float snapshot[256]

    def write_until(self, Flag stop):
        cdef long n = 0
        with nogil:
            while not stop.value.load(memory_order_relaxed):
                self.m.lock()
                self.values[n & 255] = <float>n
                self.m.unlock()
                n += 1
        return n

    def read(self, long snapshots):
        cdef long i
        with nogil:
            for i in range(snapshots):
                self.m.lock()
                memcpy(self.snapshot, self.values, sizeof(self.values))
                self.m.unlock()


def lockfree_write_until(AtomicParams p, Flag stop):
    cdef long n = 0
    cdef int count = len(p)
    with nogil:
        while not stop.value.load(memory_order_relaxed):
            p.set_value(<int>(n % count), <float>(n & 1023))
            n += 1
    return n


def lockfree_read(AtomicParams p, long snapshots):
    cdef long i
    with nogil:
        for i in range(snapshots):
            p.begin_block(64)


def lockfree_set(AtomicParams p, long n):
    cdef long i
    with nogil:
        for i in range(n):
            p.set_value(<int>(i & 255), <float>(i & 1023))


from libc.stdint cimport int64_t, uint64_t
from fmcore_rt.timing cimport monotonic_ns
import numpy as np


def lockfree_raw_read(AtomicParams p, long snapshots):
    """The bare snapshot: one relaxed load per slot (the same work as the mutex's memcpy)."""
    cdef long i
    cdef int j
    cdef uint64_t acc = 0
    with nogil:
        for i in range(snapshots):
            for j in range(256):
                acc += p.cells.cell[j].load(memory_order_relaxed)
    return acc


def timed_reads(target, long snapshots):
    """Per-snapshot durations in ns (numpy int64) for either implementation."""
    out = np.empty(snapshots, np.int64)
    cdef int64_t[::1] o = out
    cdef long i
    cdef int j
    cdef int64_t t0
    cdef uint64_t acc = 0
    cdef AtomicParams p
    cdef MutexParams m
    if isinstance(target, AtomicParams):
        p = target
        with nogil:
            for i in range(snapshots):
                t0 = monotonic_ns()
                for j in range(256):
                    acc += p.cells.cell[j].load(memory_order_relaxed)
                o[i] = monotonic_ns() - t0
    else:
        m = target
        with nogil:
            for i in range(snapshots):
                t0 = monotonic_ns()
                m.m.lock()
                memcpy(m.snapshot, m.values, sizeof(m.values))
                m.m.unlock()
                o[i] = monotonic_ns() - t0
    return out
