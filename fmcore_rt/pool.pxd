# C-level interface of the real-time memory pool.
from libc.stdint cimport uint32_t, uint64_t
from libcpp.atomic cimport atomic
from fmcore_rt.rt_atomics cimport PoolHeads

cdef class RtPool:
    cdef PoolHeads* h
    cdef atomic[uint32_t]* next        # free-list links
    cdef atomic[uint32_t]* state       # 1 while a block is handed out
    cdef char* mem
    cdef size_t _block_size
    cdef size_t stride
    cdef uint32_t nblocks

    # any thread: a block, or NULL (failure counted) when the pool is empty
    cdef void* alloc(self) noexcept nogil
    # any thread: return a block; False (and counted) for a pointer that is not
    # a handed-out block of this pool
    cdef bint free(self, void* p) noexcept nogil
