# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""State-variable filter and 3-band equaliser.

``SvfFilter`` is the topology-preserving-transform (trapezoidal) SVF: the
cutoff is pre-warped with ``tan(pi fc / fs)``, so the low-pass at zero
resonance (Q = 1/sqrt 2) is exactly -3 dB at its cutoff, and the structure
stays stable while its coefficients change every sample. Coefficients are
recomputed per sample while cutoff or resonance ramp, so sweeps do not zipper.

``Equalizer`` is three RBJ-cookbook biquads (low shelf, peak, high shelf) in
double precision; coefficients follow the smoothed parameters every 16 frames.
"""
from libc.math cimport tan, pow, M_PI
from fmcore_rt.params cimport AtomicParams
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport (Biquad, biquad_clear, biquad_tick, biquad_design,
                            BQ_LOWSHELF, BQ_PEAK, BQ_HIGHSHELF)

FILTER_MODES = ("lowpass", "highpass", "bandpass")

cdef enum:
    EQ_STEP = 16   # frames between coefficient updates while EQ parameters ramp


cdef class SvfFilter(Effect):
    """State-variable filter: ``fx.filter.mode`` (0 LP, 1 HP, 2 BP), ``cutoff_hz``, ``resonance``.

    Resonance 0..1 maps to Q = 0.7071 * 100**resonance (0.71 .. 71); the
    band-pass is normalised to 0 dB at its centre.
    """

    def __init__(self, AtomicParams params not None, str name="filter"):
        Effect.__init__(self, params, name)
        self.i_mode = self._add("mode", 0, 2, 0, "", 0.0)
        self.i_cutoff = self._add("cutoff_hz", 20, 20000, 1000, "Hz", 0.02)
        self.i_res = self._add("resonance", 0, 1, 0, "", 0.02)
        self.ic1[0] = self.ic1[1] = 0.0
        self.ic2[0] = self.ic2[1] = 0.0

    cdef void clear(self) noexcept nogil:
        self.ic1[0] = self.ic1[1] = 0.0
        self.ic2[0] = self.ic2[1] = 0.0

    cdef void _design(self, double cutoff, double res) noexcept nogil:
        if cutoff > 0.45 * self.sample_rate:
            cutoff = 0.45 * self.sample_rate
        cdef double g = tan(M_PI * cutoff / self.sample_rate)
        cdef double q = 0.7071067811865476 * pow(100.0, res)
        self.k = 1.0 / q
        self.a1 = 1.0 / (1.0 + g * (g + self.k))
        self.a2 = g * self.a1
        self.a3 = g * self.a2

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef int mode = <int>(self.params.end(self.i_mode) + 0.5)
        # frames during which a coefficient input still ramps
        cdef int nr = self.params.ramp_len[self.i_cutoff]
        if self.params.ramp_len[self.i_res] > nr:
            nr = self.params.ramp_len[self.i_res]
        if nr > nframes:
            nr = nframes
        cdef int i, ch
        cdef float* buf
        cdef double v0, v1, v2, v3, s1, s2, y
        # the two channels are run one after the other, so a ramp is designed twice;
        # cheap next to the per-sample tan it needs anyway
        for ch in range(2):
            buf = left if ch == 0 else right
            s1 = self.ic1[ch]
            s2 = self.ic2[ch]
            if nr == 0:
                self._design(self.params.end(self.i_cutoff), self.params.end(self.i_res))
            for i in range(nframes):
                if i < nr:
                    self._design(self.params.at(self.i_cutoff, i), self.params.at(self.i_res, i))
                elif i == nr and nr > 0:
                    self._design(self.params.end(self.i_cutoff), self.params.end(self.i_res))
                v0 = buf[i]
                v3 = v0 - s2
                v1 = self.a1 * s1 + self.a2 * v3
                v2 = s2 + self.a2 * s1 + self.a3 * v3
                s1 = 2.0 * v1 - s1
                s2 = 2.0 * v2 - s2
                if mode == 0:
                    y = v2
                elif mode == 1:
                    y = v0 - self.k * v1 - v2
                else:
                    y = self.k * v1
                buf[i] = <float>y
            self.ic1[ch] = s1
            self.ic2[ch] = s2


cdef class Equalizer(Effect):
    """3-band EQ: low shelf, peak and high shelf (RBJ biquads), gains in dB (+-24)."""

    def __init__(self, AtomicParams params not None, str name="eq"):
        Effect.__init__(self, params, name)
        self.i_lf = self._add("low_freq_hz", 20, 2000, 200, "Hz")
        self.i_lg = self._add("low_gain_db", -24, 24, 0, "dB")
        self.i_mf = self._add("mid_freq_hz", 50, 16000, 1000, "Hz")
        self.i_mg = self._add("mid_gain_db", -24, 24, 0, "dB")
        self.i_mq = self._add("mid_q", 0.1, 10, 0.7071, "")
        self.i_hf = self._add("high_freq_hz", 1000, 20000, 5000, "Hz")
        self.i_hg = self._add("high_gain_db", -24, 24, 0, "dB")
        cdef int j
        for j in range(3):
            biquad_clear(&self.band[j])
        for j in range(7):
            self.last[j] = -1e30

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        Effect.prepare_c(self, sample_rate, max_block)
        cdef int j
        for j in range(7):
            self.last[j] = -1e30   # force a redesign for the new rate
        return 0

    cdef void clear(self) noexcept nogil:
        cdef int j
        for j in range(3):
            biquad_clear(&self.band[j])

    cdef void _update(self, int k) noexcept nogil:
        cdef float v[7]
        v[0] = self.params.at(self.i_lf, k)
        v[1] = self.params.at(self.i_lg, k)
        v[2] = self.params.at(self.i_mf, k)
        v[3] = self.params.at(self.i_mg, k)
        v[4] = self.params.at(self.i_mq, k)
        v[5] = self.params.at(self.i_hf, k)
        v[6] = self.params.at(self.i_hg, k)
        cdef double fs = self.sample_rate
        if v[0] != self.last[0] or v[1] != self.last[1]:
            biquad_design(&self.band[0], BQ_LOWSHELF, fs, v[0], v[1], 0.7071)
        if v[2] != self.last[2] or v[3] != self.last[3] or v[4] != self.last[4]:
            biquad_design(&self.band[1], BQ_PEAK, fs, v[2], v[3], v[4])
        if v[5] != self.last[5] or v[6] != self.last[6]:
            biquad_design(&self.band[2], BQ_HIGHSHELF, fs, v[5], v[6], 0.7071)
        cdef int j
        for j in range(7):
            self.last[j] = v[j]

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef int nr = 0, j, i, s, e
        cdef int idx[7]
        idx[0] = self.i_lf; idx[1] = self.i_lg; idx[2] = self.i_mf; idx[3] = self.i_mg
        idx[4] = self.i_mq; idx[5] = self.i_hf; idx[6] = self.i_hg
        for j in range(7):
            if self.params.ramp_len[idx[j]] > nr:
                nr = self.params.ramp_len[idx[j]]
        cdef Biquad* b0 = &self.band[0]
        cdef Biquad* b1 = &self.band[1]
        cdef Biquad* b2 = &self.band[2]
        cdef double x
        s = 0
        while s < nframes:
            # sub-blocks of EQ_STEP frames while ramping, then the rest in one go
            e = s + EQ_STEP if s < nr else nframes
            if e > nframes:
                e = nframes
            self._update(s)
            for i in range(s, e):
                x = left[i]
                x = biquad_tick(b0, 0, x)
                x = biquad_tick(b1, 0, x)
                left[i] = <float>biquad_tick(b2, 0, x)
                x = right[i]
                x = biquad_tick(b0, 1, x)
                x = biquad_tick(b1, 1, x)
                right[i] = <float>biquad_tick(b2, 1, x)
            s = e
