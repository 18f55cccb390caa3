# Algorithmic reverb: 8-line feedback delay network.
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport DelayLine

cdef enum:
    FDN_N = 8
    N_DIFFUSERS = 4

cdef class Reverb(Effect):
    cdef int i_decay, i_size, i_damp, i_pre, i_mix, i_width
    cdef DelayLine pre
    cdef DelayLine diff[4]             # input diffusion allpasses
    cdef int diff_len[4]
    cdef DelayLine line[8]
    cdef int length[8]                 # current line lengths in samples
    cdef double gain[8]                # per-line loss for the RT60
    cdef double lp[8]                  # damping low-pass states
    cdef float cached_size, cached_decay
    cdef void _configure(self, float size, float decay) noexcept nogil
