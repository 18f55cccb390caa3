# Saturation ("drive"): tanh at twice the sample rate with antiderivative anti-aliasing.
from fmcore.fx.base cimport Effect

cdef enum:
    HB_TAPS = 32                       # non-zero odd taps of the half-band filter (M = 31)

cdef class Drive(Effect):
    cdef int i_drive, i_out, i_mix
    cdef double up[2][64]              # last 32 inputs, stored twice (contiguous window)
    cdef double ev[2][64]              # last 32 even-phase shaped samples, stored twice
    cdef double od[2][32]              # odd-phase shaped samples (ring)
    cdef int pos                       # window start, counts down
    cdef int opos                      # odd ring write index
    cdef double xprev[2]               # previous driven sample (at 2x) per channel
    cdef double fprev[2]               # antiderivative at xprev
