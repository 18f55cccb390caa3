# cython: boundscheck=False, wraparound=False, cdivision=True
"""Concurrency stress loops for the tests and benchmarks (not a public API).

Each function runs a tight loop without the GIL, so two Python threads calling
two of them really run at the same time on two cores. Loops are bounded by a
count and by wall time, so a bug shows up as a wrong count, never as a hang.
"""
from libc.stdint cimport int64_t, uint32_t, uint64_t, uintptr_t
from libc.string cimport memset
from libcpp.atomic cimport atomic, memory_order_acquire, memory_order_release

cdef extern from "<sched.h>" nogil:
    int sched_yield()

from fmcore_rt.params cimport AtomicParams
from fmcore_rt.spsc cimport SpscQueue, RtEvent
from fmcore_rt.pool cimport RtPool
from fmcore_rt.processor cimport Processor, USE_FREE, USE_PROCESS
from fmcore_rt.timing cimport monotonic_ns


def param_batch_writer(AtomicParams p, int first, int count, long iterations, double seconds):
    """Publish batches whose ``count`` slots all carry the batch's generation number.

    Values count up from 1 and stop below 2**24, where floats stay exact.
    Returns the number of batches published.
    """
    cdef int idx[256]
    cdef float val[256]
    cdef int j
    cdef long g = 0
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    iterations = min(iterations, (1 << 24) - 1)
    if count < 1 or first < 0 or first + count > len(p):
        raise ValueError("slot range outside the store")
    for j in range(count):
        idx[j] = first + j
    with nogil:
        while g < iterations and (g & 255 or monotonic_ns() < stop):
            g += 1
            for j in range(count):
                val[j] = <float>g
            p.publish(idx, val, count)
    return g


def param_single_writer(AtomicParams p, int index, long iterations, double seconds):
    """Single-set ``index`` to 1, 2, 3, ... below 2**24 (wait-free path). Returns the number of sets."""
    cdef long g = 0
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    iterations = min(iterations, (1 << 24) - 1)
    with nogil:
        while g < iterations and (g & 255 or monotonic_ns() < stop):
            g += 1
            p.set_value(index, <float>g)
    return g


def param_sets(AtomicParams p, int index, long n):
    """``n`` single sets of ``index`` (alternately 1 and 2) in a tight loop: drives write counters far."""
    cdef long k
    if not 0 <= index < len(p):
        raise ValueError("index outside the store")
    with nogil:
        for k in range(n):
            p.set_value(index, <float>(1 + (k & 1)))
    return n


cdef long _racy_counter = 0


def racy_increments(double seconds):
    """Add 1 to a plain shared counter for ``seconds`` without the GIL: a data race on purpose.

    Two threads calling it at once are what ThreadSanitizer must report
    (``tools/tsan_stress.py --planted`` proves the sanitizer build sees races).
    Returns the counter.
    """
    global _racy_counter
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    with nogil:
        while monotonic_ns() < stop:
            _racy_counter += 1
    return _racy_counter


def param_force_generation(AtomicParams p, int index, long gen):
    """Move slot ``index``'s batch generation to ``gen`` (mod 2**31), e.g. just before the wrap."""
    if not 0 <= index < len(p):
        raise ValueError("index outside the store")
    p.force_generation(index, <uint32_t>(gen & 0x7FFFFFFF))


cdef inline bint _wait_until(atomic[long]* a, long want, int64_t stop) noexcept nogil:
    # spin, then yield: three spinning threads may share two cores
    cdef long k = 0
    while a.load(memory_order_acquire) < want:
        k += 1
        if k > 200:
            sched_yield()
        if (k & 1023) == 0 and monotonic_ns() > stop:
            return False
    return True


cdef class ParamRace:
    """Rounds in which a batch and a single set hit the same slot while the audio side runs.

    Two threads call ``batch_side`` and ``audio_side``. In round r the audio
    side releases the batch writer, which writes r to every slot of the
    store, slot 0 last (so its publication takes a while). The audio thread
    itself single-sets slot 0 to -r after a delay that changes from round to
    round (sweeping it across the batch's publication) and runs
    ``begin_block`` at once and until the batch is done. Then, with no writer
    running, it takes one more block and compares its target for slot 0 with
    what a control-side read returns. ``audio_side`` returns (rounds
    completed, disagreements, rounds where a batch slot other than 0 missed
    r): a disagreement outlives the race, so control and audio never agree
    again. Two threads suffice: the window needs no third core.
    """
    cdef AtomicParams p
    cdef int n
    cdef long rounds
    cdef double seconds
    cdef atomic[long] go
    cdef atomic[long] done_batch

    def __init__(self, AtomicParams p, long rounds, double seconds):
        if len(p) < 2:
            raise ValueError("the store needs at least two slots")
        self.p = p
        self.n = len(p)
        self.rounds = rounds
        self.seconds = seconds
        self.go.store(0)
        self.done_batch.store(0)

    def batch_side(self):
        cdef int idx[256]
        cdef float val[256]
        cdef long r
        cdef int j
        cdef int64_t stop = monotonic_ns() + <int64_t>(self.seconds * 1e9)
        for j in range(self.n):
            idx[j] = (j + 1) % self.n     # 1, 2, ..., n-1, 0
        with nogil:
            for r in range(1, self.rounds + 1):
                if not _wait_until(&self.go, r, stop):
                    break
                for j in range(self.n):
                    val[j] = <float>r
                self.p.publish(idx, val, self.n)
                self.done_batch.store(r, memory_order_release)

    def audio_side(self):
        cdef long r, k, done = 0, disagree = 0, lost = 0
        cdef int j
        cdef int64_t stop = monotonic_ns() + <int64_t>(self.seconds * 1e9)
        cdef bint ok
        cdef atomic[long] sink
        sink.store(0)
        with nogil:
            for r in range(1, self.rounds + 1):
                self.go.store(r, memory_order_release)
                for k in range((r * 37) % 1000):    # a delay swept across the batch's publication
                    sink.store(k, memory_order_release)
                self.p.set_value(0, <float>-r)
                ok = True
                while True:
                    self.p.begin_block(0)
                    if self.done_batch.load(memory_order_acquire) >= r:
                        break
                    if monotonic_ns() > stop:
                        ok = False
                        break
                if not ok:
                    break
                self.p.begin_block(0)
                if self.p.target[0] != self.p.control_value(0):
                    disagree += 1
                for j in range(1, self.n):
                    if self.p.target[j] != <float>r:
                        lost += 1
                        break
                done += 1
        return done, disagree, lost


def param_reader(AtomicParams p, int first, int count, int single_index, double seconds, long min_reads=0):
    """Act as the audio thread: take snapshots for ``seconds`` and check each one.

    A snapshot is torn if the batch slots ``first..first+count-1`` do not all
    hold the same value. The single-set slot must never go backwards.
    Returns (reads, torn, batches_seen, distinct
    batch values seen, single-set regressions).
    """
    cdef long reads = 0, torn = 0, distinct = 0, regress = 0
    cdef int j
    cdef float v0, last = -1, s, last_single = -1
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    cdef uint64_t seen0 = p.batches_seen
    with nogil:
        while (reads & 1023) or monotonic_ns() < stop or reads < min_reads:
            p.begin_block(0)
            reads += 1
            v0 = p.target[first]
            for j in range(1, count):
                if p.target[first + j] != v0:
                    torn += 1
                    break
            if v0 != last:
                distinct += 1
                last = v0
            if single_index >= 0:
                s = p.target[single_index]
                if s < last_single:
                    regress += 1
                last_single = s
    return reads, torn, p.batches_seen - seen0, distinct, regress


def queue_producer(SpscQueue q, long n, double seconds):
    """Push records with frame = 0..n-1, retrying when full. Returns how many were pushed."""
    cdef RtEvent ev
    cdef long i = 0
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    memset(&ev, 0, sizeof(ev))
    with nogil:
        while i < n:
            ev.frame = i
            ev.data1 = <unsigned char>(i & 127)
            ev.value = <float>i
            if q.push(&ev):
                i += 1
            elif monotonic_ns() > stop:
                break
    return i


def queue_consumer(SpscQueue q, long n, double seconds):
    """Pop until ``n`` records arrived; check order and contents. Returns (received, errors)."""
    cdef RtEvent ev
    cdef long got = 0, errors = 0
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    with nogil:
        while got < n:
            if q.pop(&ev):
                if ev.frame != got or ev.data1 != (got & 127) or ev.value != <float>got:
                    errors += 1
                got += 1
            elif monotonic_ns() > stop:
                break
    return got, errors


def pool_hammer(RtPool pool, long tag, long iterations, int hold, double seconds):
    """Allocate up to ``hold`` blocks, stamp each with (tag, serial), check the stamps, free.

    A block handed out twice at once is overwritten by the other thread and
    shows up as a stamp mismatch. Returns (cycles, allocations, failures, mismatches, bad_frees).
    """
    cdef void* held[64]
    cdef long serial[64]
    cdef long it = 0, allocs = 0, fails = 0, bad = 0, badfree = 0, s = 0
    cdef int k, nheld
    cdef long* blk
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    if hold < 1 or hold > 64:
        raise ValueError("hold must be in 1..64")
    if pool._block_size < 2 * sizeof(long):
        raise ValueError("blocks must hold two longs")
    with nogil:
        while it < iterations and ((it & 63) or monotonic_ns() < stop):
            it += 1
            nheld = 0
            for k in range(hold):
                held[nheld] = pool.alloc()
                if held[nheld] == NULL:
                    fails += 1
                    continue
                allocs += 1
                s += 1
                blk = <long*>held[nheld]
                blk[0] = tag
                blk[1] = s
                serial[nheld] = s
                nheld += 1
            for k in range(nheld):
                blk = <long*>held[k]
                if blk[0] != tag or blk[1] != serial[k]:
                    bad += 1
                if not pool.free(held[k]):
                    badfree += 1
    return it, allocs, fails, bad, badfree


cdef class OverlapProbe(Processor):
    """A processor whose render counts how many threads are inside it, in plain memory.

    With the in-use guard working, ``overlaps`` stays 0 and ThreadSanitizer sees
    every access to ``inside`` ordered by the guard's acquire/release.
    """
    cdef long inside
    cdef readonly long overlaps
    cdef readonly long renders

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        self.inside += 1
        if self.inside != 1:
            self.overlaps += 1
        self.renders += 1
        out[0][0] = <float>self.renders
        self.inside -= 1
        return 0


def processor_contention(OverlapProbe p, double seconds, bint as_callback):
    """Enter ``p`` for ``seconds`` as a stream callback would (``run_callback``) or as
    ``process`` does (try-acquire, render, leave). Returns (rendered, refused, overlaps so far)."""
    cdef float buf[64]
    cdef float* ptr = buf
    cdef long rendered = 0, refused = 0
    cdef uint64_t skipped0
    cdef int64_t stop = monotonic_ns() + <int64_t>(seconds * 1e9)
    if not p.prepared or p.max_block < 64:
        raise ValueError("prepare the probe with max_block >= 64 first")
    with nogil:
        while monotonic_ns() < stop:
            if as_callback:
                skipped0 = p.busy_skipped.load()
                p.run_callback(&ptr, 1, 64)
                if p.busy_skipped.load() != skipped0:
                    refused += 1
                else:
                    rendered += 1
            elif p.try_enter(USE_PROCESS) == USE_FREE:
                p.run_block(&ptr, 1, 64, NULL, 0)
                p.leave()
                rendered += 1
            else:
                refused += 1
    return rendered, refused, p.overlaps


def run_callback_once(Processor p, int nchannels, int nframes):
    """One audio-callback call on ``p`` (what NativeStream's callback runs), into buffers
    pre-filled with 1.0. Returns the (nchannels, nframes) float32 output."""
    import numpy as np
    if not 1 <= nchannels <= 32 or nframes < 1:
        raise ValueError("nchannels must be in 1..32 and nframes >= 1")
    out = np.ones((nchannels, nframes), np.float32)
    cdef float[:, ::1] o = out
    cdef float* ptrs[32]
    cdef int c
    for c in range(nchannels):
        ptrs[c] = &o[c, 0]
    with nogil:
        p.run_callback(ptrs, nchannels, nframes)
    return out


def render_holding_gil(Processor p, float[:, ::1] out, int block):
    """Render ``out`` (channels, frames) in blocks of ``block`` frames through ``run_block`` without
    ever releasing the GIL: no other Python thread runs until it returns.

    What plays must then not depend on a Python thread (a scheduler starved by a C call that holds
    the GIL, as a long numpy or ``sum(range(...))`` call does). Returns the frames rendered.
    """
    cdef float* ptrs[32]
    cdef int nch = out.shape[0], c, m
    cdef Py_ssize_t n = out.shape[1], pos = 0
    if not 1 <= nch <= 32 or block < 1 or block > p.max_block:
        raise ValueError("out must have 1..32 channels and block must be in 1..max_block")
    while pos < n:
        m = <int>(n - pos) if n - pos < block else block
        for c in range(nch):
            ptrs[c] = &out[c, pos]
        if p.run_block(ptrs, nch, m, NULL, 0) < 0:
            raise RuntimeError("render failed")
        pos += m
    return pos
