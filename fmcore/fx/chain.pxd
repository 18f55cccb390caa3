# The effects chain as the synth engine drives it, and an effect-only processor.
from libc.stdint cimport uint32_t
from libcpp.atomic cimport atomic
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.processor cimport Processor
from fmcore.fx.base cimport Effect
from fmcore.fx.rack cimport PluginRack

cdef enum:
    MAX_SLOTS = 8

cdef class FxChain:
    cdef readonly AtomicParams params
    cdef atomic[uint32_t]* _mask       # bit EFFECTS.index(name): enabled (any thread)
    cdef int nslots
    cdef int kind[8]                   # EFFECTS index of each slot, in chain order
    cdef Effect s0, s1, s2, s3, s4, s5, s6, s7
    cdef float fade[8]                 # audio side: wet amount of each slot, 0..1
    cdef float fade_step               # per frame: 1 / crossfade length
    cdef float* dry_l                  # scratch for crossfades (max_block each)
    cdef float* dry_r
    cdef readonly double sample_rate
    cdef readonly int max_block
    cdef readonly bint prepared
    cdef tuple _order
    cdef dict _effects
    cdef readonly PluginRack rack     # loaded plugins (LV2), before/after the built-in effects

    # control thread: allocate everything (delay lines, reverb, scratch)
    cdef int prepare_c(self, double sample_rate, int max_block) except -1
    # audio thread: run the chain in place on nframes <= max_block frames; the
    # owner of params has called params.begin_block(nframes) for this block
    cdef void process(self, float* left, float* right, int nframes) noexcept nogil
    cdef Effect _slot(self, int i)
    cdef void _run(self, int i, float* left, float* right, int nframes) noexcept nogil
    cdef void _clear(self, int i) noexcept nogil

cdef class EffectsProcessor(Processor):
    cdef readonly AtomicParams params
    cdef readonly FxChain chain
    cdef float* _scratch               # right channel stand-in for mono buffers
