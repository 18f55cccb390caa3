# Modulation effects: the stereo chorus.
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport DelayLine

cdef class Chorus(Effect):
    cdef int i_rate, i_depth, i_delay, i_fb, i_mix
    cdef DelayLine line[2]
    cdef double lfo_c, lfo_s           # quadrature LFO (cos, sin), rotated per sample
