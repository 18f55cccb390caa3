# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""Stereo and ping-pong delay.

Time is ``time_ms``, or with ``sync`` on, ``beats`` quarter notes at
``fx.tempo_bpm`` (clamped to 1..4000 ms). A change of time glides (one-pole,
~50 ms, tape-like) instead of jumping, and once the glide has arrived the
read position is an integer number of samples whenever the time is, so an
echo lands exactly on its sample. ``damping`` is a one-pole low-pass on the
line outputs, so each repeat is darker than the last; ``feedback`` <= 0.98.

Ping-pong: the mono sum enters the left line; the left line feeds the right
and the right feeds the left, each crossing scaled by ``feedback``.
"""
from libc.math cimport fabs, exp
from fmcore_rt.params cimport AtomicParams
from fmcore.fx.base cimport Effect
from fmcore.fx.dsp cimport (DelayLine, delay_alloc, delay_free, delay_clear,
                            delay_push, delay_read_frac)

cdef double MAX_TIME_MS = 2000.0
cdef double MAX_SYNC_MS = 4000.0


cdef class Delay(Effect):
    """Delay: ``time_ms``, ``sync``, ``beats``, ``feedback``, ``damping``, ``mix``, ``pingpong``."""

    def __cinit__(self, *args, **kwargs):
        self.line[0].buf = NULL
        self.line[1].buf = NULL

    def __init__(self, AtomicParams params not None, str name="delay"):
        Effect.__init__(self, params, name)
        self.i_time = self._add("time_ms", 1, MAX_TIME_MS, 375, "ms", 0.0)
        self.i_sync = self._add("sync", 0, 1, 0, "", 0.0)
        self.i_beats = self._add("beats", 0.0625, 4, 0.75, "beats", 0.0)
        self.i_fb = self._add("feedback", 0, 0.98, 0.35, "")
        self.i_damp = self._add("damping", 0, 1, 0.2, "")
        self.i_mix = self._add("mix", 0, 1, 0.3, "")
        self.i_pp = self._add("pingpong", 0, 1, 0, "", 0.0)
        if "fx.tempo_bpm" in params:
            self.i_tempo = params.index("fx.tempo_bpm")
        else:
            self.i_tempo = params.add("fx.tempo_bpm", 20, 300, 120, "bpm", 0.05)
        self.snap = True

    def __dealloc__(self):
        delay_free(&self.line[0])
        delay_free(&self.line[1])

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        Effect.prepare_c(self, sample_rate, max_block)
        self.max_samples = MAX_SYNC_MS * 0.001 * sample_rate
        delay_alloc(&self.line[0], <long>self.max_samples + 4)
        delay_alloc(&self.line[1], <long>self.max_samples + 4)
        self.glide = 1.0 - exp(-1.0 / (0.05 * sample_rate))
        self.clear()
        return 0

    cdef void clear(self) noexcept nogil:
        delay_clear(&self.line[0])
        delay_clear(&self.line[1])
        self.lp[0] = self.lp[1] = 0.0
        self.snap = True

    cdef double _target(self) noexcept nogil:
        cdef double ms
        if self.params.end(self.i_sync) >= 0.5:
            ms = 60000.0 / self.params.end(self.i_tempo) * self.params.end(self.i_beats)
            if ms > MAX_SYNC_MS:
                ms = MAX_SYNC_MS
            if ms < 1.0:
                ms = 1.0
        else:
            ms = self.params.end(self.i_time)
        return ms * 0.001 * self.sample_rate

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef double target = self._target()
        if self.snap:
            self.cur = target
            self.snap = False
        cdef double cur = self.cur
        cdef bint pingpong = self.params.end(self.i_pp) >= 0.5
        cdef float a, fb, mix, yl, yr, xl, xr
        cdef float lpl = self.lp[0], lpr = self.lp[1]
        cdef int i
        for i in range(nframes):
            if cur != target:
                cur += (target - cur) * self.glide
                if fabs(target - cur) < 1e-3:
                    cur = target
            fb = self.params.at(self.i_fb, i)
            mix = self.params.at(self.i_mix, i)
            a = 0.95 * self.params.at(self.i_damp, i)
            yl = delay_read_frac(&self.line[0], cur)
            yr = delay_read_frac(&self.line[1], cur)
            # one-pole low-pass; a = 0 is the identity
            lpl = yl + a * (lpl - yl)
            lpr = yr + a * (lpr - yr)
            yl = lpl
            yr = lpr
            xl = left[i]
            xr = right[i]
            if pingpong:
                delay_push(&self.line[0], 0.5 * (xl + xr) + fb * yr)
                delay_push(&self.line[1], fb * yl)
            else:
                delay_push(&self.line[0], xl + fb * yl)
                delay_push(&self.line[1], xr + fb * yr)
            left[i] = (1.0 - mix) * xl + mix * yl
            right[i] = (1.0 - mix) * xr + mix * yr
        self.cur = cur
        self.lp[0] = lpl
        self.lp[1] = lpr
