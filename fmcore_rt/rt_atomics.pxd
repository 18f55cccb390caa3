# C-level view of rt_atomics.hpp: the memory layouts with std::atomic arrays.
from libc.stdint cimport uint32_t, uint64_t, int32_t
from libcpp.atomic cimport atomic

cdef extern from "rt_atomics.hpp" namespace "fmrt" nogil:
    const int PARAM_COUNT
    const int PARAM_MASK_WORDS

    cdef cppclass ParamCells:
        atomic[uint64_t] cell[256]
        atomic[uint64_t] batch[256]
        atomic[uint32_t] middle
        atomic[int32_t] count
        ParamCells()

    cdef cppclass SpscIndices:
        atomic[uint64_t] head
        atomic[uint64_t] tail
        atomic[uint64_t] dropped
        atomic[uint64_t] pushed
        SpscIndices()

    cdef cppclass PoolHeads:
        atomic[uint64_t] head
        atomic[uint32_t] in_use
        atomic[uint32_t] high_water
        atomic[uint64_t] failures
        atomic[uint64_t] bad_frees
        PoolHeads()

    cdef cppclass Counter64:
        atomic[uint64_t] value
        Counter64()

    atomic[T]* new_atomic_array[T](size_t n) except +
    void delete_atomic_array[T](atomic[T]* a)
