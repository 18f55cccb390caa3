# cython: boundscheck=False, wraparound=False, cdivision=True
"""Single-producer single-consumer ring of fixed-size event records.

One thread pushes, one thread pops; neither ever blocks or allocates. Head and
tail sit on separate cache lines, and each side keeps a cached copy of the
other side's index so the common case touches only its own line.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport int64_t, uint64_t, uint16_t, uint8_t
from libc.string cimport memset
from libcpp.atomic cimport memory_order_relaxed, memory_order_acquire, memory_order_release

import numpy as np

#: numpy dtype with the layout of one ``RtEvent`` record
EVENT_DTYPE = np.dtype([
    ("frame", np.int64), ("value", np.float32), ("param", np.uint16), ("kind", np.uint8),
    ("status", np.uint8), ("data1", np.uint8), ("data2", np.uint8), ("pad0", np.uint8), ("pad1", np.uint8),
], align=True)
assert EVENT_DTYPE.itemsize == sizeof(RtEvent)

MIDI = EV_MIDI
PARAM = EV_PARAM
USER = EV_USER


cdef class SpscQueue:
    """Lock-free SPSC queue of ``RtEvent`` records (frame, MIDI bytes, parameter change).

    ``capacity`` is rounded up to a power of two. ``push`` returns False and
    counts a drop when full; ``pop`` returns None when empty.
    """

    def __cinit__(self, Py_ssize_t capacity=1024):
        if capacity < 1 or capacity > (1 << 24):
            raise ValueError(f"capacity must be in 1..{1 << 24}, got {capacity}")
        cdef uint64_t cap = 1
        while cap < <uint64_t>capacity:
            cap <<= 1
        self._capacity = cap
        self.mask = cap - 1
        self.idx = new SpscIndices()
        self.buf = <RtEvent*>PyMem_Malloc(cap * sizeof(RtEvent))
        if self.buf == NULL:
            raise MemoryError()
        memset(self.buf, 0, cap * sizeof(RtEvent))
        self.cached_tail = 0
        self.cached_head = 0

    def __dealloc__(self):
        del self.idx
        PyMem_Free(self.buf)

    cdef bint push(self, const RtEvent* ev) noexcept nogil:
        cdef uint64_t head = self.idx.head.load(memory_order_relaxed)
        if head - self.cached_tail >= self._capacity:
            self.cached_tail = self.idx.tail.load(memory_order_acquire)
            if head - self.cached_tail >= self._capacity:
                self.idx.dropped.store(self.idx.dropped.load(memory_order_relaxed) + 1, memory_order_relaxed)
                return False
        self.buf[head & self.mask] = ev[0]
        self.idx.head.store(head + 1, memory_order_release)
        self.idx.pushed.store(self.idx.pushed.load(memory_order_relaxed) + 1, memory_order_relaxed)
        return True

    cdef const RtEvent* front(self) noexcept nogil:
        cdef uint64_t tail = self.idx.tail.load(memory_order_relaxed)
        if tail == self.cached_head:
            self.cached_head = self.idx.head.load(memory_order_acquire)
            if tail == self.cached_head:
                return NULL
        return &self.buf[tail & self.mask]

    cdef bint pop(self, RtEvent* ev) noexcept nogil:
        cdef const RtEvent* f = self.front()
        if f == NULL:
            return False
        ev[0] = f[0]
        self.idx.tail.store(self.idx.tail.load(memory_order_relaxed) + 1, memory_order_release)
        return True

    cdef uint64_t size(self) noexcept nogil:
        return self.idx.head.load(memory_order_acquire) - self.idx.tail.load(memory_order_acquire)

    # ---- Python API (one producer thread, one consumer thread) -----------------

    def push_event(self, int64_t frame, int status=0, int data1=0, int data2=0,
                   int kind=EV_MIDI, int param=0, float value=0.0):
        """Push one record; False (and a counted drop) when the queue is full."""
        if not (0 <= status <= 255 and 0 <= data1 <= 255 and 0 <= data2 <= 255):
            raise ValueError(f"MIDI bytes must be 0..255, got ({status}, {data1}, {data2})")
        if not 0 <= kind <= 255 or not 0 <= param <= 65535:
            raise ValueError(f"kind must be 0..255 and param 0..65535, got {kind}, {param}")
        cdef RtEvent ev
        memset(&ev, 0, sizeof(ev))
        ev.frame = frame
        ev.status = <uint8_t>status
        ev.data1 = <uint8_t>data1
        ev.data2 = <uint8_t>data2
        ev.kind = <uint8_t>kind
        ev.param = <uint16_t>param
        ev.value = value
        cdef bint ok
        with nogil:
            ok = self.push(&ev)
        return ok

    def pop_event(self):
        """Pop one record as a tuple (frame, status, data1, data2, kind, param, value), or None."""
        cdef RtEvent ev
        cdef bint ok
        with nogil:
            ok = self.pop(&ev)
        if not ok:
            return None
        return (ev.frame, ev.status, ev.data1, ev.data2, ev.kind, ev.param, ev.value)

    def drain(self):
        """Pop everything queued into a numpy array of ``EVENT_DTYPE``."""
        cdef uint64_t n = self.size()
        out = np.zeros(n, EVENT_DTYPE)
        cdef RtEvent[::1] view = out
        cdef uint64_t i = 0
        with nogil:
            while i < n and self.pop(&view[i]):
                i += 1
        return out[:i]

    def __len__(self):
        return self.size()

    @property
    def capacity(self):
        return self._capacity

    @property
    def dropped(self):
        """Pushes refused because the queue was full."""
        return self.idx.dropped.load(memory_order_relaxed)

    @property
    def pushed(self):
        return self.idx.pushed.load(memory_order_relaxed)

    def __repr__(self):
        return f"<SpscQueue {self.size()}/{self._capacity} dropped={self.dropped}>"
