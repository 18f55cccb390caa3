# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""Stereo chorus: one modulated delay line per channel, LFOs 90 degrees apart.

The LFO is a quadrature oscillator (a rotation per sample, renormalised per
block): the left line follows its sine, the right its cosine, which widens
the image. Delay = ``delay_ms + depth_ms * lfo``, read with linear
interpolation; ``feedback`` recirculates the tap for a flanger-like colour.
With ``wet_only`` (a send effect) the output is ``mix`` times the wet signal.
"""
from libc.math cimport cos, sin, M_PI
from fmcore_rt.params cimport AtomicParams
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport (DelayLine, delay_alloc, delay_free, delay_clear,
                            delay_push, delay_read_frac)

cdef double MAX_DELAY_MS = 30.0
cdef double MAX_DEPTH_MS = 10.0


cdef class Chorus(Effect):
    """Stereo chorus: ``rate_hz``, ``depth_ms``, ``delay_ms``, ``feedback``, ``mix``."""

    def __cinit__(self, *args, **kwargs):
        self.line[0].buf = NULL
        self.line[1].buf = NULL

    def __init__(self, AtomicParams params not None, str name="chorus", defaults=None):
        Effect.__init__(self, params, name, defaults)
        self.i_rate = self._add("rate_hz", 0.01, 10, 0.8, "Hz")
        self.i_depth = self._add("depth_ms", 0, MAX_DEPTH_MS, 2.0, "ms")
        self.i_delay = self._add("delay_ms", 1, MAX_DELAY_MS, 8.0, "ms")
        self.i_fb = self._add("feedback", -0.9, 0.9, 0.0, "")
        self.i_mix = self._add("mix", 0, 1, 0.5, "")
        self.lfo_c = 1.0
        self.lfo_s = 0.0

    def __dealloc__(self):
        delay_free(&self.line[0])
        delay_free(&self.line[1])

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        Effect.prepare_c(self, sample_rate, max_block)
        cdef long n = <long>((MAX_DELAY_MS + MAX_DEPTH_MS) * 0.001 * sample_rate) + 4
        delay_alloc(&self.line[0], n)
        delay_alloc(&self.line[1], n)
        self.clear()
        return 0

    cdef void clear(self) noexcept nogil:
        delay_clear(&self.line[0])
        delay_clear(&self.line[1])
        self.lfo_c = 1.0
        self.lfo_s = 0.0

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef double ms = 0.001 * self.sample_rate
        cdef double w = 2.0 * M_PI * self.params.end(self.i_rate) / self.sample_rate
        cdef double cw = cos(w), sw = sin(w)
        cdef double c = self.lfo_c, s = self.lfo_s, t
        cdef double base, depth, dl, dr
        cdef float fb, mix, yl, yr, xl, xr
        cdef int i
        cdef float dry = 0.0 if self.wet_only else 1.0
        for i in range(nframes):
            base = self.params.at(self.i_delay, i) * ms
            depth = self.params.at(self.i_depth, i) * ms
            fb = self.params.at(self.i_fb, i)
            mix = self.params.at(self.i_mix, i)
            dl = base + depth * s
            dr = base + depth * c
            # reads are at least one sample back (read before write)
            if dl < 1.0:
                dl = 1.0
            if dr < 1.0:
                dr = 1.0
            yl = delay_read_frac(&self.line[0], dl)
            yr = delay_read_frac(&self.line[1], dr)
            xl = left[i]
            xr = right[i]
            delay_push(&self.line[0], xl + fb * yl)
            delay_push(&self.line[1], xr + fb * yr)
            # written as a crossfade so mix = 1 gives the wet signal exactly
            left[i] = dry * (1.0 - mix) * xl + mix * yl
            right[i] = dry * (1.0 - mix) * xr + mix * yr
            t = c * cw - s * sw
            s = s * cw + c * sw
            c = t
        # keep the oscillator on the unit circle (one Newton step on the radius)
        t = 1.5 - 0.5 * (c * c + s * s)
        self.lfo_c = c * t
        self.lfo_s = s * t
