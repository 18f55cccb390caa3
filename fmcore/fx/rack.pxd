# Plugin slots of the effects chain: effects loaded and unloaded while audio runs.
from libc.stdint cimport uint32_t, uintptr_t
from libcpp.atomic cimport atomic
from cpython.ref cimport PyObject
from fmcore_rt.rt_atomics cimport SpscIndices

cdef enum:
    MAX_PLUGINS = 8
    RACK_RETIRE = 16           # power of two

cdef class PluginRack:
    cdef atomic[uintptr_t]* pending    # per slot: a new Effect, or 1 (empty the slot); 0 = nothing new
    cdef atomic[uint32_t]* _mask       # bit i: slot i enabled (any thread)
    cdef int pending_pos[8]            # position of the pending effect, written before its publication
    # audio side
    cdef PyObject* active[8]           # borrowed: the control side holds the references in _held
    cdef int position[8]               # 0: right after the synth (before the built-in effects), 1: after them
    cdef float fade[8]
    cdef float fade_step
    cdef float* dry_l
    cdef float* dry_r
    cdef int max_block
    cdef uintptr_t retire_slots[16]
    cdef SpscIndices* retire_idx
    # control side
    cdef dict _held                    # address -> effect, for every effect published and not yet reclaimed
    cdef list _slots                   # per slot: (name, effect, position) as the control side sees it, or None
    cdef double _rate

    cdef int prepare_c(self, double sample_rate, int max_block) except -1
    cdef int _reclaim(self) except -1
    cdef void adopt(self) noexcept nogil
    # audio thread: adopt pending loads (position 0 call only), run the slots at `pos`
    cdef void process(self, float* left, float* right, int nframes, int pos) noexcept nogil
