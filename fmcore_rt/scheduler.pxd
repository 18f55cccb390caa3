# C-level interface of the event scheduler: time-ordered events for the audio thread.
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from libcpp.atomic cimport atomic
from fmcore_rt.spsc cimport SpscQueue, RtEvent
from fmcore_rt.rt_atomics cimport SpscIndices, Counter64

cdef enum:
    SCHED_MOVE_MAX = 1024       # queue records moved into the heap per block, at most
    SCHED_MIN_BUDGET = 16       # events applied per block, at least
    SCHED_RETIRE_CAP = 8        # retired timelines waiting for the control thread (power of two)

# One scheduled event: due at `key` (absolute sample), ties in `seq` (arrival) order.
cdef struct HeapNode:
    int64_t key
    uint64_t seq
    RtEvent ev                  # ev.pad0: 1 = it reached the audio thread after its time

# A whole event list handed over at once, sorted by absolute sample time (ev.frame).
cdef struct Timeline:
    RtEvent* ev
    int64_t n

cdef class EventScheduler:
    cdef readonly SpscQueue queue       # live events: control thread -> audio thread
    cdef HeapNode* heap                 # audio thread only
    cdef int heap_n
    cdef int heap_cap
    cdef uint64_t seq
    cdef uint64_t prev_avail            # queue head seen at the previous block's start
    cdef atomic[uintptr_t]* pending     # a published Timeline* (1: clear), 0: nothing new
    cdef Timeline* tl                   # the timeline being played (audio thread)
    cdef int64_t tl_pos
    cdef int64_t tl_late_end            # timeline events before this index came in late
    cdef uintptr_t retire_slots[8]
    cdef SpscIndices* retire_idx
    cdef int64_t b_now                  # the block being rendered: [b_now, b_end)
    cdef int64_t b_end
    cdef int b_left                     # events it may still apply
    cdef Counter64* rate_q8             # events per frame, in 1/256
    cdef Counter64* c_applied
    cdef Counter64* c_deferred
    cdef Counter64* c_late
    cdef Counter64* c_tl_pos
    cdef Counter64* c_tl_len

    # audio thread: start a block (adopt a timeline, move queued events, set the budget)
    cdef void begin_block(self, int64_t now, int nframes) noexcept nogil
    # audio thread: offset in the block of the next event to apply (0 if overdue), or the block
    # length when there is none or the block's budget is spent
    cdef int next_offset(self) noexcept nogil
    # audio thread: take that event (call only after next_offset() returned < block length)
    cdef void pop(self, RtEvent* ev) noexcept nogil
    cdef int budget_for(self, int nframes) noexcept nogil
    cdef void _heap_push(self, const RtEvent* ev, int64_t key, int late) noexcept nogil
    cdef void _heap_pop(self, HeapNode* out) noexcept nogil
    cdef void _adopt_timeline(self) noexcept nogil
    cdef int _reclaim(self) except -1
    cdef int _swap_pending(self, uintptr_t p) except -1
