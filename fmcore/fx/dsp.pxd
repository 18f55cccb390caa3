# cython: cdivision=True
# Small DSP kernels shared by the effects. Header-only (inline): each effect
# module compiles them into its own loops, so there is no call overhead and no
# cross-module function table. Allocation helpers run on the control thread;
# everything marked nogil is audio-path safe (no allocation, no locks).
# cdivision (first line): a module's directives do not reach a cimported .pxd,
# and a checked division leaves a GIL-taking ZeroDivisionError branch in
# nogil code (tests/test_nogil_codegen.py).
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.string cimport memset
from libc.math cimport tan, sqrt, cos, sin, pow, M_PI


# ---- buffers ----------------------------------------------------------------
# A stereo pair of n-float buffers in place of *l and *r (the old ones freed); on failure
# nothing changes. Control thread (prepare), never the audio path.
cdef inline int replace_pair(float** l, float** r, int n) except -1:
    cdef float* nl = <float*>PyMem_Malloc(n * sizeof(float))
    cdef float* nr = <float*>PyMem_Malloc(n * sizeof(float))
    if nl == NULL or nr == NULL:
        PyMem_Free(nl)
        PyMem_Free(nr)
        raise MemoryError()
    PyMem_Free(l[0])
    PyMem_Free(r[0])
    l[0] = nl
    r[0] = nr
    return 0


# ---- delay line -------------------------------------------------------------
# Power-of-two ring buffer. `filled` counts the samples pushed since the last
# clear: reads further back than that return 0, so clearing is O(1) on the
# audio thread (no memset of seconds of buffer when an effect is re-enabled).
cdef struct DelayLine:
    float* buf
    int mask
    int pos
    int filled


cdef inline int delay_alloc(DelayLine* d, long min_len) except -1:
    """Allocate a line that can read back at least `min_len` samples (control thread)."""
    cdef long size = 1
    while size < min_len + 2:
        size <<= 1
    PyMem_Free(d.buf)
    d.buf = <float*>PyMem_Malloc(size * sizeof(float))
    if d.buf == NULL:
        raise MemoryError()
    memset(d.buf, 0, size * sizeof(float))
    d.mask = <int>(size - 1)
    d.pos = 0
    d.filled = 0
    return 0


cdef inline void delay_free(DelayLine* d) noexcept:
    PyMem_Free(d.buf)
    d.buf = NULL


cdef inline void delay_clear(DelayLine* d) noexcept nogil:
    d.pos = 0
    d.filled = 0


cdef inline void delay_push(DelayLine* d, float x) noexcept nogil:
    d.buf[d.pos] = x
    d.pos = (d.pos + 1) & d.mask
    if d.filled <= d.mask:
        d.filled += 1


cdef inline float delay_read(const DelayLine* d, int k) noexcept nogil:
    # the value pushed k pushes ago (k >= 1); 0 before anything was pushed there
    if k > d.filled:
        return 0.0
    return d.buf[(d.pos - k) & d.mask]


cdef inline float delay_read_frac(const DelayLine* d, double k) noexcept nogil:
    # linear interpolation; an integer k reads the stored sample exactly
    cdef int i = <int>k
    cdef float f = <float>(k - i)
    cdef float a = delay_read(d, i)
    if f == 0.0:
        return a
    return a + f * (delay_read(d, i + 1) - a)


# ---- biquad (transposed direct form II, double precision) ---------------------
cdef struct Biquad:
    double b0, b1, b2, a1, a2
    double z1[2]
    double z2[2]


cdef inline void biquad_clear(Biquad* q) noexcept nogil:
    q.z1[0] = 0.0
    q.z1[1] = 0.0
    q.z2[0] = 0.0
    q.z2[1] = 0.0


cdef inline double biquad_tick(Biquad* q, int ch, double x) noexcept nogil:
    cdef double y = q.b0 * x + q.z1[ch]
    q.z1[ch] = q.b1 * x - q.a1 * y + q.z2[ch]
    q.z2[ch] = q.b2 * x - q.a2 * y
    return y


cdef enum:
    BQ_LOWSHELF = 0
    BQ_PEAK = 1
    BQ_HIGHSHELF = 2


cdef inline void biquad_design(Biquad* q, int kind, double fs, double f0, double gain_db, double qf) noexcept nogil:
    """RBJ cookbook low shelf / peaking / high shelf (shelf slope S = 1)."""
    if f0 > 0.45 * fs:
        f0 = 0.45 * fs
    cdef double A = pow(10.0, gain_db / 40.0)
    cdef double w0 = 2.0 * M_PI * f0 / fs
    cdef double cw = cos(w0), sw = sin(w0)
    cdef double alpha, sa, b0, b1, b2, a0, a1, a2
    if kind == BQ_PEAK:
        alpha = sw / (2.0 * qf)
        b0 = 1.0 + alpha * A
        b1 = -2.0 * cw
        b2 = 1.0 - alpha * A
        a0 = 1.0 + alpha / A
        a1 = -2.0 * cw
        a2 = 1.0 - alpha / A
    else:
        alpha = sw / 2.0 * sqrt(2.0)
        sa = 2.0 * sqrt(A) * alpha
        if kind == BQ_LOWSHELF:
            b0 = A * ((A + 1) - (A - 1) * cw + sa)
            b1 = 2 * A * ((A - 1) - (A + 1) * cw)
            b2 = A * ((A + 1) - (A - 1) * cw - sa)
            a0 = (A + 1) + (A - 1) * cw + sa
            a1 = -2 * ((A - 1) + (A + 1) * cw)
            a2 = (A + 1) + (A - 1) * cw - sa
        else:
            b0 = A * ((A + 1) + (A - 1) * cw + sa)
            b1 = -2 * A * ((A - 1) + (A + 1) * cw)
            b2 = A * ((A + 1) + (A - 1) * cw - sa)
            a0 = (A + 1) - (A - 1) * cw + sa
            a1 = 2 * ((A - 1) - (A + 1) * cw)
            a2 = (A + 1) - (A - 1) * cw - sa
    q.b0 = b0 / a0
    q.b1 = b1 / a0
    q.b2 = b2 / a0
    q.a1 = a1 / a0
    q.a2 = a2 / a0


# ---- small helpers -------------------------------------------------------------
cdef inline double db_to_gain(double db) noexcept nogil:
    return pow(10.0, db * 0.05)


cdef inline float clampf(float x, float lo, float hi) noexcept nogil:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
