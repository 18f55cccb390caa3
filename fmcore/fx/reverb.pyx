# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""Reverb: pre-delay, four input allpass diffusers, an 8-line feedback delay network.

The network's feedback matrix is a scaled 8x8 Hadamard matrix (orthogonal,
so lossless, applied as a fast Walsh-Hadamard transform: 24 additions). Each
line ``i`` of length ``m_i`` samples carries the gain ``10**(-3 m_i / (fs T60))``,
so every path through the network loses 60 dB in ``decay`` seconds: the
energy decay of the impulse response has the RT60 that was asked for
(tests/test_fx.py measures it by Schroeder backward integration).

``damping`` adds a one-pole low-pass with unity DC gain in each loop, so high
frequencies die sooner while the low-frequency RT60 stays at ``decay``.
``size`` scales the line lengths (x0.4 .. x1.5). Input is the mono sum; the
two outputs are different sign combinations of the lines (decorrelated stereo).
With ``wet_only`` (a send effect) the output is ``mix`` times the wet signal.
"""
from libc.math cimport pow, lround
from fmcore_rt.params cimport AtomicParams
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport (DelayLine, delay_alloc, delay_free, delay_clear,
                            delay_push, delay_read, delay_read_frac)

# line lengths at size 1 (ms): spread, mutually incommensurate
cdef double BASE_MS[8]
BASE_MS[:] = [31.3, 37.9, 43.1, 47.9, 53.3, 59.1, 67.7, 73.1]
cdef double DIFF_MS[4]
DIFF_MS[:] = [4.77, 3.59, 2.93, 1.87]
cdef double DIFF_G = 0.6
cdef double MAX_SCALE = 1.5
cdef double MAX_PRE_MS = 250.0
# output sign patterns (rows of a Hadamard matrix orthogonal to each other)
cdef double SIGN_L[8]
SIGN_L[:] = [1, -1, 1, -1, 1, -1, 1, -1]
cdef double SIGN_R[8]
SIGN_R[:] = [1, 1, -1, -1, 1, 1, -1, -1]
cdef double SIGN_IN[8]
SIGN_IN[:] = [1, 1, 1, 1, -1, -1, -1, -1]


cdef inline double scale_of(float size) noexcept nogil:
    return 0.4 + (MAX_SCALE - 0.4) * size


cdef class Reverb(Effect):
    """FDN reverb: ``decay`` (RT60 s), ``size``, ``damping``, ``predelay_ms``, ``mix``, ``width`` (stereo, 1 = full)."""

    def __cinit__(self, *args, **kwargs):
        cdef int j
        self.pre.buf = NULL
        for j in range(FDN_N):
            self.line[j].buf = NULL
        for j in range(N_DIFFUSERS):
            self.diff[j].buf = NULL

    def __init__(self, AtomicParams params not None, str name="reverb", defaults=None):
        Effect.__init__(self, params, name, defaults)
        self.i_decay = self._add("decay", 0.1, 20, 2.0, "s", 0.05)
        self.i_size = self._add("size", 0, 1, 0.5, "", 0.05)
        self.i_damp = self._add("damping", 0, 1, 0.3, "")
        self.i_pre = self._add("predelay_ms", 0, MAX_PRE_MS, 10, "ms", 0.05)
        self.i_mix = self._add("mix", 0, 1, 0.25, "")
        self.i_width = self._add("width", 0, 1, 1.0, "")

    def __dealloc__(self):
        cdef int j
        delay_free(&self.pre)
        for j in range(FDN_N):
            delay_free(&self.line[j])
        for j in range(N_DIFFUSERS):
            delay_free(&self.diff[j])

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        Effect.prepare_c(self, sample_rate, max_block)
        cdef double ms = 0.001 * sample_rate
        cdef int j
        delay_alloc(&self.pre, <long>(MAX_PRE_MS * ms) + 4)
        for j in range(FDN_N):
            delay_alloc(&self.line[j], <long>(BASE_MS[j] * MAX_SCALE * ms) + 4)
        for j in range(N_DIFFUSERS):
            self.diff_len[j] = <int>lround(DIFF_MS[j] * ms)
            if self.diff_len[j] < 1:
                self.diff_len[j] = 1
            delay_alloc(&self.diff[j], self.diff_len[j] + 2)
        self.cached_size = -1.0
        self.cached_decay = -1.0
        self.clear()
        return 0

    cdef void clear(self) noexcept nogil:
        cdef int j
        delay_clear(&self.pre)
        for j in range(FDN_N):
            delay_clear(&self.line[j])
            self.lp[j] = 0.0
        for j in range(N_DIFFUSERS):
            delay_clear(&self.diff[j])

    cdef void _configure(self, float size, float decay) noexcept nogil:
        # integer line lengths, and the loss that gives each line the same decay rate
        cdef double ms = 0.001 * self.sample_rate
        cdef double s = scale_of(size)
        cdef int j
        for j in range(FDN_N):
            self.length[j] = <int>lround(BASE_MS[j] * s * ms)
            if self.length[j] < 1:
                self.length[j] = 1
            self.gain[j] = pow(10.0, -3.0 * self.length[j] / (self.sample_rate * decay))
        self.cached_size = size
        self.cached_decay = decay

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef float size = self.params.end(self.i_size), decay = self.params.end(self.i_decay)
        if size != self.cached_size or decay != self.cached_decay:
            self._configure(size, decay)
        cdef double ms = 0.001 * self.sample_rate
        cdef float o[8]
        cdef float h[8]
        cdef float g[8]
        cdef float lp[8]
        cdef float* buf[8]
        cdef int at[8]
        cdef int mask[8]
        cdef float x, d, v, a, t0, t1, wl, wr, mix, w, xl, xr, pre
        cdef int i, j
        cdef float dry = 0.0 if self.wet_only else 1.0
        # parameters that are not ramping this block are read once (the common case)
        cdef bint moving = (self.params.at(self.i_mix, 0) != self.params.end(self.i_mix)
                            or self.params.at(self.i_damp, 0) != self.params.end(self.i_damp)
                            or self.params.at(self.i_pre, 0) != self.params.end(self.i_pre)
                            or self.params.at(self.i_width, 0) != self.params.end(self.i_width))
        mix = self.params.end(self.i_mix)
        a = 0.9 * self.params.end(self.i_damp)
        pre = <float>(self.params.end(self.i_pre) * ms + 1.0)
        w = self.params.end(self.i_width)
        # once every line has been filled, reads need no "written yet?" check: raw ring reads
        cdef bint warm = True
        for j in range(FDN_N):
            g[j] = <float>self.gain[j]
            lp[j] = <float>self.lp[j]
            buf[j] = self.line[j].buf
            mask[j] = self.line[j].mask
            if self.line[j].filled <= self.line[j].mask:
                warm = False
        for i in range(nframes):
            xl = left[i]
            xr = right[i]
            if moving:
                mix = self.params.at(self.i_mix, i)
                a = 0.9 * self.params.at(self.i_damp, i)
                pre = <float>(self.params.at(self.i_pre, i) * ms + 1.0)
                w = self.params.at(self.i_width, i)
            # pre-delay (read after the push: 0 ms is no delay)
            delay_push(&self.pre, 0.5 * (xl + xr))
            x = delay_read_frac(&self.pre, pre)
            # diffusion: Schroeder allpasses v = x + g v[n-M], y = v[n-M] - g v
            for j in range(N_DIFFUSERS):
                d = delay_read(&self.diff[j], self.diff_len[j])
                v = x + <float>DIFF_G * d
                delay_push(&self.diff[j], v)
                x = d - <float>DIFF_G * v
            # network: read, damp, attenuate, mix (fast Walsh-Hadamard), write back
            if warm:
                for j in range(FDN_N):
                    o[j] = buf[j][(self.line[j].pos - self.length[j]) & mask[j]]
            else:
                for j in range(FDN_N):
                    o[j] = delay_read(&self.line[j], self.length[j])
            for j in range(FDN_N):
                lp[j] = o[j] + a * (lp[j] - o[j])
                h[j] = lp[j] * g[j]
            wl = (o[0] - o[1] + o[2] - o[3] + o[4] - o[5] + o[6] - o[7]) * 0.35355339059327373
            wr = (o[0] + o[1] - o[2] - o[3] + o[4] + o[5] - o[6] - o[7]) * 0.35355339059327373
            t0 = h[0]; t1 = h[1]; h[0] = t0 + t1; h[1] = t0 - t1
            t0 = h[2]; t1 = h[3]; h[2] = t0 + t1; h[3] = t0 - t1
            t0 = h[4]; t1 = h[5]; h[4] = t0 + t1; h[5] = t0 - t1
            t0 = h[6]; t1 = h[7]; h[6] = t0 + t1; h[7] = t0 - t1
            t0 = h[0]; t1 = h[2]; h[0] = t0 + t1; h[2] = t0 - t1
            t0 = h[1]; t1 = h[3]; h[1] = t0 + t1; h[3] = t0 - t1
            t0 = h[4]; t1 = h[6]; h[4] = t0 + t1; h[6] = t0 - t1
            t0 = h[5]; t1 = h[7]; h[5] = t0 + t1; h[7] = t0 - t1
            t0 = h[0]; t1 = h[4]; h[0] = t0 + t1; h[4] = t0 - t1
            t0 = h[1]; t1 = h[5]; h[1] = t0 + t1; h[5] = t0 - t1
            t0 = h[2]; t1 = h[6]; h[2] = t0 + t1; h[6] = t0 - t1
            t0 = h[3]; t1 = h[7]; h[3] = t0 + t1; h[7] = t0 - t1
            x = 0.5 * x
            for j in range(FDN_N):
                delay_push(&self.line[j], h[j] * <float>0.35355339059327373 + <float>SIGN_IN[j] * x)
            if w < 1.0:                 # narrow the image: mix each side toward the other
                t0 = 0.5 * (1.0 + w) * wl + 0.5 * (1.0 - w) * wr
                wr = 0.5 * (1.0 + w) * wr + 0.5 * (1.0 - w) * wl
                wl = t0
            left[i] = dry * (1.0 - mix) * xl + mix * wl
            right[i] = dry * (1.0 - mix) * xr + mix * wr
        for j in range(FDN_N):
            self.lp[j] = lp[j]
