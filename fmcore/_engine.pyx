# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The FM engine: voices, operator graphs and the audio-thread ``render``.

``Synth`` is a ``fmcore_rt.Processor``: ``prepare`` sizes every buffer,
``render`` runs without the GIL, allocates nothing and takes no lock. The
control thread talks to it only through lock-free structures: the parameter
store (``AtomicParams``), the event scheduler (notes and controllers from
``note_on`` & co. through an SPSC queue, ordered by time on the audio thread;
whole songs handed over with ``schedule``), and atomic plan slots
(``set_patch``/``set_bank``) whose replaced plans travel back on a retire ring
and are freed off the audio thread.

Voices render operator-major: per control chunk (``CHUNK`` samples on a grid
that starts at the voice's onset) each operator runs over the whole stretch in
topological order, vectorised over samples by the kernels of
``fm_kernels.hpp`` (SSE2, or AVX2+FMA when the CPU has it). Operators on a
feedback loop read the previous samples of the loop (the two-sample average)
and so run sample by sample, across the voices that share the loop's shape,
one voice per lane (see ``fmcore/stages.py``). Envelopes, LFO and pitch move at
the control rate with gains interpolated per sample; events split the block at
their exact frames; an operator whose envelope stays at its floor (-96 dB,
where its output is exactly 0) through a chunk, and whatever only feeds it, is
skipped: the output is the same as if they had run.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport sin, exp2, pow, fabs, isfinite, M_PI, log10
from libc.math cimport ceil
from libc.string cimport memset, memcpy, memcmp
from libc.stdint cimport int64_t, uint8_t, int8_t, int32_t, uint32_t, uint64_t, uintptr_t
from libc.stdint cimport uint16_t
from libcpp.atomic cimport atomic, memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel

from fmcore_rt.processor cimport Processor, USE_RESET, USE_SETTLE
from fmcore_rt.processor import exclusive
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.spsc cimport SpscQueue, RtEvent, EV_MIDI
from fmcore_rt.spsc cimport EV_USER          # tuning changes (fmcore.tuning)
from fmcore_rt.scheduler cimport EventScheduler
from fmcore_rt.rt_atomics cimport SpscIndices, Counter64, new_atomic_array, delete_atomic_array
from fmcore.fx.chain cimport FxChain
from fmcore.fx.reverb cimport Reverb
from fmcore.fx.modulation cimport Chorus

import hashlib
import threading
import numpy as np

from fmcore.patch import Patch, LFO_WAVES, CURVES, FLOOR_DB as _FLOOR_DB
from fmcore_rt.messages import sample_time
from fmcore.stages import serial_stages

cdef extern from "fm_kernels.hpp" nogil:
    float fm_exp2f(float x)
    double fm_exp2(double x)

cdef inline float fm_db_to_amp(float db) noexcept nogil:
    return fm_exp2f(db * 0.16609640474436813)

DEF FLOOR = -96.0
DEF PHASE_UNITS = 2670176.8122365046    # 2^24 / (2 pi): radians -> units of 2^-24 cycle
DEF NO_PROG = 0xFFFFFFFF
DEF VOICE_GAIN = 0.25                   # headroom: one full carrier at -12 dBFS
DEF VEL_RANGE_DB = 42.0
DEF MAX_VOICES = 256
DEF PENDING_BANK = 16                   # index of the bank slot in `pending`
DEF PENDING_KIT = 17                    # first of N_PARTS kit slots in `pending`
DEF N_PENDING = 33
DEF CLEAR_OWN = 1                       # sentinel in a pending slot: drop the part's own patch
DEF RPN_NULL = 127                      # CC101/100 (or 99/98) = 127/127: no parameter selected

# The shared send effects: a small room and a gentle chorus. With the GM send of 40 the reverb's
# share of a song is about what FluidSynth's default reverb gives (wet 20 dB below dry, RT60 ~1 s).
SEND_REVERB_DEFAULTS = {"decay": 1.0, "size": 0.35, "damping": 0.2, "predelay_ms": 8.0, "mix": 0.5, "width": 0.6}
SEND_CHORUS_DEFAULTS = {"rate_hz": 0.4, "depth_ms": 3.0, "delay_ms": 12.0, "feedback": 0.1, "mix": 0.5}

cdef extern from "fm_kernels.hpp" nogil:
    float sine_u32 "fm_base::sin_u32_scalar"(uint32_t phase)

cdef extern from *:
    """
    /* L += a * g, R += b * g: a part into the mix or a send bus (distinct buffers, so restrict) */
    static inline void fm_add2(float* __restrict L, float* __restrict R, const float* __restrict a,
                               const float* __restrict b, float g, int n) {
        for (int i = 0; i < n; i++) { L[i] += a[i] * g; R[i] += b[i] * g; }
    }
    """
    void fm_add2(float* L, float* R, const float* a, const float* b, float g, int n) nogil

cdef int _i

_SIMD_WANT = {"auto": 0, "baseline": 1, "avx2": 2}


def _kernel_op_run(simd, uint32_t ph, uint32_t inc, float g, float dg, int j0, int n, mod=None, amt=1.0):
    """One operator over ``n`` samples through the ``simd`` kernels ("baseline" or "avx2"):
    (g + j*dg) * sin(2 pi (ph + j*inc) / 2^32 + amt * mod[i]), j = j0 + i (for tests)."""
    cdef const FmKernels* k = fm_select_kernels(_SIMD_WANT[simd])
    if k == NULL:
        raise RuntimeError(f"no {simd} kernels here")
    cdef int pad = (n + 7) // 8 * 8
    y = np.zeros(pad, np.float32)
    m = np.zeros(pad, np.float32)
    if mod is not None:
        m[:n] = np.asarray(mod, np.float32)
    cdef float[::1] yv = y
    cdef float[::1] mv = m
    cdef const float* src[1]
    cdef float a = <float>(amt * PHASE_UNITS)
    src[0] = &mv[0]
    k.op_run(ph, inc, g, dg, j0, n, src, &a, 1 if mod is not None else 0, &yv[0], NULL, 0, 0)
    return y[:n]


def simd_paths():
    """The kernel paths this build and CPU can run, best first (e.g. ``['avx2+fma', 'sse2']``)."""
    out = []
    cdef const FmKernels* k
    for want in (2, 1):
        k = fm_select_kernels(want)
        if k != NULL:
            out.append(k.name.decode())
    return out


cdef inline uint32_t xorshift(uint32_t* s) noexcept nogil:
    cdef uint32_t x = s[0]
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
    s[0] = x
    return x


cdef inline float lfo_value(int wave, double p, float sh) noexcept nogil:
    if wave == 0:
        return sine_u32(<uint32_t>(p * 4294967296.0))
    elif wave == 1:
        return <float>(1.0 - 4.0 * fabs(p - 0.5)) if p >= 0.0 else 0.0
    elif wave == 2:
        return <float>(2.0 * p - 1.0)
    elif wave == 3:
        return <float>(1.0 - 2.0 * p)
    elif wave == 4:
        return 1.0 if p < 0.5 else -1.0
    return sh


cdef inline int eg_advance(int stage, float* db, const float* level, const float* rate, double scale,
                           double samples) noexcept nogil:
    """Move a rate-based 4-segment envelope by ``samples``; returns the new stage.

    Stages 0..2 run toward level[0..2]; 3 holds (key down); 4 runs toward
    level[3] (release); 5 holds there. ``scale`` converts rate (units/s) to
    units per sample. A segment finishing inside the span hands the rest of
    the span to the next one, so times are exact whatever the chunk size.
    """
    cdef double t = samples, need, step, dist
    cdef int seg
    cdef float target
    while stage != 3 and stage != 5:
        seg = 3 if stage == 4 else stage
        target = level[seg]
        step = rate[seg] * scale
        dist = target - db[0]
        need = 0.0                           # a jump takes no time
        if rate[seg] < 1e8:
            if not step > 0:
                break                        # a zero rate never arrives
            if fabs(dist) > step * t:
                db[0] += <float>(step * t if dist > 0 else -step * t)      # still on the way
                break
            need = fabs(dist) / step
        db[0] = target
        t -= need
        stage = 3 if stage == 2 else (5 if stage == 4 else stage + 1)
    return stage


cdef inline float curve_db(float depth, int curve, float octaves) noexcept nogil:
    # DX7 keyboard level scaling: linear or exponential in octaves, cutting (-) or boosting (+)
    cdef float amount = octaves if (curve == 0 or curve == 3) else <float>(exp2(octaves) - 1.0)
    if amount > 8.0:
        amount = 8.0
    return depth * amount * (1.0 if curve >= 2 else -1.0)


# ---- DX7 laws (as in MSFA, the emulation inside Dexed), used by operators with `dx7` set.
# Levels there are counted in doublings of amplitude; EG level 99 with output level 99 is 15.
DEF DX7_DOUBLING_DB = 6.020599913279624
DEF DX7_TOP = 15.0
DEF DX7_JUMP = 6.703125                 # 1716/256: an attack starts here at once (about -50 dB)
DEF DX7_STEP_DB = 0.7525749891599529    # one output-level step = 1/8 doubling
DEF DX7_KLS_DB_PER_DEPTH = 0.24177657   # -LIN/+LIN dB per octave per depth unit (329/4096 step per 3 keys)

# velocity response (64 entries, velocity >> 1) and the exponential level-scaling curve (per 3 keys)
cdef int DX7_VEL[64]
cdef int DX7_EXP[33]
for _i, _v in enumerate((0, 70, 86, 97, 106, 114, 121, 126, 132, 138, 142, 148, 152, 156, 160, 163, 166, 170,
                         173, 174, 178, 181, 184, 186, 189, 190, 194, 196, 198, 200, 202, 205, 206, 209, 211,
                         214, 216, 218, 220, 222, 224, 225, 227, 229, 230, 232, 233, 235, 237, 238, 240, 241,
                         242, 243, 244, 246, 246, 248, 249, 250, 251, 252, 253, 254)):
    DX7_VEL[_i] = _v
for _i, _v in enumerate((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14, 16, 19, 23, 27, 33, 39, 47, 56, 66, 80, 94, 110,
                         126, 142, 158, 174, 190, 206, 222, 238, 250)):
    DX7_EXP[_i] = _v


cdef inline float dx7_velocity_db(int vel, int sens) noexcept nogil:
    # level change in dB for `vel` at sensitivity 0..7 (slightly above 0 dB near velocity 100)
    cdef int x = sens * (DX7_VEL[(vel if vel < 127 else 127) >> 1] - 239) + 7
    x = (x >> 3) << 4                       # arithmetic shifts, as the integer original
    return x * (DX7_STEP_DB / 32.0)


cdef inline float dx7_curve_db(int group, float depth_db, int curve) noexcept nogil:
    # keyboard level scaling for a group of 3 keys away from the break point, whole 0.75 dB steps
    cdef int depth = <int>(depth_db / DX7_KLS_DB_PER_DEPTH + 0.5)
    cdef int steps
    if curve == 0 or curve == 3:
        steps = (group * depth * 329) >> 12
    else:
        steps = (DX7_EXP[group if group < 32 else 32] * depth * 329) >> 15
    return steps * DX7_STEP_DB * (1.0 if curve >= 2 else -1.0)


cdef inline float dx7_scaling_db(const OpPlan* op, int note) noexcept nogil:
    # the DX7 counts keys from 4 semitones above the break point, in groups of 3
    cdef int offset = note - op.kls_break + 4
    cdef float db
    if offset >= 0:
        db = dx7_curve_db((offset + 1) // 3, op.kls_right_db, op.kls_right_curve)
    else:
        db = dx7_curve_db((1 - offset) // 3, op.kls_left_db, op.kls_left_curve)
    if db + op.level_db > 0.0:              # scaling cannot lift an operator above output level 99
        db = -op.level_db
    return db


cdef inline int eg_advance_op(const OpPlan* op, int stage, float* db, double scale, double samples,
                              float off) noexcept nogil:
    """``eg_advance`` for an operator; with ``op.dx7`` a rising segment follows the DX7 attack.

    The DX7 attack jumps to DX7_JUMP doublings of absolute level, then climbs at
    (17 - level) times the segment's rate, slowing near the top; falls are linear
    in dB as usual. ``off`` (velocity, scaling) plus ``op.level_db`` turn the
    envelope's dB into the absolute level that sets the attack speed.
    """
    if not op.dx7:
        return eg_advance(stage, db, op.env.level_db, op.env.rate, scale, samples)
    cdef double t = samples, need, step, x, x_goal, x_target, f
    cdef double absoff = off + op.level_db
    cdef int seg
    cdef float target
    while stage != 3 and stage != 5:
        seg = 3 if stage == 4 else stage
        target = op.env.level_db[seg]
        step = op.env.rate[seg] * scale
        if target <= db[0]:
            if not step > 0:
                break                               # a zero rate never arrives
            if db[0] - target > step * t:
                db[0] -= <float>(step * t)          # still falling: the common case, no division
                break
            t -= (db[0] - target) / step
            db[0] = target
            stage = 3 if stage == 2 else (5 if stage == 4 else stage + 1)
            continue
        # rising: work in absolute doublings x; the rate factor is constant between whole x
        x = DX7_TOP + (db[0] + absoff) / DX7_DOUBLING_DB
        x_target = DX7_TOP + (target + absoff) / DX7_DOUBLING_DB
        if x < DX7_JUMP:
            x = DX7_JUMP
        step = step / DX7_DOUBLING_DB          # doublings per sample at factor 1
        while x < x_target:
            # the factor for the band (16 - f, 17 - f]; at a band's top the next band's
            f = ceil(16.0 - x)
            if f < 1.0:
                f = 1.0
            x_goal = 17.0 - f
            if x_goal <= x:
                x_goal = x_target
            if x_goal > x_target:
                x_goal = x_target
            need = (x_goal - x) / (step * f) if step > 0 else 1e300
            if need <= t:
                x = x_goal
                t -= need
            else:
                x += step * f * t
                t = 0
                break
        if x >= x_target:
            db[0] = target
            stage = 3 if stage == 2 else (5 if stage == 4 else stage + 1)
            continue
        db[0] = <float>((x - DX7_TOP) * DX7_DOUBLING_DB - absoff)
        break
    return stage


cdef inline float op_amp(const Plan* p, int k, float db, float off, float am_db, float lvl) noexcept nogil:
    # an operator's amplitude from its envelope (dB), offsets and amplitude modulation
    if db <= FLOOR:
        return 0.0
    cdef float total = db + off - am_db
    if total > 12.0 and not p.op[k].dx7:      # DX7 offsets are capped at output level 99 instead
        total = 12.0
    return p.op[k].level * lvl * fm_db_to_amp(total)


cdef class SynthCore(Processor):
    """A multi-timbral FM synthesizer: 16 parts (one per MIDI channel) sharing one voice pool.

    ``Synth(sample_rate=48000, max_voices=16, max_block=1024)`` is ready to
    use: ``process(out, events)`` renders a (channels, frames) float32 buffer
    with events applied at their frames, ``render(events, duration)``
    renders offline, and ``note_on``/``note_off``/``control_change``/... send
    events from any control thread through the lock-free queue.
    """

    def __cinit__(self, double sample_rate=48000.0, int max_voices=16, int max_block=1024, *args, **kwargs):
        if not 1 <= max_voices <= MAX_VOICES:
            raise ValueError(f"max_voices must be in 1..{MAX_VOICES}, got {max_voices}")
        import os
        simd = kwargs.get("simd") or os.environ.get("FMCORE_SIMD") or "auto"
        if simd not in _SIMD_WANT:
            raise ValueError(f"simd must be one of {', '.join(_SIMD_WANT)}, got {simd!r}")
        self.k = fm_select_kernels(_SIMD_WANT[simd])
        if self.k == NULL:
            raise RuntimeError(f"simd={simd!r}: this CPU or build has no such path (it has {', '.join(simd_paths())})")
        self.max_voices = max_voices
        self.nslots = max_voices + max(4, max_voices // 4)
        cdef int ns = self.nslots
        self.pending = new_atomic_array[uintptr_t](N_PENDING)
        self.retire_idx = new SpscIndices()
        self.c_stolen = new Counter64()
        self.c_active = new Counter64()
        self.c_peak = new Counter64()
        self.c_notes = new Counter64()
        self.c_retired_plans = new Counter64()
        self.c_send_defaults = new Counter64()
        self.default_plan = <Plan*>PyMem_Malloc(sizeof(Plan))
        self.vplan = <Plan*>PyMem_Malloc(ns * sizeof(Plan))
        self.v_state = <uint8_t*>PyMem_Malloc(ns)
        self.v_fade = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.v_note = <uint8_t*>PyMem_Malloc(ns)
        self.v_chan = <uint8_t*>PyMem_Malloc(ns)
        self.v_vel = <uint8_t*>PyMem_Malloc(ns)
        self.v_released = <uint8_t*>PyMem_Malloc(ns)
        self.v_sustained = <uint8_t*>PyMem_Malloc(ns)
        self.v_age = <uint64_t*>PyMem_Malloc(ns * sizeof(uint64_t))
        self.v_time = <double*>PyMem_Malloc(ns * sizeof(double))
        self.v_lfo_phase = <double*>PyMem_Malloc(ns * sizeof(double))
        self.v_lfo_sh = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_rng = <uint32_t*>PyMem_Malloc(ns * sizeof(uint32_t))
        self.v_peg_stage = <int8_t*>PyMem_Malloc(ns)
        self.v_peg_cents = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_gl = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_gr = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_note_hz = <double*>PyMem_Malloc(ns * sizeof(double))
        cdef int c
        cdef int no = ns * MAX_OPS
        self.o_phase = <uint64_t*>PyMem_Malloc(no * sizeof(uint64_t))
        self.o_ph32 = <uint32_t*>PyMem_Malloc(no * sizeof(uint32_t))
        self.o_inc32 = <uint32_t*>PyMem_Malloc(no * sizeof(uint32_t))
        self.o_base_inc = <double*>PyMem_Malloc(no * sizeof(double))
        self.o_stage = <int8_t*>PyMem_Malloc(no)
        self.o_db = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_gain = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_off_db = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_rate_mul = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_y1 = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_y2 = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_dg = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_inc = <uint64_t*>PyMem_Malloc(no * sizeof(uint64_t))
        self.v_dgl = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_dgr = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_chunk_left = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.v_done = <uint8_t*>PyMem_Malloc(ns)
        self.o_db0 = <float*>PyMem_Malloc(no * sizeof(float))
        self.o_stage0 = <int8_t*>PyMem_Malloc(no)
        self.v_time0 = <double*>PyMem_Malloc(ns * sizeof(double))
        self.v_lfo_phase0 = <double*>PyMem_Malloc(ns * sizeof(double))
        self.v_lfo_sh0 = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_rng0 = <uint32_t*>PyMem_Malloc(ns * sizeof(uint32_t))
        self.v_peg_cents0 = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_peg_stage0 = <int8_t*>PyMem_Malloc(ns)
        self.v_chunk_len = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.o_amp_t = <float*>PyMem_Malloc(no * sizeof(float))
        self.v_glt = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_grt = <float*>PyMem_Malloc(ns * sizeof(float))
        self.v_steady = <uint8_t*>PyMem_Malloc(ns)
        self.v_pgen = <uint32_t*>PyMem_Malloc(ns * sizeof(uint32_t))
        self.v_gen = <uint32_t*>PyMem_Malloc(ns * sizeof(uint32_t))
        self.v_silent = <uint32_t*>PyMem_Malloc(ns * sizeof(uint32_t))
        self.segs = <Seg*>PyMem_Malloc(ns * NSEG * sizeof(Seg))
        self.prog = <Prog*>PyMem_Malloc(ns * sizeof(Prog))
        self.v_nseg = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.v_nrend = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.vout = <float*>PyMem_Malloc(ns * FM_SUB_PAD * sizeof(float))
        self.ybuf = <float*>PyMem_Malloc(FM_LANES * MAX_OPS * FM_SUB_PAD * sizeof(float))
        self.ser = <FmSerial*>PyMem_Malloc(sizeof(FmSerial))
        self.act = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.serq = <int32_t*>PyMem_Malloc(ns * sizeof(int32_t))
        self.lane_v = <int32_t*>PyMem_Malloc(FM_LANES * sizeof(int32_t))
        if self.ser != NULL:
            memset(self.ser, 0, sizeof(FmSerial))
            self.ser.ext = <float*>PyMem_Malloc(MAX_OPS * FM_SUB_PAD * FM_LANES * sizeof(float))
            self.ser.y = <float*>PyMem_Malloc(MAX_OPS * FM_SUB_PAD * FM_LANES * sizeof(float))
        if (self.v_chunk_len == NULL or self.v_silent == NULL or self.segs == NULL or self.v_nseg == NULL
                or self.prog == NULL or self.o_amp_t == NULL or self.v_glt == NULL or self.v_grt == NULL
                or self.v_steady == NULL or self.v_pgen == NULL or self.v_gen == NULL
                or self.v_nrend == NULL or self.vout == NULL or self.ybuf == NULL or self.ser == NULL
                or self.act == NULL or self.serq == NULL or self.lane_v == NULL
                or self.ser.ext == NULL or self.ser.y == NULL):
            raise MemoryError()
        # padding past a stretch is read before it is written: keep it finite from the start
        memset(self.vout, 0, ns * FM_SUB_PAD * sizeof(float))
        memset(self.ybuf, 0, FM_LANES * MAX_OPS * FM_SUB_PAD * sizeof(float))
        memset(self.ser.ext, 0, MAX_OPS * FM_SUB_PAD * FM_LANES * sizeof(float))
        memset(self.ser.y, 0, MAX_OPS * FM_SUB_PAD * FM_LANES * sizeof(float))
        for c in range(MAX_OPS):
            self.op_lvl[c] = 1.0
            self.op_cents[c] = 0.0
            self.op_tune[c] = 1.0
        if (self.default_plan == NULL or self.vplan == NULL or self.v_state == NULL or self.o_y2 == NULL
                or self.o_phase == NULL or self.o_ph32 == NULL or self.o_inc32 == NULL or self.v_note_hz == NULL or self.o_gain == NULL or self.o_dg == NULL
                or self.o_inc == NULL or self.v_dgl == NULL or self.v_dgr == NULL or self.v_chunk_left == NULL
                or self.v_done == NULL or self.o_db0 == NULL or self.o_stage0 == NULL or self.v_time0 == NULL
                or self.v_lfo_phase0 == NULL or self.v_lfo_sh0 == NULL or self.v_rng0 == NULL
                or self.v_peg_cents0 == NULL or self.v_peg_stage0 == NULL):
            raise MemoryError()
        self.tune_pitch = <double*>PyMem_Malloc(N_PARTS * 128 * sizeof(double))   # tuning and MPE
        self.v_timbre_db = <float*>PyMem_Malloc(ns * sizeof(float))
        if self.tune_pitch == NULL or self.v_timbre_db == NULL:
            raise MemoryError()
        memset(self.v_state, 0, ns)
        memset(self.v_fade, 0, ns * sizeof(int32_t))
        memset(self.o_phase, 0, ns * MAX_OPS * sizeof(uint64_t))   # free-running oscillators start at 0
        memset(self.o_ph32, 0, ns * MAX_OPS * sizeof(uint32_t))
        memset(self.o_inc32, 0, ns * MAX_OPS * sizeof(uint32_t))
        memset(self.o_inc, 0, ns * MAX_OPS * sizeof(uint64_t))
        self.bank = NULL
        self.buf_l = NULL
        self.part_buf = NULL
        self.bus_buf = NULL
        self.buf_cap = 0
        self.stem_out = NULL
        self.send_last[0] = self.send_last[1] = 0
        self.send_running[0] = self.send_running[1] = False
        self.default_send[0] = 0
        self.default_send[1] = 0
        self.buf_r = NULL
        self.buf_g = NULL
        self.age_counter = 0
        self.event_time = 0
        self.tune_cents = 0
        self.param_gen = 0
        memset(self.part_gen, 0, sizeof(self.part_gen))
        for c in range(N_PENDING):
            self.pending[c].store(0)
        for c in range(N_PARTS):
            self.part[c].own = NULL
            self.part[c].kit = NULL
        self._reset_parts()
        self._reset_ext()

    def __init__(self, double sample_rate=48000.0, int max_voices=16, int max_block=1024, *, simd=None):
        # a burst costs a bounded amount per block: 2 events per frame up to 32 voices, fewer with more
        # (a note-on scans the voice pool), the rest applied first in the next block
        self.scheduler = EventScheduler(4096, 8192, 2.0 * 32 / max(32, max_voices))
        self.queue = self.scheduler.queue
        self._push_lock = threading.Lock()
        self.params = AtomicParams()
        self.p_gain = self.params.add("master.gain", 0.0, 4.0, 1.0, "", 0.02)
        self.p_tune = self.params.add("master.tune_cents", -100.0, 100.0, 0.0, "cents", 0.02)
        cdef int i
        for i in range(MAX_OPS):
            self.p_op_level[i] = self.params.add(f"op{i + 1}.level", 0.0, 2.0, 1.0, "x", 0.01)
        for i in range(MAX_OPS):
            self.p_op_detune[i] = self.params.add(f"op{i + 1}.detune_cents", -100.0, 100.0, 0.0, "cents", 0.02)
        _compile_into(Patch(), <uintptr_t>self.default_plan)
        self.fx = FxChain(self.params)
        self.send_reverb = Reverb(self.params, "send_reverb", SEND_REVERB_DEFAULTS)
        self.send_reverb.wet_only = True
        self.send_chorus = Chorus(self.params, "send_chorus", SEND_CHORUS_DEFAULTS)
        self.send_chorus.wet_only = True
        self.prepare(sample_rate, max_block)

    def __dealloc__(self):
        if self.retire_idx != NULL:
            self._free_plans()
        if self.pending != NULL:
            delete_atomic_array[uintptr_t](self.pending)
        del self.retire_idx
        del self.c_stolen
        del self.c_active
        del self.c_peak
        del self.c_notes
        del self.c_retired_plans
        del self.c_send_defaults
        PyMem_Free(self.default_plan)
        PyMem_Free(self.vplan)
        PyMem_Free(self.v_state); PyMem_Free(self.v_fade); PyMem_Free(self.v_note); PyMem_Free(self.v_chan)
        PyMem_Free(self.v_vel); PyMem_Free(self.v_released); PyMem_Free(self.v_sustained)
        PyMem_Free(self.v_age); PyMem_Free(self.v_time); PyMem_Free(self.v_lfo_phase); PyMem_Free(self.v_lfo_sh)
        PyMem_Free(self.v_rng); PyMem_Free(self.v_peg_stage); PyMem_Free(self.v_peg_cents)
        PyMem_Free(self.v_gl); PyMem_Free(self.v_gr); PyMem_Free(self.v_note_hz)
        PyMem_Free(self.o_phase); PyMem_Free(self.o_ph32); PyMem_Free(self.o_inc32); PyMem_Free(self.o_base_inc); PyMem_Free(self.o_stage); PyMem_Free(self.o_db)
        PyMem_Free(self.o_gain); PyMem_Free(self.o_off_db); PyMem_Free(self.o_rate_mul)
        PyMem_Free(self.o_y1); PyMem_Free(self.o_y2); PyMem_Free(self.o_dg); PyMem_Free(self.o_inc)
        PyMem_Free(self.v_dgl); PyMem_Free(self.v_dgr); PyMem_Free(self.v_chunk_left); PyMem_Free(self.v_done)
        PyMem_Free(self.o_db0); PyMem_Free(self.o_stage0); PyMem_Free(self.v_time0); PyMem_Free(self.v_lfo_phase0)
        PyMem_Free(self.v_lfo_sh0); PyMem_Free(self.v_rng0); PyMem_Free(self.v_peg_cents0)
        PyMem_Free(self.v_peg_stage0)
        PyMem_Free(self.tune_pitch); PyMem_Free(self.v_timbre_db)
        PyMem_Free(self.v_chunk_len); PyMem_Free(self.v_silent); PyMem_Free(self.segs); PyMem_Free(self.v_nseg)
        PyMem_Free(self.prog); PyMem_Free(self.o_amp_t); PyMem_Free(self.v_glt); PyMem_Free(self.v_grt)
        PyMem_Free(self.v_steady); PyMem_Free(self.v_pgen); PyMem_Free(self.v_gen)
        PyMem_Free(self.v_nrend); PyMem_Free(self.vout); PyMem_Free(self.ybuf)
        PyMem_Free(self.act); PyMem_Free(self.serq); PyMem_Free(self.lane_v)
        if self.ser != NULL:
            PyMem_Free(self.ser.ext); PyMem_Free(self.ser.y)
            PyMem_Free(self.ser)
        PyMem_Free(self.buf_l); PyMem_Free(self.buf_r); PyMem_Free(self.buf_g)
        PyMem_Free(self.part_buf); PyMem_Free(self.bus_buf)

    cdef void _free_plans(self):
        # control thread, audio stopped: everything published or retired
        self._reclaim()
        cdef int c
        cdef uintptr_t p
        if self.pending != NULL:
            for c in range(N_PENDING):
                p = self.pending[c].exchange(0)
                if p > CLEAR_OWN:
                    PyMem_Free(<void*>p)
        for c in range(N_PARTS):
            if self.part[c].own != NULL:
                PyMem_Free(self.part[c].own)
                self.part[c].own = NULL
            if self.part[c].kit != NULL:
                PyMem_Free(self.part[c].kit)
                self.part[c].kit = NULL
        if self.bank != NULL:
            PyMem_Free(self.bank)
            self.bank = NULL

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        PyMem_Free(self.buf_l)
        PyMem_Free(self.buf_r)
        PyMem_Free(self.buf_g)
        PyMem_Free(self.part_buf)
        PyMem_Free(self.bus_buf)
        self.buf_cap = 0
        self.buf_l = <float*>PyMem_Malloc(max_block * sizeof(float))
        self.buf_r = <float*>PyMem_Malloc(max_block * sizeof(float))
        self.buf_g = <float*>PyMem_Malloc(max_block * sizeof(float))
        self.part_buf = <float*>PyMem_Malloc(N_PARTS * 2 * max_block * sizeof(float))
        self.bus_buf = <float*>PyMem_Malloc(4 * max_block * sizeof(float))
        if (self.buf_l == NULL or self.buf_r == NULL or self.buf_g == NULL or self.part_buf == NULL
                or self.bus_buf == NULL):
            raise MemoryError()
        self.buf_cap = max_block
        self.params.prepare(sample_rate)
        if self.fx is not None:
            self.fx.prepare_c(sample_rate, max_block)
        if self.send_reverb is not None:
            self.send_reverb.prepare_c(sample_rate, max_block)
            self.send_chorus.prepare_c(sample_rate, max_block)
        self.send_running[0] = self.send_running[1] = False
        self.fade_len = max(1, <int>(0.002 * sample_rate))
        self.inv_sr = 1.0 / sample_rate
        return 0

    # ------------------------------------------------------------------ control thread

    cdef void _reset_parts(self) noexcept:
        cdef int c, k
        for c in range(N_PARTS):
            self.part[c].program = 0
            self.part[c].bend = 0
            self.part[c].modwheel = 0
            self.part[c].aftertouch = 0
            self.part[c].volume = 100.0 / 127.0
            self.part[c].expression = 1.0
            self.part[c].pan = 0.0
            self.part[c].sustain = False
            self.part[c].t0 = -1
            self.part[c].rpn_msb = self.part[c].rpn_lsb = RPN_NULL
            self.part[c].nrpn_msb = self.part[c].nrpn_lsb = RPN_NULL
            self.part[c].nrpn = False
            self.part[c].rpn_bend = -1
            self.part[c].rpn_fine = 8192
            self.part[c].rpn_coarse = 64
            self.part[c].tune_cents = 0.0
            for k in range(2):
                self.part[c].send_cc[k] = self.default_send[k]
                self.part[c].send_from[k] = self.part[c].send_to[k] = self.default_send[k] / 127.0
                self.part[c].send_t0[k] = 0

    cdef int _reclaim(self) except -1:
        # Free the plans the audio thread has retired (control thread only).
        cdef uint64_t tail = self.retire_idx.tail.load(memory_order_relaxed)
        cdef uint64_t head = self.retire_idx.head.load(memory_order_acquire)
        while tail != head:
            PyMem_Free(<void*>self.retire_slots[tail & (RETIRE_CAP - 1)])
            tail += 1
        self.retire_idx.tail.store(tail, memory_order_release)
        return 0

    def _check_channel(self, channel):
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < N_PARTS:
            raise ValueError(f"channel must be an int in 0..{N_PARTS - 1}, got {channel!r}")
        return int(channel)

    def set_patch(self, patch, channel=0):
        """Give part ``channel`` (0..15) its own patch (a ``Patch``, or a DX7 voice such as
        ``bank[i]``); program changes then leave it alone.

        The patch is compiled here; the audio thread adopts it at its next
        block without blocking, and the replaced plan is freed here later.
        """
        from fmcore.patch import as_patch

        ch = self._check_channel(channel)
        patch = as_patch(patch, "set_patch")
        cdef Plan* p = <Plan*>PyMem_Malloc(sizeof(Plan))
        if p == NULL:
            raise MemoryError()
        try:
            _compile_into(patch, <uintptr_t>p)
        except BaseException:
            PyMem_Free(p)
            raise
        self._publish(ch, <uintptr_t>p)

    def clear_patch(self, channel=0):
        """Drop part ``channel``'s own patch: it follows the bank and program changes again."""
        self._publish(self._check_channel(channel), CLEAR_OWN)

    def set_bank(self, patches):
        """Set the program bank (up to 128 ``Patch``es, or DX7 voices: a whole ``fmcore.dx7.Bank``)
        that program changes select from, for every part."""
        from fmcore.patch import as_patch

        patches = [as_patch(p, f"bank entry {i}") for i, p in enumerate(patches)]
        if not 1 <= len(patches) <= BANK_SIZE:
            raise ValueError(f"a bank holds 1..{BANK_SIZE} patches, got {len(patches)}")
        cdef Bank* b = <Bank*>PyMem_Malloc(sizeof(Bank))
        if b == NULL:
            raise MemoryError()
        cdef int i
        try:
            for i, pt in enumerate(patches):
                _compile_into(pt, <uintptr_t>&b.plans[i])
        except BaseException:
            PyMem_Free(b)
            raise
        b.n = len(patches)
        self._publish(PENDING_BANK, <uintptr_t>b)

    def set_kit(self, sounds, channel=9, choke=()):
        """Make part ``channel`` a drum kit: ``sounds`` maps MIDI notes to ``Patch``es (at most
        64 different patches); other notes are silent. Takes precedence over the part's patch.

        ``choke``: groups of notes (e.g. ``[{42, 44, 46}]``, the hi-hats); a note of a group
        cuts every sounding note of its group on the channel (a 2 ms fade), as a closed hi-hat
        stops an open one.
        """
        ch = self._check_channel(channel)
        sounds = dict(sounds)
        groups = [set(g) for g in choke]
        if len(groups) > 254:
            raise ValueError(f"at most 254 choke groups, got {len(groups)}")
        seen = {}
        for gi, g in enumerate(groups):
            for note in g:
                if isinstance(note, bool) or not isinstance(note, (int, np.integer)) or not 0 <= note <= 127:
                    raise ValueError(f"choke group {gi + 1}: note {note!r} is not an int in 0..127")
                if note in seen:
                    raise ValueError(f"choke groups {seen[note] + 1} and {gi + 1} both hold note {note}")
                seen[note] = gi
        uniq = []
        for note, patch in sounds.items():
            _check_byte("kit note", note)
            if not isinstance(patch, Patch):
                raise TypeError(f"kit note {note}: expected a fmcore.Patch, got {type(patch).__name__}")
            if not any(patch is u for u in uniq):
                uniq.append(patch)
        if len(uniq) > KIT_SOUNDS:
            raise ValueError(f"a kit holds at most {KIT_SOUNDS} different patches, got {len(uniq)}")
        cdef Kit* kit = <Kit*>PyMem_Malloc(sizeof(Kit))
        if kit == NULL:
            raise MemoryError()
        cdef int i
        try:
            memset(kit.sound, 255, 128)
            memset(kit.choke, 0, 128)
            for note, gi in seen.items():
                kit.choke[note] = gi + 1
            for i, patch in enumerate(uniq):
                _compile_into(patch, <uintptr_t>&kit.plans[i])
            for note, patch in sounds.items():
                kit.sound[note] = next(i for i, u in enumerate(uniq) if u is patch)
        except BaseException:
            PyMem_Free(kit)
            raise
        kit.n = len(uniq)
        self._publish(PENDING_KIT + ch, <uintptr_t>kit)

    def clear_kit(self, channel=9):
        """Turn part ``channel`` back from a drum kit into a normal part."""
        self._publish(PENDING_KIT + self._check_channel(channel), CLEAR_OWN)

    def set_default_sends(self, reverb=40, chorus=0):
        """The reverb and chorus sends (CC91, CC93 values 0..127) every part starts with.

        Every part takes them at the start of the next block (before that block's
        events, so a song's own CC91/93 at time 0 win) and again at each ``reset()``.
        A new ``Synth`` is dry (0, 0); General MIDI players start at 40 and 0, which
        ``fmcore.render.setup_synth`` sets.
        """
        _check_byte("reverb send", reverb)
        _check_byte("chorus send", chorus)
        self.default_send[0] = reverb
        self.default_send[1] = chorus
        self.c_send_defaults.value.store((<uint64_t>1 << 16) | (<uint64_t>reverb << 8) | <uint64_t>chorus,
                                         memory_order_release)

    cdef int _publish(self, int slot, uintptr_t p) except -1:
        self._reclaim()
        cdef uintptr_t old = self.pending[slot].exchange(p, memory_order_acq_rel)
        if old > CLEAR_OWN:
            PyMem_Free(<void*>old)     # never adopted: still ours
        return 0

    def _push(self, int64_t frame, int status, int d1, int d2):
        cdef RtEvent ev
        memset(&ev, 0, sizeof(RtEvent))
        ev.frame = frame
        ev.kind = EV_MIDI
        ev.status = <uint8_t>status
        ev.data1 = <uint8_t>d1
        ev.data2 = <uint8_t>d2
        cdef bint ok
        with self._push_lock:        # several control threads may send; the queue has one producer
            with nogil:
                ok = self.queue.push(&ev)
        return ok

    def _push_tuning(self, int mask, int note, double pitch, bint realtime=False, at=None):
        """Queue a key's new pitch (12-TET semitones, < 0 unmaps it) for the parts in the 16-bit
        ``mask``, applied at sample ``at`` (absolute) or the next block; see ``fmcore.tuning``."""
        cdef RtEvent ev
        memset(&ev, 0, sizeof(RtEvent))
        ev.frame = -1 if at is None else sample_time(at)
        ev.kind = EV_USER
        ev.param = <uint16_t>(mask & 0xFFFF)
        ev.data1 = <uint8_t>(note & 127)
        ev.data2 = 1 if realtime else 0
        ev.value = <float>pitch
        cdef bint ok
        with self._push_lock:
            with nogil:
                ok = self.queue.push(&ev)
        return ok

    def send(self, int status, int data1=0, int data2=0, at=None):
        """Send a MIDI channel message to the audio thread; ``at`` is an absolute sample time
        (``synth.clock.frames`` based) or None for the start of the next block. Returns False if
        the queue was full (the event is dropped and counted)."""
        if not 0x80 <= status <= 0xEF:
            raise ValueError(f"status {status:#x} is not a MIDI channel message (0x80..0xEF)")
        if not (0 <= data1 <= 127 and 0 <= data2 <= 127):
            raise ValueError(f"data bytes ({data1}, {data2}) outside 0..127")
        cdef int64_t frame = -1 if at is None else sample_time(at)
        return self._push(frame, status, data1, data2)

    def note_on(self, note, velocity=100, channel=0, at=None):
        """Start ``note`` (0..127) at ``velocity`` (1..127; 0 is a note-off) on ``channel`` (0..15)."""
        ch = self._check_channel(channel)
        _check_byte("note", note)
        _check_byte("velocity", velocity)
        return self.send(0x90 | ch, note, velocity, at)

    def note_off(self, note, channel=0, at=None):
        """Release ``note`` on ``channel``."""
        ch = self._check_channel(channel)
        _check_byte("note", note)
        return self.send(0x80 | ch, note, 0, at)

    def control_change(self, cc, value, channel=0, at=None):
        """Controller ``cc`` to ``value`` (CC1 mod wheel, 7 volume, 10 pan, 11 expression, 64 sustain, 120, 121, 123)."""
        ch = self._check_channel(channel)
        _check_byte("controller", cc)
        _check_byte("value", value)
        return self.send(0xB0 | ch, cc, value, at)

    def pitch_bend(self, value, channel=0, at=None):
        """Pitch bend in -1.0..1.0 (float) or -8192..8191 (int); the range is the patch's ``bend_range``."""
        ch = self._check_channel(channel)
        if isinstance(value, float):
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"pitch bend must be in -1.0..1.0, got {value}")
            v = int(round(value * 8191)) if value > 0 else int(round(value * 8192))
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            v = int(value)
            if not -8192 <= v <= 8191:
                raise ValueError(f"pitch bend must be in -8192..8191, got {value}")
        else:
            raise TypeError(f"pitch bend must be a float or an int, got {value!r}")
        v += 8192
        return self.send(0xE0 | ch, v & 0x7F, v >> 7, at)

    def program_change(self, program, channel=0, at=None):
        """Select ``program`` of the bank on ``channel``."""
        ch = self._check_channel(channel)
        _check_byte("program", program)
        return self.send(0xC0 | ch, program, 0, at)

    def schedule(self, events, start=0):
        """Hand a whole event list to the audio thread, played by sample time; returns how many.

        ``events`` are ``(frame, status, data1, data2)`` MIDI channel messages (or a structured array
        with fields sample/frame, status, data1, data2), each applied at absolute sample
        ``start + frame`` (``clock.frames`` based). Copied and sorted here, published with one atomic
        swap: no thread has to push events on time while they play, so playback does not depend on
        the GIL. Replaces the list being played; ``clear_schedule()`` stops it."""
        return self.scheduler.publish(events, int(start))

    def clear_schedule(self):
        """Drop the rest of the list given to ``schedule`` (from the audio thread's next block)."""
        self.scheduler.clear_timeline()

    def all_notes_off(self, channel=None):
        """Release every note (CC123) on ``channel``, or on every channel."""
        for ch in (range(N_PARTS) if channel is None else [self._check_channel(channel)]):
            self.send(0xB0 | ch, 123, 0)

    def all_sound_off(self, channel=None):
        """Silence every voice at once, with a short fade (CC120)."""
        for ch in (range(N_PARTS) if channel is None else [self._check_channel(channel)]):
            self.send(0xB0 | ch, 120, 0)

    @exclusive(USE_RESET, "reset()")
    def reset(self):
        """Stop every voice, reset controllers and the clock, drop queued events (audio stopped).

        Raises ``ProcessorBusyError`` if another thread is in ``process()``.
        """
        self._reclaim()
        with nogil:
            self._adopt_plans()
        self.scheduler.reset()
        memset(self.v_state, 0, self.nslots)
        memset(self.v_fade, 0, self.nslots * sizeof(int32_t))
        self.c_active.value.store(0)
        self.c_send_defaults.value.store(0)     # _reset_parts applies the defaults
        self._reset_parts()
        self._reset_ext()          # 12-TET, MPE off, CC74 centred
        self._reclaim()
        self.fx.reset()
        self.send_reverb.reset()
        self.send_chorus.reset()
        self.send_running[0] = self.send_running[1] = False
        self.clock.reset()         # a reused engine renders exactly like a fresh one
        self.event_time = 0
        self.age_counter = 0

    @exclusive(USE_SETTLE, "settle()")
    def settle(self):
        """Jump every smoothed parameter to its target (for a deterministic offline start)."""
        self.params.settle()

    # ---- stats ---------------------------------------------------------------------

    @property
    def simd(self):
        """The sample loops this synth runs: ``'avx2+fma'`` or the baseline (``'sse2'`` on x86-64)."""
        return self.k.name.decode()

    @property
    def active_voices(self):
        """Voices sounding now (fading stolen voices not counted)."""
        return int(self.c_active.value.load())

    @property
    def voices_stolen(self):
        return int(self.c_stolen.value.load())

    @property
    def stats(self):
        """Timing statistics plus voice and event counters."""
        s = self.timing.snapshot()
        s.update(voices_active=self.active_voices, voices_peak=int(self.c_peak.value.load()),
                 voices_stolen=self.voices_stolen, notes_played=int(self.c_notes.value.load()),
                 events_dropped=int(self.queue.dropped), events_deferred=int(self.scheduler.deferred),
                 events_late=int(self.scheduler.late), max_voices=self.max_voices)
        return s

    def voices(self):
        """A snapshot of the voice pool (for tests and tools; not synchronised with a running audio thread)."""
        out = []
        cdef int v
        for v in range(self.nslots):
            if self.v_state[v]:
                out.append(dict(slot=v, note=self.v_note[v], channel=self.v_chan[v], velocity=self.v_vel[v],
                                released=bool(self.v_released[v]), sustained=bool(self.v_sustained[v]),
                                fading=self.v_fade[v] > 0, age=int(self.v_age[v])))
        return out

    def part_state(self, channel):
        """A part's controller state (for tests and tools; not synchronised with a running audio thread).

        ``bend_range`` in semitones as set by RPN 0 (None: the patch's), ``tuning_cents``
        from RPN 1 and 2, ``rpn``/``nrpn`` the selected parameter number (None: none or
        null), ``reverb_send``/``chorus_send`` the CC91/CC93 values.
        """
        cdef PartState* p = &self.part[self._check_channel(channel)]
        return dict(program=p.program, bend=p.bend, volume=p.volume, expression=p.expression, pan=p.pan,
                    sustain=bool(p.sustain),
                    bend_range=None if p.rpn_bend < 0 else p.rpn_bend / 100.0, tuning_cents=p.tune_cents,
                    rpn=None if p.nrpn or (p.rpn_msb == RPN_NULL and p.rpn_lsb == RPN_NULL)
                    else (p.rpn_msb << 7) | p.rpn_lsb,
                    nrpn=None if not p.nrpn or (p.nrpn_msb == RPN_NULL and p.nrpn_lsb == RPN_NULL)
                    else (p.nrpn_msb << 7) | p.nrpn_lsb,
                    reverb_send=p.send_cc[0], chorus_send=p.send_cc[1])

    def process_stems(self, out, stems, events=None):
        """``process(out, events)`` that also writes the mix's parts: ``stems`` is a float32
        C-contiguous array shaped (18, 2, frames) with the frames of ``out``.

        ``stems[c]`` is part ``c``'s signal as it enters the mix (after its volume, pan
        and the master gain), ``stems[16]`` and ``stems[17]`` the returns of the shared
        reverb and chorus: they sum to the mix before the output effects (``fx``).
        Offline only: not for a processor a live stream is running.
        """
        if not isinstance(stems, np.ndarray) or stems.dtype != np.float32 or not stems.flags.c_contiguous \
                or not stems.flags.writeable:
            raise TypeError("stems must be a writeable C-contiguous float32 array")
        if not isinstance(out, np.ndarray) or out.ndim != 2:
            raise TypeError("out must be a float32 numpy array shaped (channels, frames)")
        if stems.shape != (N_STEMS, 2, out.shape[1]):
            raise ValueError(f"stems must be shaped ({N_STEMS}, 2, {out.shape[1]}), got {stems.shape}")
        cdef float[:, :, ::1] sv = stems
        if out.shape[1] == 0:
            return out
        self.stem_out = &sv[0, 0, 0]
        self.stem_len = out.shape[1]
        self.stem_pos = 0
        try:
            return self.process(out, events)
        finally:
            self.stem_out = NULL

    # ------------------------------------------------------------------ audio thread

    cdef bint _retire(self, uintptr_t p) noexcept nogil:
        cdef uint64_t head = self.retire_idx.head.load(memory_order_relaxed)
        cdef uint64_t tail = self.retire_idx.tail.load(memory_order_acquire)
        if head - tail >= RETIRE_CAP:
            return False
        self.retire_slots[head & (RETIRE_CAP - 1)] = p
        self.retire_idx.head.store(head + 1, memory_order_release)
        self.c_retired_plans.value.fetch_add(1, memory_order_relaxed)
        return True

    cdef void _adopt_plans(self) noexcept nogil:
        cdef int c
        cdef uintptr_t p
        cdef uint64_t head, tail
        for c in range(N_PENDING):
            if self.pending[c].load(memory_order_relaxed) == 0:
                continue
            # adopt only when the replaced plan has a place on the retire ring
            head = self.retire_idx.head.load(memory_order_relaxed)
            tail = self.retire_idx.tail.load(memory_order_acquire)
            if head - tail >= RETIRE_CAP:
                return
            p = self.pending[c].exchange(0, memory_order_acq_rel)
            if p == 0:
                continue
            if c == PENDING_BANK:
                if self.bank != NULL:
                    self._retire(<uintptr_t>self.bank)
                self.bank = <Bank*>p
            elif c >= PENDING_KIT:
                if self.part[c - PENDING_KIT].kit != NULL:
                    self._retire(<uintptr_t>self.part[c - PENDING_KIT].kit)
                if p == CLEAR_OWN:
                    self.part[c - PENDING_KIT].kit = NULL
                else:
                    self.part[c - PENDING_KIT].kit = <Kit*>p
            else:
                if self.part[c].own != NULL:
                    self._retire(<uintptr_t>self.part[c].own)
                if p == CLEAR_OWN:
                    self.part[c].own = NULL
                else:
                    self.part[c].own = <Plan*>p

    cdef const Plan* _part_plan(self, int ch) noexcept nogil:
        if self.part[ch].own != NULL:
            return self.part[ch].own
        if self.bank != NULL:
            return &self.bank.plans[self.part[ch].program % self.bank.n]
        return self.default_plan

    # ---- microtuning and MPE (the parsing and the API are fmcore/tuning.py and fmcore/mpe.py)

    cdef void _reset_ext(self) noexcept:
        cdef int c, n
        for c in range(N_PARTS):
            for n in range(128):
                self.tune_pitch[c * 128 + n] = n          # 12-TET: the engine's frequencies to the bit
            self.mpe_cents[c] = 0.0
            self.mpe_owner[c] = c
            self.timbre_db[c] = 0.0
            self.mpe.member_bend[c] = 0.0
            self.mpe.zone[c] = -1
            self.mpe.manager[c] = False
            self.mpe.rpn_msb[c] = 127
            self.mpe.rpn_lsb[c] = 127
        for c in range(2):
            self.mpe.members[c] = 0
            self.mpe.member_range[c] = 48.0
            self.mpe.manager_range[c] = 2.0
            self.mpe.manager_bend[c] = 0.0

    cdef void _tuning_event(self, const RtEvent* ev) noexcept nogil:
        """A key's new pitch (``value``, 12-TET semitones; < 0 unmaps it) on the parts of the mask
        ``param``; with ``data2`` set (MTS real-time) sounding notes of that key move at this frame."""
        cdef int c, v, k, note = ev.data1 & 127
        cdef double hz = 440.0 * exp2((ev.value - 69) / 12.0)
        cdef const OpPlan* op
        for c in range(N_PARTS):
            if not (ev.param >> c) & 1:
                continue
            self.tune_pitch[c * 128 + note] = ev.value
            if not ev.data2 or ev.value < 0:
                continue
            for v in range(self.nslots):
                if self.v_state[v] and self.v_chan[v] == c and self.v_note[v] == note:
                    self._retick(v)
                    self.v_note_hz[v] = hz
                    for k in range(self.vplan[v].n_ops):
                        op = &self.vplan[v].op[k]
                        if not op.fixed:
                            self.o_base_inc[v * MAX_OPS + k] = op.ratio * op.detune * hz / self.sample_rate

    cdef void _ext_start(self, int v, int ch) noexcept nogil:
        # a new voice takes its part's CC74 offset
        self.v_timbre_db[v] = 0.0
        if self.timbre_db[ch] != 0.0:
            self._set_timbre(ch, self.timbre_db[ch])

    cdef void _set_timbre(self, int ch, float db) noexcept nogil:
        """CC74 (MPE timbre, GM2 brightness): the modulators' levels move by ``db`` from this frame."""
        cdef int v, k
        cdef float d
        self.timbre_db[ch] = db
        for v in range(self.nslots):
            if self.v_state[v] and self.v_chan[v] == ch and self.v_timbre_db[v] != db:
                self._retick(v)
                d = db - self.v_timbre_db[v]
                for k in range(self.vplan[v].n_ops):
                    if self.vplan[v].op[k].carrier == 0:
                        self.o_off_db[v * MAX_OPS + k] += d
                self.v_timbre_db[v] = db

    cdef void _mpe_update(self, int ch) noexcept nogil:
        # the MPE pitch of member channel `ch`: its own bend plus its zone manager's
        cdef int z = self.mpe.zone[ch]
        cdef float cents = 0.0
        if z >= 0 and not self.mpe.manager[ch]:
            cents = 100.0 * (self.mpe.member_bend[ch] * self.mpe.member_range[z]
                             + self.mpe.manager_bend[z] * self.mpe.manager_range[z])
        if cents != self.mpe_cents[ch]:
            self._retick_part(ch)
            self.mpe_cents[ch] = cents

    cdef void _mpe_zone(self, int z, int members) noexcept nogil:
        """MPE Configuration Message: zone ``z`` gets ``members`` member channels (0 turns it off);
        an overlapping other zone shrinks, as the spec asks."""
        cdef int c, other = 1 - z
        if members > 15:
            members = 15
        self.mpe.members[z] = members
        if members > 0 and self.mpe.members[other] > 14 - members:
            self.mpe.members[other] = 14 - members if 14 - members > 0 else 0
        for z in range(2):
            self.mpe.member_range[z] = 48.0
            self.mpe.manager_range[z] = 2.0
            self.mpe.manager_bend[z] = 0.0
        for c in range(N_PARTS):
            self.mpe.zone[c] = -1
            self.mpe.manager[c] = False
            self.mpe.member_bend[c] = 0.0
            self.mpe_owner[c] = c
        for z in range(2):
            if self.mpe.members[z] == 0:
                continue
            c = 0 if z == 0 else 15
            self.mpe.zone[c] = z
            self.mpe.manager[c] = True
            for members in range(1, self.mpe.members[z] + 1):
                c = members if z == 0 else 15 - members
                self.mpe.zone[c] = z
                self.mpe_owner[c] = 0 if z == 0 else 15
                self.part[c].bend = 0.0        # member pitch comes from the zone's bend range
        for c in range(N_PARTS):
            self._mpe_update(c)

    cdef bint _mpe_filter(self, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil:
        """MPE's part of the MIDI dispatch; True when the message is fully handled here."""
        cdef int ch = status & 0x0F, kind = status & 0xF0, z = self.mpe.zone[ch], c, m
        cdef float bend
        if kind == 0xB0:
            if d1 == 101:
                self.mpe.rpn_msb[ch] = d2
            elif d1 == 100:
                self.mpe.rpn_lsb[ch] = d2
            elif d1 == 74:
                self._set_timbre(ch, (<int>d2 - 64) * (12.0 / 64.0))
            elif d1 == 6 and self.mpe.rpn_msb[ch] == 0 and self.mpe.rpn_lsb[ch] == 6:
                if ch == 0 or ch == 15:
                    self._mpe_zone(0 if ch == 0 else 1, d2)
                return True
            elif d1 == 6 and self.mpe.rpn_msb[ch] == 0 and self.mpe.rpn_lsb[ch] == 0 and z >= 0:
                # pitch bend sensitivity: a member channel sets its zone's member range, the manager
                # the range its own bend applies to members with (and, passed on, its own notes)
                if self.mpe.manager[ch]:
                    self.mpe.manager_range[z] = d2
                else:
                    self.mpe.member_range[z] = d2
                for c in range(N_PARTS):
                    if self.mpe.zone[c] == z:
                        self._mpe_update(c)
                return not self.mpe.manager[ch]
            if z >= 0 and self.mpe.manager[ch] and not (d1 == 6 or d1 == 38 or 98 <= d1 <= 101):
                # zone-level controllers (pedal, volume, modulation, CC74, all notes off ...) reach every member
                for m in range(N_PARTS):
                    if self.mpe.zone[m] == z and not self.mpe.manager[m]:
                        if d1 == 74:
                            self._set_timbre(m, (<int>d2 - 64) * (12.0 / 64.0))
                        else:
                            self._cc(m, d1, d2)
            return False
        if z < 0:
            return False
        if kind == 0xE0:
            bend = <float>(((d2 << 7) | d1) - 8192) / (8191.0 if ((d2 << 7) | d1) > 8192 else 8192.0)
            if self.mpe.manager[ch]:
                self.mpe.manager_bend[z] = bend
                for c in range(N_PARTS):
                    if self.mpe.zone[c] == z:
                        self._mpe_update(c)
                return False                   # the manager's own notes bend as usual
            self.mpe.member_bend[ch] = bend
            self._mpe_update(ch)
            return True
        if kind == 0xD0 and self.mpe.manager[ch]:
            for m in range(N_PARTS):
                if self.mpe.zone[m] == z and not self.mpe.manager[m]:
                    self._retick_part(m)
                    self.part[m].aftertouch = d1 / 127.0
        return False

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int i, c, pos = 0, nxt, bi = 0, sf
        cdef int64_t now = <int64_t>self.clock.now()
        cdef RtEvent ev
        self.params.begin_block(nframes)
        cdef float lvl, cents
        for i in range(MAX_OPS):
            # operator parameters take their block-end value (as every control tick reads them)
            lvl = self.params.end(self.p_op_level[i])
            cents = self.params.end(self.p_op_detune[i])
            if lvl != self.op_lvl[i] or cents != self.op_cents[i]:
                self.op_lvl[i] = lvl
                self.op_cents[i] = cents
                self.op_tune[i] = exp2(cents / 1200.0)
                self.param_gen += 1
        if self.params.end(self.p_tune) != self.tune_cents:
            self.tune_cents = self.params.end(self.p_tune)
            self.param_gen += 1
        self._adopt_plans()
        # queued and scheduled events by time, at most the scheduler's budget of them per block
        self.scheduler.begin_block(now, nframes)
        memset(self.buf_l, 0, nframes * sizeof(float))
        memset(self.buf_r, 0, nframes * sizeof(float))
        self.block_t0 = now
        self.block_n = nframes
        self.block_parts = 0
        self.bus_used[0] = self.bus_used[1] = False
        cdef uint64_t sd = 0
        if self.c_send_defaults.value.load(memory_order_relaxed):
            sd = self.c_send_defaults.value.exchange(0, memory_order_acquire)
        cdef int k
        if sd:                           # set_default_sends: every part jumps there before this block's events
            for c in range(N_PARTS):
                for k in range(2):
                    self.part[c].send_cc[k] = (sd >> (8 - 8 * k)) & 0x7F
                    self.part[c].send_from[k] = self.part[c].send_to[k] = self.part[c].send_cc[k] / 127.0
        cdef float* st
        if self.stem_out != NULL:
            for c in range(2 * N_STEMS):
                memset(self.stem_out + c * self.stem_len + self.stem_pos, 0, nframes * sizeof(float))
        while True:
            # apply every event due at or before `pos`, the block's own and scheduled ones in frame order
            nxt = nframes
            self.event_time = now + pos
            while True:
                sf = self.scheduler.next_offset()
                # at equal frames queued and scheduled events go first: sent before the block (a
                # tuning, an MPE configuration), they set up what the block's notes play with
                if bi < nevents and events[bi].frame <= pos and events[bi].frame < sf:
                    if events[bi].kind == EV_MIDI:
                        self._midi(events[bi].status, events[bi].data1, events[bi].data2)
                    bi += 1
                elif sf <= pos:
                    self.scheduler.pop(&ev)
                    if ev.kind == EV_MIDI:
                        self._midi(ev.status, ev.data1, ev.data2)
                    elif ev.kind == EV_USER:
                        self._tuning_event(&ev)
                else:
                    if bi < nevents and events[bi].frame < nxt:
                        nxt = <int>events[bi].frame
                    if sf < nxt:
                        nxt = sf
                    break
            if nxt > pos:
                self._render_span(pos, nxt)
                pos = nxt
            if pos >= nframes:
                break
        # the shared send effects' returns join the parts
        self._run_send(0, nframes)
        self._run_send(1, nframes)
        # master gain (smoothed per sample), then the effects, whose limiter has the last word
        cdef float g0 = self.params.at(self.p_gain, 0)
        cdef float* gbuf = NULL
        if not (g0 == self.params.end(self.p_gain) and self.params.at(self.p_gain, nframes // 2) == g0):
            gbuf = self.buf_g                                                  # ramping
            for i in range(nframes):
                gbuf[i] = self.params.at(self.p_gain, i)
        self.k.scale2(self.buf_l, self.buf_r, gbuf, g0, nframes)
        if self.stem_out != NULL:
            # stems are what enters the output effects: the parts and returns after the master gain
            for c in range(N_STEMS):
                if c < N_PARTS and not (self.block_parts >> c) & 1:
                    continue
                st = self.stem_out + 2 * c * self.stem_len + self.stem_pos
                self.k.scale2(st, st + self.stem_len, gbuf, g0, nframes)
            self.stem_pos += nframes
        self.fx.process(self.buf_l, self.buf_r, nframes)
        self.k.clamp2(self.buf_l, self.buf_r, nframes)       # always finite and bounded
        if nchannels == 1:
            for i in range(nframes):
                out[0][i] = 0.5 * (self.buf_l[i] + self.buf_r[i])
        else:
            memcpy(out[0], self.buf_l, nframes * sizeof(float))
            memcpy(out[1], self.buf_r, nframes * sizeof(float))
            for c in range(2, nchannels):
                memset(out[c], 0, nframes * sizeof(float))
        return 0

    cdef void _midi(self, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil:
        cdef int ch = status & 0x0F
        cdef int kind = status & 0xF0
        if self._mpe_filter(status, d1, d2):
            return
        if kind != 0x90 and kind != 0x80:
            self.part_gen[ch] += 1       # any controller may move a part's sound: full ticks again
        if kind == 0x90:
            if d2 == 0:
                self._note_off(ch, d1)
            else:
                self._note_on(ch, d1, d2)
        elif kind == 0x80:
            self._note_off(ch, d1)
        elif kind == 0xB0:
            self._cc(ch, d1, d2)
        elif kind == 0xE0:
            self._retick_part(ch)
            self.part[ch].bend = <float>(((d2 << 7) | d1) - 8192) / (8191.0 if ((d2 << 7) | d1) > 8192 else 8192.0)
        elif kind == 0xC0:
            self.part[ch].program = d1
        elif kind == 0xD0:
            self._retick_part(ch)
            self.part[ch].aftertouch = d1 / 127.0

    cdef void _cc(self, int ch, int cc, int value) noexcept nogil:
        cdef int v
        self.part_gen[ch] += 1         # whatever it changes, the part's voices recompute their targets
        if cc == 1 or cc == 7 or cc == 10 or cc == 11 or cc == 121:
            self._retick_part(ch)      # the change applies from this exact frame
        if cc == 1:
            self.part[ch].modwheel = value / 127.0
        elif cc == 7:
            self.part[ch].volume = value / 127.0
        elif cc == 10:
            self.part[ch].pan = (value - 64) / 63.0 if value > 64 else (value - 64) / 64.0
        elif cc == 11:
            self.part[ch].expression = value / 127.0
        elif cc == 64:
            if value >= 64:
                self.part[ch].sustain = True
            else:
                self.part[ch].sustain = False
                for v in range(self.nslots):
                    if self.v_state[v] and self.v_chan[v] == ch and self.v_sustained[v]:
                        self.v_sustained[v] = 0
                        self._release_voice(v)
        elif cc == 120:
            for v in range(self.nslots):
                if self.v_state[v] and self.v_chan[v] == ch and self.v_fade[v] == 0:
                    self.v_fade[v] = self.fade_len
                    self.c_active.value.fetch_sub(1, memory_order_relaxed)
        elif cc == 121:
            # RP-015: controllers to rest and no parameter selected; bend range, tuning, volume,
            # pan, sends and program stay
            self.part[ch].bend = 0
            self.part[ch].modwheel = 0
            self.part[ch].aftertouch = 0
            self.part[ch].expression = 1.0
            self.part[ch].rpn_msb = self.part[ch].rpn_lsb = RPN_NULL
            self.part[ch].nrpn_msb = self.part[ch].nrpn_lsb = RPN_NULL
            self.part[ch].nrpn = False
            self._cc(ch, 64, 0)
        elif cc == 6 or cc == 38 or cc == 96 or cc == 97:
            self._data_entry(ch, cc, value)
        elif cc == 101 or cc == 100:
            if cc == 101:
                self.part[ch].rpn_msb = value
            else:
                self.part[ch].rpn_lsb = value
            self.part[ch].nrpn = False
        elif cc == 99 or cc == 98:
            if cc == 99:
                self.part[ch].nrpn_msb = value
            else:
                self.part[ch].nrpn_lsb = value
            self.part[ch].nrpn = True
        elif cc == 91:
            self._set_send(ch, 0, value)
        elif cc == 93:
            self._set_send(ch, 1, value)
        elif cc == 123:
            for v in range(self.nslots):
                if self.v_state[v] and self.v_chan[v] == ch and not self.v_released[v]:
                    self.v_sustained[v] = 0
                    self._release_voice(v)

    cdef void _data_entry(self, int ch, int cc, int value) noexcept nogil:
        """CC6 (MSB: the LSB goes to 0), CC38 (LSB), CC96/97 (one step up/down) for the selected RPN.

        RPN 0 bend range: semitones and cents, a step is a cent. RPN 1 fine tuning: 14 bits,
        8192 = A440, +-100 cents, a step is 100/8192 cent. RPN 2 coarse tuning: semitones
        around 64, a step is a semitone. A null selection, an NRPN (none is implemented) or
        another RPN takes the data and changes nothing.
        """
        cdef PartState* p = &self.part[ch]
        if p.nrpn or p.rpn_msb != 0 or p.rpn_lsb > 2:
            return
        cdef int x
        cdef float old = p.tune_cents
        if p.rpn_lsb == 0:
            x = p.rpn_bend if p.rpn_bend >= 0 else 200
            if cc == 6:
                x = value * 100
            elif cc == 38:
                x = (x // 100) * 100 + (value if value < 100 else 99)
            else:
                x += 1 if cc == 96 else -1
            p.rpn_bend = 0 if x < 0 else (12799 if x > 12799 else x)
        elif p.rpn_lsb == 1:
            x = p.rpn_fine
            if cc == 6:
                x = value << 7
            elif cc == 38:
                x = (x & 0x3F80) | value
            else:
                x += 1 if cc == 96 else -1
            p.rpn_fine = 0 if x < 0 else (16383 if x > 16383 else x)
        else:
            if cc == 38:
                return
            x = value if cc == 6 else p.rpn_coarse + (1 if cc == 96 else -1)
            p.rpn_coarse = 0 if x < 0 else (127 if x > 127 else x)
        p.tune_cents = (p.rpn_fine - 8192) * (100.0 / 8192.0) + (p.rpn_coarse - 64) * 100.0
        self._retick_part(ch)            # the change applies from this exact frame
        self._part_voices_to_rpn(ch, old)

    cdef void _part_voices_to_rpn(self, int ch, float old_tune) noexcept nogil:
        # A voice's plan copy carries its part's RPN state: the bend range replaces the
        # patch's, the tuning adds to its transpose (both read at each control tick).
        cdef int v
        cdef PartState* p = &self.part[ch]
        for v in range(self.nslots):
            if self.v_state[v] and self.v_chan[v] == ch:
                if p.rpn_bend >= 0:
                    self.vplan[v].bend_range_cents = p.rpn_bend
                self.vplan[v].transpose_cents += p.tune_cents - old_tune

    cdef void _set_send(self, int ch, int k, int value) noexcept nogil:
        # glide from the level sounding at this frame to the new one
        cdef PartState* p = &self.part[ch]
        p.send_from[k] = self._send_gain(ch, k, self.event_time)
        p.send_to[k] = value / 127.0
        p.send_t0[k] = self.event_time
        p.send_cc[k] = <uint8_t>value

    cdef void _choke(self, int ch, int group) noexcept nogil:
        # cut the sounding notes of a choke group with the short steal fade
        cdef Kit* kit = self.part[ch].kit
        cdef int v
        for v in range(self.nslots):
            if (self.v_state[v] and self.v_fade[v] == 0 and self.v_chan[v] == ch
                    and kit.choke[self.v_note[v]] == group):
                self.v_fade[v] = self.fade_len
                self.c_active.value.fetch_sub(1, memory_order_relaxed)

    cdef void _release_voice(self, int v) noexcept nogil:
        cdef int k
        cdef int ns = self.nslots
        self._retick(v)              # the release starts at this exact frame
        self.v_released[v] = 1
        for k in range(self.vplan[v].n_ops):
            self.o_stage[v * MAX_OPS + k] = 4
        self.v_peg_stage[v] = 4

    cdef void _note_off(self, int ch, int note) noexcept nogil:
        cdef int v
        for v in range(self.nslots):
            if (self.v_state[v] and self.v_fade[v] == 0 and self.v_chan[v] == ch and self.v_note[v] == note
                    and not self.v_released[v] and not self.v_sustained[v]):
                if self.part[ch].sustain:
                    self.v_sustained[v] = 1
                else:
                    self._release_voice(v)

    cdef int _alloc_voice(self) noexcept nogil:
        """A free slot for a new note, stealing if the pool is full (never fails)."""
        cdef int v, best = -1, free_slot = -1, ns = self.nslots
        cdef int nactive = 0
        cdef float loud, best_loud = 1e30
        cdef uint64_t best_age = 0xFFFFFFFFFFFFFFFF
        cdef int k, o
        for v in range(ns):
            if not self.v_state[v]:
                if free_slot < 0:
                    free_slot = v
            elif self.v_fade[v] == 0:
                nactive += 1
        if nactive < self.max_voices and free_slot >= 0:
            return free_slot
        # steal: a released voice first (oldest), else the quietest (oldest among near-equals)
        for v in range(ns):
            if self.v_state[v] and self.v_fade[v] == 0 and self.v_released[v] and not self.v_sustained[v]:
                if self.v_age[v] < best_age:
                    best_age = self.v_age[v]
                    best = v
        if best < 0:
            # quietest by carrier amplitude; within 1 dB of it counts as equally quiet and the oldest goes
            for v in range(ns):
                if self.v_state[v] and self.v_fade[v] == 0:
                    loud = self._loudness(v)
                    if loud < best_loud:
                        best_loud = loud
            for v in range(ns):
                if self.v_state[v] and self.v_fade[v] == 0:
                    if self._loudness(v) <= best_loud * 1.122 + 1e-9 and self.v_age[v] < best_age:
                        best_age = self.v_age[v]
                        best = v
        if best >= 0:
            self.v_fade[best] = self.fade_len
            self.c_active.value.fetch_sub(1, memory_order_relaxed)
            self.c_stolen.value.fetch_add(1, memory_order_relaxed)
        if free_slot >= 0:
            return free_slot
        # every slot busy (fades included): cut the fade closest to its end
        best = 0
        for v in range(ns):
            if self.v_fade[v] > 0 and (self.v_fade[best] == 0 or self.v_fade[v] < self.v_fade[best]):
                best = v
        if self.v_fade[best] == 0:
            self.c_active.value.fetch_sub(1, memory_order_relaxed)
        self.v_state[best] = 0
        self.v_fade[best] = 0
        return best

    cdef float _loudness(self, int v) noexcept nogil:
        cdef float loud = 0
        cdef int k
        for k in range(self.vplan[v].n_ops):
            if self.vplan[v].op[k].carrier != 0:
                loud += self.o_gain[v * MAX_OPS + k] * fabs(self.vplan[v].op[k].carrier)
        return loud

    cdef void _note_on(self, int ch, int note, int vel) noexcept nogil:
        cdef int v
        if self.tune_pitch[ch * 128 + note] < 0:
            return                       # a key the keyboard map leaves unmapped
        # a repeated note on a channel releases the earlier one (no pile-up under the pedal)
        for v in range(self.nslots):
            if (self.v_state[v] and self.v_fade[v] == 0 and self.v_chan[v] == ch and self.v_note[v] == note
                    and not self.v_released[v]):
                self.v_sustained[v] = 0
                self._release_voice(v)
        cdef const Plan* plan
        cdef Kit* kit = self.part[self.mpe_owner[ch]].kit
        if kit != NULL:
            if kit.sound[note] == 255:
                return                   # no sound on this key of the kit
            plan = &kit.plans[kit.sound[note]]
            if kit.choke[note]:
                self._choke(ch, kit.choke[note])
        else:
            plan = self._part_plan(self.mpe_owner[ch])
        v = self._alloc_voice()
        self._start_voice(v, plan, ch, note, vel)
        self._ext_start(v, ch)
        # the part's RPN bend range and tuning (see _part_voices_to_rpn)
        if self.part[ch].rpn_bend >= 0:
            self.vplan[v].bend_range_cents = self.part[ch].rpn_bend
        self.vplan[v].transpose_cents += self.part[ch].tune_cents

    cdef void _start_voice(self, int v, const Plan* plan, int ch, int note, int vel) noexcept nogil:
        cdef int k, i, ns = self.nslots
        cdef Plan* p = &self.vplan[v]
        memcpy(p, plan, sizeof(Plan))
        self.v_state[v] = 1
        self.v_fade[v] = 0
        self.v_note[v] = <uint8_t>note
        self.v_chan[v] = <uint8_t>ch
        self.v_vel[v] = <uint8_t>vel
        self.v_released[v] = 0
        self.v_sustained[v] = 0
        self.age_counter += 1
        self.v_age[v] = self.age_counter
        self.v_time[v] = 0
        self.v_rng[v] = (<uint32_t>2654435769u * <uint32_t>(self.age_counter + 1)) | 1
        if p.lfo_sync:
            self.v_lfo_phase[v] = p.lfo_phase0
        else:
            # free-running: the phase of a part LFO that started with the part's first note, so
            # the sound does not depend on when playback started (live pre-roll, block sizes)
            if self.part[ch].t0 < 0:
                self.part[ch].t0 = self.event_time
            self.v_lfo_phase[v] = ((self.event_time - self.part[ch].t0) / self.sample_rate * p.lfo_rate) % 1.0
        self.v_lfo_sh[v] = (xorshift(&self.v_rng[v]) >> 8) * (2.0 / 16777216.0) - 1.0
        self.v_peg_cents[v] = p.peg_cents[3]
        self.v_peg_stage[v] = 0
        if p.peg_active:
            self.v_peg_stage[v] = eg_advance(0, &self.v_peg_cents[v], p.peg_cents, p.peg_rate, 1.0 / self.sample_rate, 0)
        else:
            self.v_peg_stage[v] = 3
        self.v_gl[v] = -1.0          # part gains start at their target (no ramp from zero)
        self.v_gr[v] = -1.0
        self.v_chunk_left[v] = 0     # first control tick at the onset frame
        self.v_chunk_len[v] = 0
        self.prog[v].key = NO_PROG
        self.v_steady[v] = 0
        self.v_done[v] = 0
        cdef double hz = 440.0 * exp2((self.tune_pitch[ch * 128 + note] - 69) / 12.0)
        self.v_note_hz[v] = hz
        cdef float octaves, off
        cdef int o
        cdef const OpPlan* op
        for k in range(p.n_ops):
            op = &p.op[k]
            o = v * MAX_OPS + k
            if p.osc_sync:
                self.o_phase[o] = 0
                self.o_ph32[o] = 0
            if op.fixed:
                self.o_base_inc[o] = op.fixed_hz * op.detune / self.sample_rate
            else:
                self.o_base_inc[o] = op.ratio * op.detune * hz / self.sample_rate
            if op.dx7:
                off = dx7_velocity_db(vel, <int>(op.vel_db * (7.0 / VEL_RANGE_DB) + 0.5)) + dx7_scaling_db(op, note)
            else:
                off = -op.vel_db * (1.0 - vel / 127.0)
                octaves = (note - op.kls_break) / 12.0
                if octaves < 0:
                    off += curve_db(op.kls_left_db, op.kls_left_curve, -octaves)
                else:
                    off += curve_db(op.kls_right_db, op.kls_right_curve, octaves)
            self.o_off_db[o] = off
            self.o_rate_mul[o] = <float>exp2(op.rate_scaling * (note - 60) / 12.0)
            self.o_db[o] = FLOOR if op.dx7 else op.env.level_db[3]    # a DX7 voice starts from silence
            self.o_stage[o] = eg_advance_op(op, 0, &self.o_db[o], 0.0, 0, off)
            self.o_gain[o] = op_amp(p, k, self.o_db[o], off, 0.0, self.op_lvl[k])
            self.o_dg[o] = 0
            self.o_y1[o] = 0
            self.o_y2[o] = 0
        self.c_notes.value.fetch_add(1, memory_order_relaxed)
        cdef uint64_t na = self.c_active.value.fetch_add(1, memory_order_relaxed) + 1
        if na > self.c_peak.value.load(memory_order_relaxed):
            self.c_peak.value.store(na, memory_order_relaxed)

    cdef void _render_span(self, int a, int b) noexcept nogil:
        cdef int pos = a, n
        while pos < b:
            n = b - pos if b - pos < FM_SUB else FM_SUB
            self._render_sub(pos, n)
            pos += n

    cdef void _render_sub(self, int pos, int n) noexcept nogil:
        """Render ``n`` <= FM_SUB samples from block frame ``pos`` of every sounding voice into its
        part's buffer, then mix the parts that sounded (their buffers sized max_block in prepare;
        an idle part is not touched) into the block and their sends (see _mix_part).

        Control ticks fall every CHUNK samples from each voice's onset whatever the block
        and event boundaries, so a song renders the same at any block size, live or offline.
        Voices mix in slot order, so the sum does not depend on how they were batched.
        """
        cdef int v, i, s, ch, nact = 0, nser = 0, cap = self.buf_cap
        cdef Seg* sg
        cdef float inv_fade = 1.0 / self.fade_len
        cdef uint32_t parts = 0
        cdef float* pl
        for v in range(self.nslots):
            if self.v_state[v]:
                ch = self.v_chan[v]
                if not (parts >> ch) & 1:
                    parts |= (<uint32_t>1) << ch
                    pl = self.part_buf + 2 * ch * cap + pos
                    memset(pl, 0, n * sizeof(float))
                    memset(pl + cap, 0, n * sizeof(float))
                self._plan_voice(v, n)
                self.act[nact] = v
                nact += 1
                if self.vplan[v].shape.n:
                    self.serq[nser] = v
                    nser += 1
                else:
                    self._voice_ops(v, 0, self.ybuf)
        if nser:
            self._serial_batches(nser, n)
        for i in range(nact):
            v = self.act[i]
            sg = &self.segs[v * NSEG]
            pl = self.part_buf + 2 * self.v_chan[v] * cap + pos
            for s in range(self.v_nseg[v]):
                self.k.mix_seg(pl + sg[s].off, pl + cap + sg[s].off, self.vout + v * FM_SUB_PAD + sg[s].off,
                               sg[s].len, sg[s].j0, sg[s].gl, sg[s].dgl, sg[s].gr, sg[s].dgr, sg[s].fade, inv_fade)
        self.block_parts |= parts
        for ch in range(N_PARTS):
            if (parts >> ch) & 1:
                self._mix_part(ch, pos, n)

    cdef float _send_gain(self, int ch, int k, int64_t t) noexcept nogil:
        cdef PartState* p = &self.part[ch]
        cdef int64_t d = t - p.send_t0[k]
        if d >= SEND_RAMP or d < 0:
            return p.send_to[k]
        return p.send_from[k] + (p.send_to[k] - p.send_from[k]) * (<float>d * (1.0 / SEND_RAMP))

    cdef void _mix_part(self, int ch, int a, int n) noexcept nogil:
        """Add part ``ch``'s frames [a, a + n) to the mix, its send buses and its stem."""
        cdef PartState* p = &self.part[ch]
        cdef float* pl = self.part_buf + 2 * ch * self.buf_cap + a
        cdef float* pr = pl + self.buf_cap
        cdef float* bl
        cdef float* br
        cdef float* st
        cdef int i, k, ramp
        cdef int64_t t = self.block_t0 + a, d
        cdef float g
        fm_add2(self.buf_l + a, self.buf_r + a, pl, pr, 1.0, n)
        for k in range(2):
            if p.send_to[k] == 0 and self._send_gain(ch, k, t) == 0:
                continue
            bl = self.bus_buf + 2 * k * self.buf_cap
            br = bl + self.buf_cap
            if not self.bus_used[k]:      # first input this block: clear the bus
                self.bus_used[k] = True
                memset(bl, 0, self.block_n * sizeof(float))
                memset(br, 0, self.block_n * sizeof(float))
            bl += a
            br += a
            # the glide's samples (their gains from the sample time, so any split gives the same),
            # then the rest at the target
            d = t - p.send_t0[k]
            ramp = 0 if (d >= SEND_RAMP or d < 0) else <int>(SEND_RAMP - d)
            if ramp > n:
                ramp = n
            for i in range(ramp):
                g = self._send_gain(ch, k, t + i)
                bl[i] += pl[i] * g
                br[i] += pr[i] * g
            fm_add2(bl + ramp, br + ramp, pl + ramp, pr + ramp, p.send_to[k], n - ramp)
        if self.stem_out != NULL:
            st = self.stem_out + 2 * ch * self.stem_len + self.stem_pos + a
            memcpy(st, pl, n * sizeof(float))
            memcpy(st + self.stem_len, pr, n * sizeof(float))

    cdef void _run_send(self, int k, int n) noexcept nogil:
        """Run send effect ``k`` (0 reverb, 1 chorus) on its bus and add its return to the mix.

        An effect runs from the first non-zero input after silence (cleared, so its state
        there does not depend on the block size) until its tail has died away: the decay
        time after the last non-zero input (96 dB down), then it is cleared and skipped.
        """
        cdef float* bl = self.bus_buf + 2 * k * self.buf_cap
        cdef float* br = bl + self.buf_cap
        cdef int i, start = 0, stop = n, first = -1, last = -1
        cdef double tail
        if self.bus_used[k]:
            for i in range(n):
                if bl[i] != 0 or br[i] != 0:
                    first = i
                    break
            if first >= 0:
                i = n - 1
                while i > first and bl[i] == 0 and br[i] == 0:
                    i -= 1
                last = i
                self.send_last[k] = self.block_t0 + last
        if not self.send_running[k]:
            if first < 0:
                return
            start = first
            self.send_running[k] = True
        elif not self.bus_used[k]:       # a tail with no input this block
            memset(bl, 0, n * sizeof(float))
            memset(br, 0, n * sizeof(float))
        if k == 0:
            tail = 1.6 * self.params.end(self.send_reverb.i_decay) + 0.001 * self.params.end(self.send_reverb.i_pre)
        else:
            tail = 0.05 + 3.0 * fabs(self.params.end(self.send_chorus.i_fb))
        cdef int64_t end = self.send_last[k] + 1 + <int64_t>(tail * self.sample_rate)
        if end < self.block_t0 + n:
            stop = <int>(end - self.block_t0) if end > self.block_t0 + start else start
        if stop > start:
            if k == 0:
                self.send_reverb.process(bl + start, br + start, stop - start)
            else:
                self.send_chorus.process(bl + start, br + start, stop - start)
        if stop < n:
            self.send_running[k] = False
            if k == 0:
                self.send_reverb.clear()
            else:
                self.send_chorus.clear()
        fm_add2(self.buf_l + start, self.buf_r + start, bl + start, br + start, 1.0, stop - start)
        if self.stem_out != NULL:
            memcpy(self.stem_out + 2 * (N_PARTS + k) * self.stem_len + self.stem_pos + start, bl + start,
                   (stop - start) * sizeof(float))
            memcpy(self.stem_out + (2 * (N_PARTS + k) + 1) * self.stem_len + self.stem_pos + start, br + start,
                   (stop - start) * sizeof(float))

    cdef void _plan_voice(self, int v, int n) noexcept nogil:
        """Run voice ``v``'s control ticks over the next ``n`` samples and cut them into
        stretches of one chunk each (at most NSEG), copying each chunk's parameters."""
        cdef int pos = 0, m, k, o, ns = 0, nops = self.vplan[v].n_ops, ns_ = self.nslots
        cdef Seg* sg
        cdef const uint32_t* phase
        cdef const uint32_t* inc
        cdef const float* gain
        cdef const float* dg
        while pos < n and self.v_state[v]:
            if self.v_chunk_left[v] == 0:
                self._control(v)
            m = n - pos if n - pos < self.v_chunk_left[v] else self.v_chunk_left[v]
            if self.v_fade[v] > 0 and self.v_fade[v] < m:
                m = self.v_fade[v]       # free the slot at the fade's exact end
            sg = &self.segs[v * NSEG + ns]
            ns += 1
            sg.off = pos
            sg.len = m
            sg.j0 = self.v_chunk_len[v] - self.v_chunk_left[v]
            sg.fade = self.v_fade[v]
            sg.gl = self.v_gl[v]
            sg.dgl = self.v_dgl[v]
            sg.gr = self.v_gr[v]
            sg.dgr = self.v_dgr[v]
            sg.silent = self.v_silent[v]
            phase = self.o_ph32
            inc = self.o_inc32
            gain = self.o_gain
            dg = self.o_dg
            for k in range(nops):
                o = v * MAX_OPS + k
                sg.ph[k] = phase[o]
                sg.inc[k] = inc[o]
                sg.g[k] = gain[o]
                sg.dg[k] = dg[o]
            self.v_chunk_left[v] -= m
            pos += m
            if self.v_fade[v] > 0:
                self.v_fade[v] -= m
                if self.v_fade[v] <= 0:
                    self.v_state[v] = 0
                    self.v_fade[v] = 0
            elif self.v_chunk_left[v] == 0 and self.v_done[v]:
                self.v_state[v] = 0
                self.c_active.value.fetch_sub(1, memory_order_relaxed)
        self.v_nseg[v] = ns
        self.v_nrend[v] = pos

    cdef void _voice_ops(self, int v, uint32_t skip, float* yb) noexcept nogil:
        """The operators of voice ``v`` not in ``skip`` (whose outputs are in ``yb`` already),
        stretch by stretch, in processing order, into ``yb`` (MAX_OPS * FM_SUB_PAD); the
        carriers summed into the voice's vout."""
        cdef Prog* pr = &self.prog[v]
        cdef int s, t, e, k, first
        cdef const float* src[MAX_OPS]
        cdef float* out = self.vout + v * FM_SUB_PAD
        cdef float* y
        cdef Seg* sg = &self.segs[v * NSEG]
        for s in range(self.v_nseg[v]):
            if pr.key != sg[s].silent:
                self._build_prog(v, skip, sg[s].silent)
            first = 1
            for t in range(pr.n):
                k = pr.op[t]
                y = yb + k * FM_SUB_PAD + sg[s].off
                if pr.run[t]:
                    for e in range(pr.nsrc[t]):
                        src[e] = yb + pr.src[t][e] * FM_SUB_PAD + sg[s].off
                    self.k.op_run(sg[s].ph[k], sg[s].inc[k], sg[s].g[k], sg[s].dg[k], sg[s].j0, sg[s].len,
                                  src, pr.amt[t], pr.nsrc[t], y if pr.keep[t] else NULL,
                                  out + sg[s].off if pr.carrier[t] != 0 else NULL, pr.carrier[t], first)
                elif pr.carrier[t] != 0:
                    self.k.carrier_add(out + sg[s].off, y, pr.carrier[t], sg[s].len, first)
                if pr.carrier[t] != 0:
                    first = 0
            if first:
                memset(out + sg[s].off, 0, sg[s].len * sizeof(float))

    cdef void _build_prog(self, int v, uint32_t skip, uint32_t silent) noexcept nogil:
        # the operators that matter while `silent` ones are silent: sounding carriers and what
        # sounding feeds them (skipped ones have their inputs already), with their sources
        cdef const Plan* p = &self.vplan[v]
        cdef Prog* pr = &self.prog[v]
        cdef int j, k, e, t = 0, m
        cdef uint32_t bit, need = p.carrier_mask & ~silent
        for j in range(p.n_ops - 1, -1, -1):
            k = p.order[j]
            if need & ~skip & (1u << k):
                for e in range(p.mod_start[k], p.mod_start[k] + p.mod_count[k]):
                    need |= (1u << p.mod_src[e])
        need &= ~silent
        for j in range(p.n_ops):
            k = p.order[j]
            bit = 1u << k
            if not (need & bit):
                continue
            pr.op[t] = <uint8_t>k
            pr.run[t] = 0 if skip & bit else 1
            m = 0
            if pr.run[t]:
                for e in range(p.mod_start[k], p.mod_start[k] + p.mod_count[k]):
                    if need & (1u << p.mod_src[e]):
                        pr.src[t][m] = <uint8_t>p.mod_src[e]
                        pr.amt[t][m] = p.mod_scale[e]
                        m += 1
            pr.nsrc[t] = <uint8_t>m
            pr.carrier[t] = p.op[k].carrier * VOICE_GAIN if p.carrier_mask & bit else 0.0
            t += 1
        pr.n = t
        # an output is stored only if a later step reads it
        for t in range(pr.n):
            pr.keep[t] = 0
            for j in range(t + 1, pr.n):
                for e in range(pr.nsrc[j]):
                    if pr.src[j][e] == pr.op[t]:
                        pr.keep[t] = 1
        pr.key = silent

    cdef void _serial_batches(self, int nser, int n) noexcept nogil:
        """Run the serial operators of the voices in serq, batched by equal shape."""
        cdef FmSerial* b = self.ser
        cdef const SerialShape* shape
        cdef const Plan* p
        cdef int i, j, v, nl, lane, k, e, w, c
        cdef float* dst[FM_LANES]
        cdef int32_t* q_ = self.serq
        cdef int left = nser
        while left > 0:
            # a batch: the first waiting voice and up to FM_LANES - 1 more of the same shape
            shape = &self.vplan[q_[0]].shape
            nl = 0
            j = 0
            for i in range(left):
                v = q_[i]
                if nl < FM_LANES and (i == 0 or self.vplan[v].shape.id == shape.id):
                    self.lane_v[nl] = v
                    nl += 1
                else:
                    q_[j] = v
                    j += 1
            left = j
            w = 8 if nl <= 8 else 16
            b.width = w
            b.n_ops = shape.n
            b.has_ext = shape.has_ext
            b.n_int = shape.int_start[shape.n]
            b.n_fb = shape.fb_start[shape.n]
            for k in range(shape.n + 1):
                b.int_start[k] = shape.int_start[k]
                b.fb_start[k] = shape.fb_start[k]
            for e in range(b.n_int):
                b.int_src[e] = shape.int_src[e]
            for e in range(b.n_fb):
                b.fb_src[e] = shape.fb_src[e]
            b.n_switch = 0
            for lane in range(w):
                if lane < nl:
                    self._serial_fill(lane, self.lane_v[lane], n)
                else:
                    # an empty lane computes silence: no switch, zero amounts and history
                    for e in range(b.n_int):
                        b.int_amt[e * FM_LANES + lane] = 0
                    for e in range(b.n_fb):
                        b.fb_amt[e * FM_LANES + lane] = 0
                    for k in range(b.n_ops):
                        b.y1[k * FM_LANES + lane] = 0
                        b.y2[k * FM_LANES + lane] = 0
                        if b.has_ext:
                            for i in range(n):
                                b.ext[(k * FM_SUB_PAD + i) * w + lane] = 0
            # switches in time order (an insertion sort of a few dozen indices)
            for i in range(b.n_switch):
                c = i
                j = i
                while j > 0 and b.sw[b.order[j - 1]].at > b.sw[c].at:
                    b.order[j] = b.order[j - 1]
                    j -= 1
                b.order[j] = c
            self.k.serial_lanes(b, n)
            # each lane's outputs into its own ybuf, then the rest of its voice
            for k in range(b.n_ops):
                for lane in range(nl):
                    v = self.lane_v[lane]
                    dst[lane] = self.ybuf + (lane * MAX_OPS + self.vplan[v].serial_op[k]) * FM_SUB_PAD
                self.k.lanes_out(dst, b.y + k * FM_SUB_PAD * w, w, nl, n)
            for lane in range(nl):
                v = self.lane_v[lane]
                p = &self.vplan[v]
                for k in range(b.n_ops):
                    c = p.serial_op[k]
                    self.o_y1[v * MAX_OPS + c] = b.y1[k * FM_LANES + lane]
                    self.o_y2[v * MAX_OPS + c] = b.y2[k * FM_LANES + lane]
                self._voice_ops(v, p.serial_mask, self.ybuf + lane * MAX_OPS * FM_SUB_PAD)

    cdef void _serial_fill(self, int lane, int v, int n) noexcept nogil:
        """Voice ``v`` into lane ``lane`` of the batch: amounts, history, and a switch at the
        start of each of its stretches (and to silence where it ends inside the sub-span)."""
        cdef FmSerial* b = self.ser
        cdef const Plan* p = &self.vplan[v]
        cdef Seg* sg = &self.segs[v * NSEG]
        cdef FmSwitch* sw
        cdef int s, k, c, e
        for e in range(b.n_int):
            b.int_amt[e * FM_LANES + lane] = p.s_int_amt[e]
        for e in range(b.n_fb):
            b.fb_amt[e * FM_LANES + lane] = p.s_fb_amt[e]
        for k in range(b.n_ops):
            c = p.serial_op[k]
            b.y1[k * FM_LANES + lane] = self.o_y1[v * MAX_OPS + c]
            b.y2[k * FM_LANES + lane] = self.o_y2[v * MAX_OPS + c]
        for s in range(self.v_nseg[v]):
            sw = &b.sw[b.n_switch]
            b.n_switch += 1
            sw.at = sg[s].off
            sw.lane = lane
            sw.j0 = sg[s].j0
            sw.zero = 0
            for k in range(b.n_ops):
                c = p.serial_op[k]
                sw.ph[k] = sg[s].ph[c]
                sw.inc[k] = sg[s].inc[c]
                sw.g[k] = sg[s].g[c]
                sw.dg[k] = sg[s].dg[c]
        if self.v_nrend[v] < n:
            sw = &b.sw[b.n_switch]
            b.n_switch += 1
            sw.at = self.v_nrend[v]
            sw.lane = lane
            sw.j0 = 0
            sw.zero = 1
        if b.has_ext:
            self._serial_ext(lane, v)

    cdef void _serial_ext(self, int lane, int v) noexcept nogil:
        """The modulation of voice ``v``'s serial operators from outside the group: run the
        non-serial modulators of the loop first (into ybuf), then sum per sample."""
        cdef FmSerial* b = self.ser
        cdef const Plan* p = &self.vplan[v]
        cdef Seg* sg = &self.segs[v * NSEG]
        cdef int w = b.width, s, i, j, k, e, at, nsrc, end = self.v_nrend[v]
        cdef const float* src[MAX_OPS]
        cdef float amt[MAX_OPS]
        cdef float x
        cdef uint32_t live
        cdef float* yb = self.ybuf + lane * MAX_OPS * FM_SUB_PAD
        for s in range(self.v_nseg[v]):
            live = p.pre_mask & ~sg[s].silent        # sounding ones only (as in _voice_ops)
            for j in range(p.n_ops):
                k = p.order[j]
                if not (live & (1u << k)):
                    continue
                nsrc = 0
                for e in range(p.mod_start[k], p.mod_start[k] + p.mod_count[k]):
                    if live & (1u << p.mod_src[e]):
                        src[nsrc] = yb + p.mod_src[e] * FM_SUB_PAD + sg[s].off
                        amt[nsrc] = p.mod_scale[e]
                        nsrc += 1
                self.k.op_run(sg[s].ph[k], sg[s].inc[k], sg[s].g[k], sg[s].dg[k], sg[s].j0, sg[s].len,
                              src, amt, nsrc, yb + k * FM_SUB_PAD + sg[s].off, NULL, 0, 0)
            for k in range(b.n_ops):
                for i in range(sg[s].off, sg[s].off + sg[s].len):
                    x = 0
                    for e in range(p.s_ext_start[k], p.s_ext_start[k + 1]):
                        if live & (1u << p.s_ext_src[e]):
                            x = x + p.s_ext_amt[e] * yb[p.s_ext_src[e] * FM_SUB_PAD + i]
                    b.ext[(k * FM_SUB_PAD + i) * w + lane] = x
        for k in range(b.n_ops):
            for i in range(end, FM_SUB):
                b.ext[(k * FM_SUB_PAD + i) * w + lane] = 0

    cdef void _control(self, int v) noexcept nogil:
        """One control tick: LFO, pitch, envelopes and mix gains for the next CHUNK samples."""
        # (arrays through locals: with -fno-strict-aliasing every store would otherwise
        # reload each pointer from self)
        cdef Plan* p = &self.vplan[v]
        cdef int nops = p.n_ops, ch = self.v_chan[v]
        cdef PartState* part = &self.part[ch]
        cdef int k, o
        cdef uint64_t* phase = self.o_phase
        cdef uint64_t* inc = self.o_inc
        cdef float* gain = self.o_gain
        cdef float* dg = self.o_dg
        cdef float* db = self.o_db
        cdef float* amp_t = self.o_amp_t
        cdef const float* off = self.o_off_db
        cdef const int8_t* stage = self.o_stage
        cdef const double* base = self.o_base_inc
        cdef uint32_t* ph32 = self.o_ph32
        cdef uint32_t* inc32 = self.o_inc32
        cdef int32_t err
        # close the chunk that ends here: the phases and gains it reached, as its loops computed
        # them (an event that cut it short changes nothing up to its frame), and the exact phase
        cdef int el = self.v_chunk_len[v]
        if el == CHUNK:
            # a whole chunk: the gains arrived at their targets
            for k in range(nops):
                o = v * MAX_OPS + k
                phase[o] += <uint64_t>CHUNK * inc[o]
                ph32[o] += <uint32_t>CHUNK * inc32[o]
                gain[o] = amp_t[o]
            self.v_gl[v] = self.v_glt[v]
            self.v_gr[v] = self.v_grt[v]
        elif el > 0:
            # cut short by an event: where the ramps were at that sample, as the loops computed it
            for k in range(nops):
                o = v * MAX_OPS + k
                phase[o] += <uint64_t>el * inc[o]
                ph32[o] += <uint32_t>el * inc32[o]
                gain[o] = self.k.ramp(gain[o], dg[o], el)
            if self.v_gl[v] >= 0:
                self.v_gl[v] = self.k.ramp(self.v_gl[v], self.v_dgl[v], el)
                self.v_gr[v] = self.k.ramp(self.v_gr[v], self.v_dgr[v], el)
        self._save_tick(v)
        self._advance(v, CHUNK)
        # What must be recomputed: nothing that sets a target has moved since the last full tick
        # (no controller, bend, pressure or parameter change) and, for the amplitudes, the
        # envelopes hold with no LFO on them; for the pitch, no LFO or pitch envelope moves it.
        # Reused targets are the very numbers a recomputation would give.
        cdef bint same = self.v_pgen[v] == self.part_gen[ch] and self.v_gen[v] == self.param_gen
        cdef bint do_amp = not (same and self.v_steady[v] & 1)
        cdef bint do_pitch = not (same and self.v_steady[v] & 2)
        cdef float lfo = 0.0, ramp = 1.0, pitch_depth = 0.0, amp_depth = 0.0, am_db = 0.0
        cdef double t, cents, factor, f
        cdef uint8_t steady = 0
        cdef bint holding = True
        cdef const OpPlan* op
        if do_amp or do_pitch:
            lfo = lfo_value(p.lfo_wave, self.v_lfo_phase[v], self.v_lfo_sh[v])
            t = self.v_time[v]
            if t < p.lfo_hold:
                ramp = 0.0
            elif p.lfo_delay > 0 and t < p.lfo_hold + p.lfo_delay:
                ramp = <float>((t - p.lfo_hold) / p.lfo_delay)
            pitch_depth = (p.lfo_pitch_cents + part.modwheel * p.mw_pitch_cents
                           + part.aftertouch * p.at_pitch_cents)
            amp_depth = (p.lfo_amp_db + part.modwheel * p.mw_amp_db + part.aftertouch * p.at_amp_db)
            if pitch_depth == 0 and (not p.peg_active or self.v_peg_stage[v] == 3 or self.v_peg_stage[v] == 5):
                steady |= 2
            if amp_depth == 0:
                steady |= 1               # cleared below if an envelope still moves
            pitch_depth *= ramp
            amp_depth *= ramp
            am_db = amp_depth * 0.5 * (1.0 - lfo)
        if do_pitch:
            cents = (part.bend * p.bend_range_cents + lfo * pitch_depth + self.v_peg_cents[v]
                     + p.transpose_cents + self.tune_cents + self.mpe_cents[ch])
            factor = fm_exp2(cents * (1.0 / 1200.0))
            for k in range(nops):
                o = v * MAX_OPS + k
                f = base[o] * self.op_tune[k]
                if not p.op[k].fixed:
                    f *= factor
                if f > 0.49:
                    f = 0.49
                inc[o] = <uint64_t><int64_t>(f * 18446744073709551616.0)   # f < 0.5: fits int64
        for k in range(nops):
            # the loops' 32-bit increment, nudged so their phase stays within ~64 units of 2^-32
            # cycle of the exact one: no drift however long a note, no jump between chunks
            o = v * MAX_OPS + k
            err = <int32_t>(<uint32_t>(phase[o] >> 32) - ph32[o])
            inc32[o] = <uint32_t>((inc[o] + (<uint64_t>1 << 31)) >> 32) + <uint32_t>(
                (err + CHUNK // 2) // CHUNK if err >= 0 else -((CHUNK // 2 - err) // CHUNK))
        cdef float total
        cdef float x[MAX_OPS]
        cdef float scale[MAX_OPS]
        cdef bint done = True
        cdef uint32_t silent = 0
        if do_amp:
            for k in range(nops):
                o = v * MAX_OPS + k
                op = &p.op[k]
                # amplitude exponents; the exp2s run together below (see op_amp)
                total = db[o] + off[o] - am_db * op.ams
                if total > 12.0 and not op.dx7:
                    total = 12.0
                x[k] = total * 0.16609640474436813 if db[o] > FLOOR else -1000.0
                scale[k] = op.level * self.op_lvl[k]
                if stage[o] != 3 and stage[o] != 5:
                    holding = False
                # a carrier is silent for good below the floor when not heading up again
                if op.carrier != 0 and not (db[o] <= FLOOR and (stage[o] >= 4 or
                                            (stage[o] == 3 and op.env.level_db[2] <= FLOOR))):
                    done = False
            self.k.amps(x, scale, amp_t + v * MAX_OPS, nops)
            self.v_done[v] = done
            if not holding:
                steady &= ~1
        for k in range(nops):
            o = v * MAX_OPS + k
            dg[o] = (amp_t[o] - gain[o]) * (1.0 / CHUNK)
            if amp_t[o] == 0.0 and gain[o] == 0.0:
                silent |= 1u << k       # the envelope is at its floor (-96 dB) through the chunk
        self.v_silent[v] = silent
        # part mix: volume, expression, patch gain, constant-power pan
        cdef float vol, gl_t, gr_t
        if not same or self.v_gl[v] < 0:
            vol = part.volume * part.volume * part.expression * p.gain
            gl_t = vol * sine_u32(<uint32_t>((1.0 - part.pan) * 536870912.0)) * 1.41421356
            gr_t = vol * sine_u32(<uint32_t>((1.0 + part.pan) * 536870912.0)) * 1.41421356
            if self.v_gl[v] < 0:
                self.v_gl[v] = gl_t
                self.v_gr[v] = gr_t
            self.v_glt[v] = gl_t
            self.v_grt[v] = gr_t
        self.v_dgl[v] = (self.v_glt[v] - self.v_gl[v]) * (1.0 / CHUNK)
        self.v_dgr[v] = (self.v_grt[v] - self.v_gr[v]) * (1.0 / CHUNK)
        self.v_chunk_left[v] = CHUNK
        self.v_chunk_len[v] = CHUNK
        # what the next tick may reuse, if nothing moves in between
        if do_amp or do_pitch:
            self.v_steady[v] = steady | (self.v_steady[v] & ~((1 if do_amp else 0) | (2 if do_pitch else 0)))
        self.v_pgen[v] = self.part_gen[ch]
        self.v_gen[v] = self.param_gen

    cdef void _advance(self, int v, int n) noexcept nogil:
        """Move voice ``v``'s time, LFO, pitch envelope and operator envelopes on by ``n`` samples."""
        cdef Plan* p = &self.vplan[v]
        cdef double isr = self.inv_sr
        cdef int k, o, ns = self.nslots
        cdef int8_t* stage = self.o_stage
        cdef float* db = self.o_db
        cdef const float* rate = self.o_rate_mul
        cdef const float* off = self.o_off_db
        self.v_time[v] += n * isr
        cdef double ph = self.v_lfo_phase[v] + p.lfo_rate * n * isr
        if ph >= 1.0:
            ph -= <int>ph
            if p.lfo_wave == 5:
                self.v_lfo_sh[v] = (xorshift(&self.v_rng[v]) >> 8) * (2.0 / 16777216.0) - 1.0
        self.v_lfo_phase[v] = ph
        if p.peg_active:
            self.v_peg_stage[v] = eg_advance(self.v_peg_stage[v], &self.v_peg_cents[v], p.peg_cents, p.peg_rate,
                                             isr, n)
        for k in range(p.n_ops):
            o = v * MAX_OPS + k
            if stage[o] != 3 and stage[o] != 5:      # holding stages do not move
                stage[o] = eg_advance_op(&p.op[k], stage[o], &db[o], rate[o] * isr, n, off[o])

    cdef void _save_tick(self, int v) noexcept nogil:
        # the state at a tick, so an event inside the chunk can resume from its exact frame
        cdef int k, o, ns = self.nslots
        self.v_time0[v] = self.v_time[v]
        self.v_lfo_phase0[v] = self.v_lfo_phase[v]
        self.v_lfo_sh0[v] = self.v_lfo_sh[v]
        self.v_rng0[v] = self.v_rng[v]
        self.v_peg_cents0[v] = self.v_peg_cents[v]
        self.v_peg_stage0[v] = self.v_peg_stage[v]
        for k in range(self.vplan[v].n_ops):
            o = v * MAX_OPS + k
            self.o_db0[o] = self.o_db[o]
            self.o_stage0[o] = self.o_stage[o]

    cdef void _restore_tick(self, int v) noexcept nogil:
        cdef int k, o, ns = self.nslots
        self.v_time[v] = self.v_time0[v]
        self.v_lfo_phase[v] = self.v_lfo_phase0[v]
        self.v_lfo_sh[v] = self.v_lfo_sh0[v]
        self.v_rng[v] = self.v_rng0[v]
        self.v_peg_cents[v] = self.v_peg_cents0[v]
        self.v_peg_stage[v] = self.v_peg_stage0[v]
        for k in range(self.vplan[v].n_ops):
            o = v * MAX_OPS + k
            self.o_db[o] = self.o_db0[o]
            self.o_stage[o] = self.o_stage0[o]

    cdef void _retick(self, int v) noexcept nogil:
        """Bring voice ``v``'s control state to the current frame and end its chunk there.

        A tick computes envelopes, LFO and pitch for the next CHUNK samples; an event inside
        the chunk (a release, a bend, a controller) rewinds to the tick and advances by the
        samples already rendered, so the next tick, at the event's frame, applies it exactly.
        """
        self.v_steady[v] = 0             # whatever the event changed, the next tick recomputes
        cdef int left = self.v_chunk_left[v]
        if left == 0:
            return
        self._restore_tick(v)
        self._advance(v, self.v_chunk_len[v] - left)
        self.v_chunk_len[v] -= left      # the chunk ends here; the next tick closes it
        self.v_chunk_left[v] = 0

    cdef void _retick_part(self, int ch) noexcept nogil:
        cdef int v
        self.part_gen[ch] += 1
        for v in range(self.nslots):
            if self.v_state[v] and self.v_chan[v] == ch:
                self._retick(v)


def _check_byte(what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 127:
        raise ValueError(f"{what} must be an int in 0..127, got {value!r}")


_CURVE_INDEX = {c: i for i, c in enumerate(CURVES)}
_WAVE_INDEX = {w: i for i, w in enumerate(LFO_WAVES)}


cdef void _compile_stages(g, Plan* p) except *:
    # the serial operators and their shape (fmcore/stages.py); the plan was zeroed, so
    # unused shape entries are 0 and equal shapes compare equal byte for byte
    st = serial_stages(g)
    cdef int k, e = 0, f = 0, x = 0
    p.shape.n = len(st.serial)
    for k, op in enumerate(st.serial):
        p.serial_op[k] = op
        p.serial_mask |= (<uint32_t>1) << op
        p.shape.int_start[k] = e
        for src, amt in st.internal[k]:
            p.shape.int_src[e] = src
            p.s_int_amt[e] = amt * PHASE_UNITS
            e += 1
        p.shape.fb_start[k] = f
        for src, amt in st.feedback[k]:
            p.shape.fb_src[f] = src
            p.s_fb_amt[f] = amt * 0.5 * PHASE_UNITS
            f += 1
        p.s_ext_start[k] = x
        for src, amt in st.external[k]:
            p.s_ext_src[x] = src
            p.s_ext_amt[x] = amt * PHASE_UNITS
            p.shape.has_ext = 1
            x += 1
    p.shape.int_start[p.shape.n] = e
    p.shape.fb_start[p.shape.n] = f
    p.s_ext_start[p.shape.n] = x
    key = repr((p.shape.n, p.shape.has_ext, [p.shape.int_start[k] for k in range(p.shape.n + 1)],
                [p.shape.int_src[k] for k in range(e)], [p.shape.fb_start[k] for k in range(p.shape.n + 1)],
                [p.shape.fb_src[k] for k in range(f)]))
    p.shape.id = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    for op in st.pre:
        p.pre_mask |= (<uint32_t>1) << op


def _compile_into(patch, uintptr_t dest):
    """Validate ``patch`` and write its flat plan to the Plan at address ``dest`` (control thread)."""
    cdef Plan* p = <Plan*>dest
    g = patch.validate()
    # the plan's arrays are fixed (MAX_OPS, MAX_EDGES): never write past them, whatever validate() let by
    if not 1 <= g.n_ops <= MAX_OPS or len(g.order) != g.n_ops or len(patch.operators) != g.n_ops:
        raise ValueError(f"a plan holds 1..{MAX_OPS} operators, got {g.n_ops}")
    if sum(len(m) for m in g.modulators) > MAX_EDGES or sum(len(f) for f in g.feedback) > MAX_EDGES:
        raise ValueError(f"a plan holds at most {MAX_EDGES} modulation and {MAX_EDGES} feedback edges")
    memset(p, 0, sizeof(Plan))
    p.n_ops = g.n_ops
    cdef int k, e = 0, fe = 0
    for k in range(g.n_ops):
        p.order[k] = g.order[k]
    for k in range(g.n_ops):
        p.mod_start[k] = e
        for src, amt in g.modulators[k]:
            p.mod_src[e] = src
            p.mod_amt[e] = amt
            e += 1
        p.mod_count[k] = e - p.mod_start[k]
        p.fb_start[k] = fe
        for src, amt in g.feedback[k]:
            p.fb_src[fe] = src
            p.fb_amt[fe] = amt
            fe += 1
        p.fb_count[k] = fe - p.fb_start[k]
    for k in range(e):
        p.mod_scale[k] = p.mod_amt[k] * PHASE_UNITS
    for k in range(g.n_ops):
        if g.carrier_level[k] != 0.0:
            p.carrier_mask |= (<uint32_t>1) << k
    _compile_stages(g, p)
    cdef OpPlan* op
    for k, o in enumerate(patch.operators):
        op = &p.op[k]
        op.fixed = o.fixed_hz is not None
        op.fixed_hz = o.fixed_hz if o.fixed_hz is not None else 0.0
        op.ratio = o.ratio
        op.detune = 2.0 ** (o.detune_cents / 1200.0)
        op.level = o.level
        op.carrier = g.carrier_level[k]
        for i, (lv, rt) in enumerate(zip(o.env.levels_db(), o.env.rates_db())):
            op.env.level_db[i] = lv
            op.env.rate[i] = rt
        op.vel_db = o.velocity_sens * VEL_RANGE_DB
        op.rate_scaling = o.rate_scaling
        ks = o.level_scaling
        op.kls_break = ks.breakpoint
        op.kls_left_db = ks.left_depth_db
        op.kls_right_db = ks.right_depth_db
        op.kls_left_curve = _CURVE_INDEX[ks.left_curve]
        op.kls_right_curve = _CURVE_INDEX[ks.right_curve]
        op.ams = o.ams
        op.dx7 = o.dx7
        op.level_db = 20.0 * log10(o.level) if o.level > 1e-5 else -100.0
    lfo = patch.lfo
    p.lfo_wave = _WAVE_INDEX[lfo.wave]
    p.lfo_rate = lfo.rate_hz
    p.lfo_delay = lfo.delay_s
    p.lfo_pitch_cents = lfo.pitch_depth_cents
    p.lfo_amp_db = lfo.amp_depth_db
    p.lfo_sync = lfo.key_sync
    p.lfo_phase0 = lfo.start_phase
    p.lfo_hold = lfo.hold_s
    p.osc_sync = patch.osc_key_sync
    peg = patch.pitch_env
    for i, (lv, rt) in enumerate(zip(peg.levels_cents, peg.rates_cents())):
        p.peg_cents[i] = lv
        p.peg_rate[i] = rt
    p.peg_active = peg.active
    p.transpose_cents = patch.transpose * 100.0
    p.bend_range_cents = patch.bend_range * 100.0
    p.gain = 10.0 ** (patch.gain_db / 20.0)
    c = patch.controllers
    p.mw_pitch_cents = c.mod_wheel_pitch_cents
    p.mw_amp_db = c.mod_wheel_amp_db
    p.at_pitch_cents = c.aftertouch_pitch_cents
    p.at_amp_db = c.aftertouch_amp_db
