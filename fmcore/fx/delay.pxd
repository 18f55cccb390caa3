# Stereo / ping-pong delay, time in ms or synced to fx.tempo_bpm.
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport DelayLine

cdef class Delay(Effect):
    cdef int i_time, i_sync, i_beats, i_tempo, i_fb, i_damp, i_mix, i_pp
    cdef DelayLine line[2]
    cdef double cur                    # delay in samples, gliding toward the target
    cdef double glide                  # one-pole glide coefficient per sample
    cdef double max_samples
    cdef float lp[2]                   # damping low-pass state per channel
    cdef bint snap                     # jump to the target at the next block (after clear)
    cdef double _target(self) noexcept nogil
