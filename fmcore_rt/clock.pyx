"""Sample clock: frames processed as a 64-bit atomic counter.

The audio thread is the only writer; anyone may read. Time on the audio path
comes from this counter, never from the system clock.
"""
from libc.stdint cimport uint64_t
from libcpp.atomic cimport memory_order_relaxed, memory_order_acquire, memory_order_release
import math


cdef class SampleClock:
    """Frames rendered so far; ``seconds`` derived from them at ``sample_rate``."""

    def __cinit__(self, double sample_rate=48000.0):
        if not (sample_rate > 0 and math.isfinite(sample_rate)):
            raise ValueError(f"sample_rate must be a positive number, got {sample_rate}")
        self._frames = new Counter64()
        self._sample_rate = sample_rate

    def __dealloc__(self):
        del self._frames

    cdef void advance(self, uint64_t n) noexcept nogil:
        self._frames.value.store(self._frames.value.load(memory_order_relaxed) + n, memory_order_release)

    cdef uint64_t now(self) noexcept nogil:
        return self._frames.value.load(memory_order_acquire)

    def add(self, uint64_t n):
        """Advance by ``n`` frames (for a single writer thread)."""
        self.advance(n)

    def reset(self, uint64_t frames=0):
        """Set the counter (only while no audio thread runs)."""
        self._frames.value.store(frames, memory_order_release)

    @property
    def frames(self):
        return self.now()

    @property
    def seconds(self):
        return self.now() / self._sample_rate

    @property
    def sample_rate(self):
        return self._sample_rate

    @sample_rate.setter
    def sample_rate(self, double sr):
        if not (sr > 0 and math.isfinite(sr)):
            raise ValueError(f"sample_rate must be a positive number, got {sr}")
        self._sample_rate = sr

    def __repr__(self):
        return f"<SampleClock {self.now()} frames = {self.seconds:.3f} s @ {self._sample_rate:g} Hz>"
