# cython: boundscheck=False, wraparound=False, cdivision=True
"""Concurrency stress loops for the tests and benchmarks (not a public API).

Each function runs a tight loop without the GIL, so two Python threads calling
two of them really run at the same time on two cores. Loops are bounded by a
count and by wall time, so a bug shows up as a wrong count, never as a hang.
"""
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from libc.string cimport memset

from fmcore_rt.params cimport AtomicParams
from fmcore_rt.spsc cimport SpscQueue, RtEvent
from fmcore_rt.pool cimport RtPool
from fmcore_rt.timing cimport monotonic_ns
from fmcore_rt.processor cimport Processor


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
