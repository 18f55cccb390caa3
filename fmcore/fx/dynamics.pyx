# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""Compressor and look-ahead limiter.

Compressor: feed-forward, stereo-linked peak detector, gain computer with a
soft knee (Giannoulis, Massberg & Reiss 2012), attack/release smoothing of the
gain change in dB, make-up gain.

Limiter: the gain each sample needs, ``min(1, ceiling / peak)``, goes through
a sliding minimum over the look-ahead window of ``L`` samples (2 ms), then an
instant-attack / exponential-release envelope, then an ``L``-tap moving
average; the audio is delayed by ``L - 1`` samples. Every value entering the
average for an output sample is at most the gain that sample needs, so the
average is too: the ceiling holds by construction, with a smooth ``L``-sample
attack and no clipping. A final clamp to the ceiling only catches float
rounding and ceiling changes inside the window; non-finite input becomes 0.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport fabs, exp, log10, pow, lround, nextafterf, isfinite
from fmcore_rt.params cimport AtomicParams
from fmcore.fx.base cimport Effect

cdef double LOOKAHEAD_S = 0.002


cdef class Compressor(Effect):
    """Compressor: ``threshold_db``, ``ratio``, ``attack_ms``, ``release_ms``, ``knee_db``, ``makeup_db``."""

    def __init__(self, AtomicParams params not None, str name="compressor"):
        Effect.__init__(self, params, name)
        self.i_thr = self._add("threshold_db", -60, 0, -18, "dB")
        self.i_ratio = self._add("ratio", 1, 20, 4, ":1")
        self.i_att = self._add("attack_ms", 0.1, 200, 10, "ms")
        self.i_rel = self._add("release_ms", 5, 2000, 120, "ms")
        self.i_knee = self._add("knee_db", 0, 24, 6, "dB")
        self.i_makeup = self._add("makeup_db", 0, 24, 0, "dB")
        self.env = 0.0

    cdef void clear(self) noexcept nogil:
        self.env = 0.0

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef double thr = self.params.end(self.i_thr)
        cdef double slope = 1.0 / self.params.end(self.i_ratio) - 1.0      # <= 0
        cdef double knee = self.params.end(self.i_knee)
        cdef double att = exp(-1.0 / (self.params.end(self.i_att) * 0.001 * self.sample_rate))
        cdef double rel = exp(-1.0 / (self.params.end(self.i_rel) * 0.001 * self.sample_rate))
        cdef double env = self.env
        cdef double lvl, over, gr, g
        cdef float a, b
        cdef int i
        for i in range(nframes):
            a = fabs(left[i])
            b = fabs(right[i])
            if b > a:
                a = b
            lvl = 20.0 * log10(a + 1e-12)
            over = lvl - thr
            if 2.0 * over <= -knee:
                gr = 0.0
            elif 2.0 * over < knee:
                gr = slope * (over + 0.5 * knee) * (over + 0.5 * knee) / (2.0 * knee)
            else:
                gr = slope * over
            if gr < env:
                env = att * env + (1.0 - att) * gr
            else:
                env = rel * env + (1.0 - rel) * gr
            g = pow(10.0, (env + self.params.at(self.i_makeup, i)) * 0.05)
            left[i] = <float>(left[i] * g)
            right[i] = <float>(right[i] * g)
        self.env = env


cdef class Limiter(Effect):
    """Look-ahead brick-wall limiter: ``ceiling_db``, ``release_ms``, ``gain_db`` (input gain).

    Adds ``latency`` = round(2 ms * sample_rate) - 1 frames of delay.
    """

    def __cinit__(self, *args, **kwargs):
        self.xdl = NULL
        self.xdr = NULL
        self.box = NULL
        self.qv = NULL
        self.qi = NULL

    def __init__(self, AtomicParams params not None, str name="limiter"):
        Effect.__init__(self, params, name)
        self.i_ceiling = self._add("ceiling_db", -24, 0, -1, "dB")
        self.i_rel = self._add("release_ms", 1, 1000, 60, "ms")
        self.i_gain = self._add("gain_db", 0, 24, 0, "dB")

    def __dealloc__(self):
        self._free()

    def _free(self):
        PyMem_Free(self.xdl)
        PyMem_Free(self.xdr)
        PyMem_Free(self.box)
        PyMem_Free(self.qv)
        PyMem_Free(self.qi)
        self.xdl = self.xdr = self.box = self.qv = NULL
        self.qi = NULL

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        Effect.prepare_c(self, sample_rate, max_block)
        self._free()
        self.L = <int>lround(LOOKAHEAD_S * sample_rate)
        if self.L < 1:
            self.L = 1
        self.latency = self.L - 1
        self.xdl = <float*>PyMem_Malloc(self.L * sizeof(float))
        self.xdr = <float*>PyMem_Malloc(self.L * sizeof(float))
        self.box = <float*>PyMem_Malloc(self.L * sizeof(float))
        self.qv = <float*>PyMem_Malloc(self.L * sizeof(float))
        self.qi = <long long*>PyMem_Malloc(self.L * sizeof(long long))
        if not (self.xdl and self.xdr and self.box and self.qv and self.qi):
            self._free()
            raise MemoryError()
        self.clear()
        return 0

    cdef void clear(self) noexcept nogil:
        cdef int j
        if self.box == NULL:
            return
        for j in range(self.L):
            self.xdl[j] = 0.0
            self.xdr[j] = 0.0
            self.box[j] = 1.0
        self.boxsum = self.L
        self.qhead = 0
        self.qlen = 0
        self.pos = 0
        self.t = 0
        self.genv = 1.0

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef int L = self.L
        cdef double relc = 1.0 - exp(-1.0 / (self.params.end(self.i_rel) * 0.001 * self.sample_rate))
        cdef double inv_L = 1.0 / L
        cdef double cd, gin, g, genv = self.genv, boxsum = self.boxsum
        cdef float ceil, xl, xr, peak, greq, hm, yl, yr, gf
        cdef int i, tail, rd
        cdef int qhead = self.qhead, qlen = self.qlen, pos = self.pos
        cdef long long t = self.t
        # per-sample dB conversions only while the ceiling or the gain ramp
        cdef int nr = self.params.ramp_len[self.i_ceiling]
        if self.params.ramp_len[self.i_gain] > nr:
            nr = self.params.ramp_len[self.i_gain]
        for i in range(nframes):
            if i < nr or i == 0:
                # ceiling rounded down to float, so the clamp never lets a value above it through
                cd = pow(10.0, self.params.at(self.i_ceiling, i) * 0.05)
                ceil = <float>cd
                if ceil > cd:
                    ceil = nextafterf(ceil, 0.0)
                gin = pow(10.0, self.params.at(self.i_gain, i) * 0.05)
            elif i == nr:
                cd = pow(10.0, self.params.end(self.i_ceiling) * 0.05)
                ceil = <float>cd
                if ceil > cd:
                    ceil = nextafterf(ceil, 0.0)
                gin = pow(10.0, self.params.end(self.i_gain) * 0.05)
            xl = <float>(left[i] * gin)
            xr = <float>(right[i] * gin)
            if not isfinite(xl):
                xl = 0.0
            if not isfinite(xr):
                xr = 0.0
            peak = fabs(xl)
            if fabs(xr) > peak:
                peak = fabs(xr)
            greq = 1.0 if peak <= ceil else ceil / peak
            # sliding minimum of greq over the last L samples (monotonic deque of
            # at most L entries: expire the oldest before pushing)
            if qlen > 0 and self.qi[qhead] <= t - L:
                qhead += 1
                if qhead == L:
                    qhead = 0
                qlen -= 1
            while qlen > 0:
                tail = qhead + qlen - 1
                if tail >= L:
                    tail -= L
                if self.qv[tail] < greq:
                    break
                qlen -= 1
            tail = qhead + qlen
            if tail >= L:
                tail -= L
            self.qv[tail] = greq
            self.qi[tail] = t
            qlen += 1
            hm = self.qv[qhead]
            # instant attack to the window minimum, exponential release toward 1
            genv = genv + (1.0 - genv) * relc
            if hm < genv:
                genv = hm
            # L-tap moving average of the envelope
            boxsum += genv - self.box[pos]
            self.box[pos] = <float>genv
            g = boxsum * inv_L
            # audio delayed by L - 1: the ring holds the last L inputs
            self.xdl[pos] = xl
            self.xdr[pos] = xr
            rd = pos + 1
            if rd == L:
                rd = 0
            gf = <float>g
            yl = self.xdl[rd] * gf
            yr = self.xdr[rd] * gf
            if yl > ceil:
                yl = ceil
            elif yl < -ceil:
                yl = -ceil
            if yr > ceil:
                yr = ceil
            elif yr < -ceil:
                yr = -ceil
            left[i] = yl
            right[i] = yr
            pos = rd
            t += 1
        self.genv = genv
        self.boxsum = boxsum
        self.qhead = qhead
        self.qlen = qlen
        self.pos = pos
        self.t = t
