# cython: boundscheck=False, wraparound=False, cdivision=True
"""Real-time memory pool: fixed-size blocks on a lock-free free list.

All memory is allocated at construction. ``alloc`` pops the free list and
``free`` pushes it (a Treiber stack). The head is a 64-bit word holding a
32-bit index and a 32-bit tag incremented on every change, so a thread that
read a stale head cannot succeed its compare-and-swap after the block was
popped and pushed back in between (the ABA problem). A per-block state flag
makes a double free or a foreign pointer a counted error rather than a block
handed out twice.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport free as c_free

cdef extern from "<stdlib.h>" nogil:
    void* aligned_alloc(size_t alignment, size_t size)
from libc.string cimport memset
from libcpp.atomic cimport memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel

from fmcore_rt.rt_atomics cimport new_atomic_array, delete_atomic_array

cdef uint32_t NIL = 0xFFFFFFFFU


cdef inline uint64_t mkhead(uint32_t tag, uint32_t index) noexcept nogil:
    return ((<uint64_t>tag) << 32) | index


cdef class RtPool:
    """A pool of ``nblocks`` blocks of ``block_size`` bytes each (64-byte aligned).

    ``alloc``/``free`` never block, never call malloc, and are safe from any
    number of threads. Exhaustion returns NULL (``None`` from Python) and
    counts a failure.
    """

    def __cinit__(self, size_t block_size, uint32_t nblocks):
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        if nblocks < 1 or nblocks >= NIL:
            raise ValueError(f"nblocks must be in 1..{NIL - 1}, got {nblocks}")
        self._block_size = block_size
        self.stride = (block_size + 63) & ~(<size_t>63)
        self.nblocks = nblocks
        self.mem = <char*>aligned_alloc(64, self.stride * nblocks)
        if self.mem == NULL:
            raise MemoryError(f"cannot reserve {self.stride * nblocks} bytes for the pool")
        memset(self.mem, 0, self.stride * nblocks)
        self.h = new PoolHeads()
        self.next = new_atomic_array[uint32_t](nblocks)
        self.state = new_atomic_array[uint32_t](nblocks)
        cdef uint32_t i
        for i in range(nblocks):
            self.next[i].store(i + 1 if i + 1 < nblocks else NIL, memory_order_relaxed)
        self.h.head.store(mkhead(0, 0), memory_order_release)

    def __dealloc__(self):
        if self.h != NULL:
            del self.h
        if self.next != NULL:
            delete_atomic_array[uint32_t](self.next)
        if self.state != NULL:
            delete_atomic_array[uint32_t](self.state)
        c_free(self.mem)

    cdef void* alloc(self) noexcept nogil:
        cdef uint64_t old = self.h.head.load(memory_order_acquire)
        cdef uint32_t idx, nxt, used, hw
        while True:
            idx = <uint32_t>(old & 0xFFFFFFFFULL)
            if idx == NIL:
                self.h.failures.fetch_add(1, memory_order_relaxed)
                return NULL
            nxt = self.next[idx].load(memory_order_relaxed)
            if self.h.head.compare_exchange_weak(old, mkhead(<uint32_t>(old >> 32) + 1, nxt),
                                                 memory_order_acq_rel, memory_order_acquire):
                break
        self.state[idx].store(1, memory_order_relaxed)
        used = self.h.in_use.fetch_add(1, memory_order_relaxed) + 1
        hw = self.h.high_water.load(memory_order_relaxed)
        while used > hw and not self.h.high_water.compare_exchange_weak(hw, used, memory_order_relaxed):
            pass
        return self.mem + <size_t>idx * self.stride

    cdef bint free(self, void* p) noexcept nogil:
        cdef uintptr_t off = <uintptr_t>p - <uintptr_t>self.mem
        cdef uint32_t idx
        cdef uint32_t expected = 1
        if <uintptr_t>p < <uintptr_t>self.mem or off % self.stride != 0 or off // self.stride >= self.nblocks:
            self.h.bad_frees.fetch_add(1, memory_order_relaxed)
            return False
        idx = <uint32_t>(off // self.stride)
        # only the thread that flips 1 -> 0 may return the block: a double free fails here
        if not self.state[idx].compare_exchange_strong(expected, 0, memory_order_acq_rel, memory_order_relaxed):
            self.h.bad_frees.fetch_add(1, memory_order_relaxed)
            return False
        # count the block as returned before it can be popped again, so in_use
        # never exceeds the blocks really handed out
        self.h.in_use.fetch_sub(1, memory_order_relaxed)
        cdef uint64_t old = self.h.head.load(memory_order_acquire)
        while True:
            self.next[idx].store(<uint32_t>(old & 0xFFFFFFFFULL), memory_order_relaxed)
            if self.h.head.compare_exchange_weak(old, mkhead(<uint32_t>(old >> 32) + 1, idx),
                                                 memory_order_acq_rel, memory_order_acquire):
                break
        return True

    # ---- Python API ----------------------------------------------------------

    def allocate(self):
        """Take a block; its address as an int, or None when the pool is exhausted."""
        cdef void* p
        with nogil:
            p = self.alloc()
        return None if p == NULL else <uintptr_t>p

    def release(self, uintptr_t address):
        """Return a block taken with ``allocate``. Raises ValueError for a foreign or double free."""
        cdef bint ok
        with nogil:
            ok = self.free(<void*>address)
        if not ok:
            raise ValueError(f"address {address:#x} is not a block handed out by this pool (double free?)")

    def contains(self, uintptr_t address):
        """Whether ``address`` is the start of a block of this pool."""
        cdef uintptr_t off = address - <uintptr_t>self.mem
        return address >= <uintptr_t>self.mem and off % self.stride == 0 and off // self.stride < self.nblocks

    def view(self, uintptr_t address):
        """A writable memoryview of the block at ``address``."""
        if not self.contains(address):
            raise ValueError(f"address {address:#x} is not a block of this pool")
        return memoryview(<unsigned char[:self._block_size]><unsigned char*>address)

    @property
    def stats(self):
        """dict(capacity, in_use, high_water, failures, bad_frees, block_size)."""
        return {
            "capacity": self.nblocks,
            "in_use": self.h.in_use.load(memory_order_relaxed),
            "high_water": self.h.high_water.load(memory_order_relaxed),
            "failures": self.h.failures.load(memory_order_relaxed),
            "bad_frees": self.h.bad_frees.load(memory_order_relaxed),
            "block_size": self._block_size,
        }

    @property
    def capacity(self):
        return self.nblocks

    @property
    def block_size(self):
        return self._block_size

    def __repr__(self):
        s = self.stats
        return f"<RtPool {s['in_use']}/{s['capacity']} blocks of {s['block_size']} B, failures={s['failures']}>"
