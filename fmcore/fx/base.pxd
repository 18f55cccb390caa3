# The C-level interface every effect implements; FxChain drives effects only
# through it (one virtual call per enabled slot per block).
from fmcore_rt.params cimport AtomicParams

cdef class Effect:
    cdef AtomicParams params
    cdef readonly str name
    cdef readonly double sample_rate
    cdef readonly int max_block
    cdef readonly int latency          # frames of delay the effect adds (look-ahead)
    cdef public bint wet_only          # a send effect: outputs its wet signal alone, times `mix` (the return level)
    cdef dict _defaults                # parameter defaults overriding the effect's own (see _add)
    cdef list _param_names

    # control thread: size every buffer for (sample_rate, max_block)
    cdef int prepare_c(self, double sample_rate, int max_block) except -1
    # audio thread (or control side with audio stopped): forget all signal
    # history (delay lines, tails, envelopes); O(1) or a few hundred writes
    cdef void clear(self) noexcept nogil
    # audio thread: process nframes in place; the params' begin_block has run
    cdef void process(self, float* left, float* right, int nframes) noexcept nogil
