# C-level interface of the single-producer single-consumer event queue.
from libc.stdint cimport int64_t, uint64_t, uint16_t, uint8_t
from fmcore_rt.rt_atomics cimport SpscIndices

cdef enum EventKind:
    EV_MIDI = 0      # status, data1, data2 are a MIDI channel message
    EV_PARAM = 1     # param, value: a parameter change
    EV_USER = 2      # free for the processor's own use

# One fixed-size record (24 bytes). `frame` is a frame offset in the block or an
# absolute sample time, as the queue's user defines it.
cdef struct RtEvent:
    int64_t frame
    float value
    uint16_t param
    uint8_t kind
    uint8_t status
    uint8_t data1
    uint8_t data2
    uint8_t pad0
    uint8_t pad1

cdef class SpscQueue:
    cdef SpscIndices* idx
    cdef RtEvent* buf
    cdef uint64_t _capacity
    cdef uint64_t mask
    cdef uint64_t cached_tail          # producer's last view of tail
    cdef uint64_t cached_head          # consumer's last view of head

    # producer thread only; False (and the drop counter incremented) when full
    cdef bint push(self, const RtEvent* ev) noexcept nogil
    # consumer thread only; False when empty
    cdef bint pop(self, RtEvent* ev) noexcept nogil
    # consumer thread only: the oldest record without removing it, or NULL
    cdef const RtEvent* front(self) noexcept nogil
    cdef uint64_t size(self) noexcept nogil
