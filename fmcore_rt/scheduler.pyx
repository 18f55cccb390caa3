# cython: boundscheck=False, wraparound=False, cdivision=True
"""EventScheduler: time-ordered events for the audio thread, with bounded work per block.

Two sources feed it, both read by the audio thread by sample time:

- live events: control threads push ``RtEvent`` records (absolute sample time,
  or -1 for "the next block") into an SPSC queue; at each block start the audio
  thread moves up to ``SCHED_MOVE_MAX`` of them into a preallocated binary heap
  ordered by (time, arrival). An event due now never waits behind one
  scheduled later (the queue alone is FIFO: a note for one second ahead would
  hold up everything sent after it).
- a timeline: a whole sorted event list (a song) built on the control thread
  and published with one atomic pointer swap. The audio thread walks it with
  a cursor, so playback needs no thread pushing events on time, and no GIL.

Each block applies at most ``budget(nframes)`` events (``events_per_frame``
per frame, at least ``SCHED_MIN_BUDGET``); the rest stay where they are and
are applied first in the next block, counted as ``deferred``. So a burst of
thousands of events spreads over a few blocks instead of overrunning one.
Events that reached the audio thread after their time are counted ``late``.

Replaced timelines go back on a retire ring and are freed by the control
thread (``publish``, ``clear_timeline``, ``reset``). Nothing here allocates,
locks or calls the system on the audio thread. It knows nothing about MIDI
beyond carrying the bytes: the processor decides what an event means.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport int64_t, uint64_t, uint8_t, uintptr_t, INT64_MAX
from libc.string cimport memset
from libcpp.atomic cimport memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel

from fmcore_rt.spsc cimport EV_MIDI
from fmcore_rt.rt_atomics cimport new_atomic_array, delete_atomic_array

import math
import numpy as np
from fmcore_rt.messages import event_array

DEF CLEAR = 1                   # in `pending`: stop the current timeline


cdef inline bint node_lt(const HeapNode* a, const HeapNode* b) noexcept nogil:
    return a.key < b.key or (a.key == b.key and a.seq < b.seq)


cdef void _free_timeline(uintptr_t p):
    cdef Timeline* t
    if p > CLEAR:
        t = <Timeline*>p
        PyMem_Free(t.ev)
        PyMem_Free(t)


cdef class EventScheduler:
    """Live events (an SPSC queue into a time-ordered heap) and a published timeline, merged by time.

    ``EventScheduler(queue_capacity=4096, heap_capacity=8192, events_per_frame=2.0)``. The control
    side pushes into ``queue`` (one producer) and calls ``publish``/``clear_timeline``; the audio
    thread calls ``begin_block``, ``next_offset`` and ``pop`` (C level). Counters: ``applied``,
    ``deferred`` (held over to a later block by the per-block bound), ``late`` (arrived after
    their time), ``timeline_position`` / ``timeline_length``.
    """

    def __cinit__(self, int queue_capacity=4096, int heap_capacity=8192, double events_per_frame=2.0):
        if not 1 <= heap_capacity <= (1 << 22):
            raise ValueError(f"heap_capacity must be in 1..{1 << 22}, got {heap_capacity}")
        self.queue = SpscQueue(queue_capacity)
        self.heap = <HeapNode*>PyMem_Malloc(heap_capacity * sizeof(HeapNode))
        if self.heap == NULL:
            raise MemoryError()
        memset(self.heap, 0, heap_capacity * sizeof(HeapNode))   # touch the pages now, not on the audio thread
        self.heap_cap = heap_capacity
        self.heap_n = 0
        self.seq = 0
        self.prev_avail = 0
        self.pending = new_atomic_array[uintptr_t](1)
        self.tl = NULL
        self.tl_pos = 0
        self.tl_late_end = 0
        self.retire_idx = new SpscIndices()
        self.b_now = 0
        self.b_end = 0
        self.b_left = 0
        self.rate_q8 = new Counter64()
        self.c_applied = new Counter64()
        self.c_deferred = new Counter64()
        self.c_late = new Counter64()
        self.c_tl_pos = new Counter64()
        self.c_tl_len = new Counter64()
        self.events_per_frame = events_per_frame

    def __dealloc__(self):
        if self.retire_idx != NULL and self.pending != NULL:
            self._reclaim()
            _free_timeline(self.pending[0].exchange(0))
            _free_timeline(<uintptr_t>self.tl)
            self.tl = NULL
        if self.pending != NULL:
            delete_atomic_array[uintptr_t](self.pending)
        del self.retire_idx
        del self.rate_q8
        del self.c_applied
        del self.c_deferred
        del self.c_late
        del self.c_tl_pos
        del self.c_tl_len
        PyMem_Free(self.heap)

    # ---- audio thread ----------------------------------------------------------------

    cdef int budget_for(self, int nframes) noexcept nogil:
        cdef int64_t b = (<int64_t>nframes * <int64_t>self.rate_q8.value.load(memory_order_relaxed)) >> 8
        return <int>b if b > SCHED_MIN_BUDGET else SCHED_MIN_BUDGET

    cdef void _heap_push(self, const RtEvent* ev, int64_t key, int late) noexcept nogil:
        cdef HeapNode node
        node.key = key
        node.seq = self.seq
        self.seq += 1
        node.ev = ev[0]
        node.ev.pad0 = <uint8_t>late
        cdef int i = self.heap_n, p
        self.heap_n += 1
        while i > 0:
            p = (i - 1) >> 1
            if not node_lt(&node, &self.heap[p]):
                break
            self.heap[i] = self.heap[p]
            i = p
        self.heap[i] = node

    cdef void _heap_pop(self, HeapNode* out) noexcept nogil:
        out[0] = self.heap[0]
        self.heap_n -= 1
        cdef int n = self.heap_n
        if n == 0:
            return
        cdef HeapNode last = self.heap[n]
        cdef int i = 0, c
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            if c + 1 < n and node_lt(&self.heap[c + 1], &self.heap[c]):
                c += 1
            if not node_lt(&self.heap[c], &last):
                break
            self.heap[i] = self.heap[c]
            i = c
        self.heap[i] = last

    cdef void _adopt_timeline(self) noexcept nogil:
        cdef uint64_t head, tail
        cdef uintptr_t p
        cdef int64_t lo, hi, mid
        if self.pending[0].load(memory_order_relaxed) == 0:
            return
        head = self.retire_idx.head.load(memory_order_relaxed)
        tail = self.retire_idx.tail.load(memory_order_acquire)
        if self.tl != NULL and head - tail >= SCHED_RETIRE_CAP:
            return                      # no room to hand the old one back yet: next block
        p = self.pending[0].exchange(0, memory_order_acq_rel)
        if p == 0:
            return
        if self.tl != NULL:
            self.retire_slots[head & (SCHED_RETIRE_CAP - 1)] = <uintptr_t>self.tl
            self.retire_idx.head.store(head + 1, memory_order_release)
        self.tl = <Timeline*>(0 if p == CLEAR else p)
        self.tl_pos = 0
        self.tl_late_end = 0
        self.c_tl_pos.value.store(0, memory_order_relaxed)
        self.c_tl_len.value.store(<uint64_t>(self.tl.n if self.tl != NULL else 0), memory_order_relaxed)
        if self.tl != NULL:
            # events before this block came too late: binary search, no scan
            lo = 0
            hi = self.tl.n
            while lo < hi:
                mid = (lo + hi) >> 1
                if self.tl.ev[mid].frame < self.b_now:
                    lo = mid + 1
                else:
                    hi = mid
            self.tl_late_end = lo
            if lo:
                self.c_late.value.fetch_add(<uint64_t>lo, memory_order_relaxed)

    cdef void begin_block(self, int64_t now, int nframes) noexcept nogil:
        cdef const RtEvent* f
        cdef RtEvent ev
        cdef int moved = 0
        cdef uint64_t tail, avail, mark = self.prev_avail
        cdef int64_t key
        cdef int late
        self.b_now = now
        self.b_end = now + nframes
        self.b_left = self.budget_for(nframes)
        self._adopt_timeline()
        avail = self.queue.idx.head.load(memory_order_acquire)
        while moved < SCHED_MOVE_MAX and self.heap_n < self.heap_cap:
            tail = self.queue.idx.tail.load(memory_order_relaxed)
            if not self.queue.pop(&ev):
                break
            moved += 1
            late = 0
            if ev.frame < 0:
                # "the next block": a record already there at the previous block was held over
                key = now - 1 if tail < mark else now
            else:
                key = ev.frame
                if key < now and tail >= mark:
                    late = 1            # it was not there when its time came
                    self.c_late.value.fetch_add(1, memory_order_relaxed)
            self._heap_push(&ev, key, late)
        self.prev_avail = avail

    cdef int next_offset(self) noexcept nogil:
        cdef int64_t best = INT64_MAX, f
        if self.b_left <= 0:
            return <int>(self.b_end - self.b_now)
        if self.heap_n:
            best = self.heap[0].key
        if self.tl != NULL and self.tl_pos < self.tl.n:
            f = self.tl.ev[self.tl_pos].frame
            if f <= best:
                best = f
        if best >= self.b_end:
            return <int>(self.b_end - self.b_now)
        if best <= self.b_now:
            return 0
        return <int>(best - self.b_now)

    cdef void pop(self, RtEvent* ev) noexcept nogil:
        cdef HeapNode node
        cdef bint deferred
        if (self.tl != NULL and self.tl_pos < self.tl.n
                and (self.heap_n == 0 or self.tl.ev[self.tl_pos].frame <= self.heap[0].key)):
            ev[0] = self.tl.ev[self.tl_pos]
            deferred = ev.frame < self.b_now and self.tl_pos >= self.tl_late_end
            self.tl_pos += 1
            self.c_tl_pos.value.store(<uint64_t>self.tl_pos, memory_order_relaxed)
        else:
            self._heap_pop(&node)
            ev[0] = node.ev
            deferred = node.key < self.b_now and node.ev.pad0 == 0
            ev.pad0 = 0
        if deferred:
            self.c_deferred.value.fetch_add(1, memory_order_relaxed)
        self.c_applied.value.fetch_add(1, memory_order_relaxed)
        self.b_left -= 1

    # ---- control thread --------------------------------------------------------------

    cdef int _reclaim(self) except -1:
        cdef uint64_t tail = self.retire_idx.tail.load(memory_order_relaxed)
        cdef uint64_t head = self.retire_idx.head.load(memory_order_acquire)
        while tail != head:
            _free_timeline(self.retire_slots[tail & (SCHED_RETIRE_CAP - 1)])
            tail += 1
            self.retire_idx.tail.store(tail, memory_order_release)
        return 0

    def publish(self, events, int64_t start=0):
        """Hand ``events`` to the audio thread as the timeline to play; returns how many.

        ``events``: a sequence of ``(frame, status, data1, data2)`` MIDI channel messages (or a
        structured array with fields frame/sample, status, data1, data2); each plays at absolute
        sample ``start + frame``. The list is copied and sorted here (equal times keep their
        order); the audio thread adopts it whole at its next block, replacing the timeline it
        was playing. Events whose time has already passed then play at once, counted ``late``.
        """
        arr = event_array(events)
        if start < 0:
            raise ValueError(f"start must be a sample time >= 0, got {start}")
        order = np.argsort(arr[:, 0], kind="stable")
        arr = np.ascontiguousarray(arr[order])
        cdef long long[:, ::1] a = arr
        cdef Py_ssize_t n = arr.shape[0], i
        cdef Timeline* t = <Timeline*>PyMem_Malloc(sizeof(Timeline))
        if t == NULL:
            raise MemoryError()
        t.ev = <RtEvent*>PyMem_Malloc(max(1, n) * sizeof(RtEvent))
        if t.ev == NULL:
            PyMem_Free(t)
            raise MemoryError()
        memset(t.ev, 0, max(1, n) * sizeof(RtEvent))
        for i in range(n):
            t.ev[i].frame = start + a[i, 0]
            t.ev[i].kind = EV_MIDI
            t.ev[i].status = <uint8_t>a[i, 1]
            t.ev[i].data1 = <uint8_t>a[i, 2]
            t.ev[i].data2 = <uint8_t>a[i, 3]
        t.n = n
        self._swap_pending(<uintptr_t>t)
        return int(n)

    def clear_timeline(self):
        """Stop the timeline at the audio thread's next block (what it already applied stays)."""
        self._swap_pending(CLEAR)

    cdef int _swap_pending(self, uintptr_t p) except -1:
        self._reclaim()
        _free_timeline(self.pending[0].exchange(p, memory_order_acq_rel))   # never adopted: still ours
        return 0

    def reset(self):
        """Drop every queued and scheduled event and the timeline (only while no audio thread runs)."""
        self.queue.drain()
        self.heap_n = 0
        self.prev_avail = self.queue.idx.head.load(memory_order_acquire)
        self._reclaim()
        _free_timeline(self.pending[0].exchange(0))
        _free_timeline(<uintptr_t>self.tl)
        self.tl = NULL
        self.tl_pos = 0
        self.tl_late_end = 0
        self.c_tl_pos.value.store(0)
        self.c_tl_len.value.store(0)

    def run_block(self, int64_t now, int nframes):
        """One block as the audio thread sees it: the events applied, as (offset, status, data1, data2).

        For tests and tools that drive the scheduler without a processor (not while one runs).
        """
        if nframes < 1:
            raise ValueError("nframes must be >= 1")
        out = []
        cdef RtEvent ev
        cdef int off
        self.begin_block(now, nframes)
        while True:
            off = self.next_offset()
            if off >= nframes:
                break
            self.pop(&ev)
            out.append((off, ev.status, ev.data1, ev.data2))
        return out

    def budget(self, int nframes):
        """Events a block of ``nframes`` frames may apply (the rest wait for the next block)."""
        return self.budget_for(nframes)

    @property
    def events_per_frame(self):
        """Events applied per frame of a block, at most (at least ``SCHED_MIN_BUDGET`` per block)."""
        return self.rate_q8.value.load(memory_order_relaxed) / 256.0

    @events_per_frame.setter
    def events_per_frame(self, double v):
        if not (math.isfinite(v) and 1.0 / 256 <= v <= 1024):
            raise ValueError(f"events_per_frame must be in 1/256..1024, got {v}")
        self.rate_q8.value.store(<uint64_t>(v * 256.0 + 0.5), memory_order_relaxed)

    @property
    def applied(self):
        return self.c_applied.value.load(memory_order_relaxed)

    @property
    def deferred(self):
        """Events applied in a later block than their own because of the per-block bound."""
        return self.c_deferred.value.load(memory_order_relaxed)

    @property
    def late(self):
        """Events that reached the audio thread after their time (applied at the next block)."""
        return self.c_late.value.load(memory_order_relaxed)

    @property
    def timeline_position(self):
        """Events of the current timeline applied so far."""
        return self.c_tl_pos.value.load(memory_order_relaxed)

    @property
    def timeline_length(self):
        """Events of the timeline the audio thread plays (0 before it adopted one)."""
        return self.c_tl_len.value.load(memory_order_relaxed)

    @property
    def heap_capacity(self):
        return self.heap_cap

    def __repr__(self):
        return (f"<EventScheduler applied={self.applied} deferred={self.deferred} late={self.late} "
                f"timeline {self.timeline_position}/{self.timeline_length}>")
