# Filters of the chain: the state-variable filter ("filter") and the 3-band EQ ("eq").
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport Biquad

cdef class SvfFilter(Effect):
    cdef int i_mode, i_cutoff, i_res
    cdef double ic1[2]
    cdef double ic2[2]
    # coefficients of the current sample (topology-preserving transform SVF)
    cdef double a1, a2, a3, k
    cdef void _design(self, double cutoff, double res) noexcept nogil

cdef class Equalizer(Effect):
    cdef int i_lf, i_lg, i_mf, i_mg, i_mq, i_hf, i_hg
    cdef Biquad band[3]
    cdef float last[7]                 # parameter values the coefficients were made from
    cdef void _update(self, int k) noexcept nogil
