# distutils: language = c++
# distutils: extra_compile_args = -std=c++17 -O3 -fno-strict-aliasing -DNDEBUG
# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""FROZEN COPY of fmcore/_engine.pyx as of commit 1f5f747 (before the operator-major SIMD engine),
kept only as the benchmarks' reference point: `bench/bench_engine.py` measures it beside the
current engine in the same run so speed-ups are ratios on one machine. Do not edit.

The FM engine: voices, operator graphs and the audio-thread ``render``.

``Synth`` is a ``fmcore_rt.Processor``: ``prepare`` sizes every buffer,
``render`` runs without the GIL, allocates nothing and takes no lock. The
control thread talks to it only through lock-free structures: the parameter
store (``AtomicParams``), the SPSC event queue (notes and controllers from
``note_on`` & co.), and atomic plan slots (``set_patch``/``set_bank``) whose
replaced plans travel back on a retire ring and are freed off the audio
thread.

Per voice and sample the operators run in topological order; each reads the
current-sample outputs of its modulators and the one-sample-late outputs of
its feedback sources (two-sample average). Envelopes, LFO and pitch move at a
control rate of ``CHUNK`` samples with the gains interpolated per sample;
events split the block at their exact frames.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport sin, exp2, pow, fabs, isfinite, M_PI, log10
from libc.math cimport ceil
from libc.string cimport memset, memcpy
from libc.stdint cimport int64_t, uint8_t, int8_t, int32_t, uint32_t, uint64_t, uintptr_t
from libcpp.atomic cimport atomic, memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel

from fmcore_rt.processor cimport Processor
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.spsc cimport SpscQueue, RtEvent, EV_MIDI
from fmcore_rt.rt_atomics cimport SpscIndices, Counter64, new_atomic_array, delete_atomic_array
from fmcore.fx.chain cimport FxChain

import threading
import numpy as np

from fmcore.patch import Patch, LFO_WAVES, CURVES, FLOOR_DB as _FLOOR_DB

cdef extern from *:
    """
    #include <cmath>
    static inline float fm_db_to_amp(float db) { return std::exp2(db * 0.16609640474436813f); }
    """
    float fm_db_to_amp(float db) nogil

DEF TABLE_BITS = 12
DEF TABLE_SIZE = 4096
DEF FRAC_BITS = 20                      # 32 - TABLE_BITS
DEF FLOOR = -96.0
DEF VOICE_GAIN = 0.25                   # headroom: one full carrier at -12 dBFS
DEF VEL_RANGE_DB = 42.0
DEF MAX_VOICES = 256
DEF PENDING_BANK = 16                   # index of the bank slot in `pending`
DEF PENDING_KIT = 17                    # first of N_PARTS kit slots in `pending`
DEF N_PENDING = 33
DEF CLEAR_OWN = 1                       # sentinel in a pending slot: drop the part's own patch

cdef float SINE[TABLE_SIZE + 1]
cdef int _i
for _i in range(TABLE_SIZE + 1):
    SINE[_i] = <float>sin(2.0 * M_PI * _i / TABLE_SIZE)

# radians -> 32-bit phase units
cdef double RAD_TO_PHASE = 4294967296.0 / (2.0 * M_PI)


cdef inline float sine_lookup(uint32_t ph) noexcept nogil:
    cdef uint32_t i = ph >> FRAC_BITS
    cdef float f = <float>(ph & ((1 << FRAC_BITS) - 1)) * (1.0 / (1 << FRAC_BITS))
    cdef float a = SINE[i]
    return a + (SINE[i + 1] - a) * f


cdef inline uint32_t xorshift(uint32_t* s) noexcept nogil:
    cdef uint32_t x = s[0]
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
    s[0] = x
    return x


cdef inline float lfo_value(int wave, double p, float sh) noexcept nogil:
    if wave == 0:
        return sine_lookup(<uint32_t>(p * 4294967296.0))
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
        if rate[seg] >= 1e8:
            need = 0.0          # a jump
        else:
            need = fabs(dist) / step if step > 0 else 1e300
        if need <= t:
            db[0] = target
            t -= need
            stage = 3 if stage == 2 else (5 if stage == 4 else stage + 1)
        else:
            db[0] += <float>(step * t if dist > 0 else -step * t)
            break
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
            need = (db[0] - target) / step if step > 0 else 1e300
            if need <= t:
                db[0] = target
                t -= need
                stage = 3 if stage == 2 else (5 if stage == 4 else stage + 1)
                continue
            db[0] -= <float>(step * t)
            break
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


cdef class LegacySynthCore(Processor):
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
        cdef int no = ns * MAX_OPS
        self.o_phase = <uint64_t*>PyMem_Malloc(no * sizeof(uint64_t))
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
        if (self.default_plan == NULL or self.vplan == NULL or self.v_state == NULL or self.o_y2 == NULL
                or self.o_phase == NULL or self.v_note_hz == NULL or self.o_gain == NULL or self.o_dg == NULL
                or self.o_inc == NULL or self.v_dgl == NULL or self.v_dgr == NULL or self.v_chunk_left == NULL
                or self.v_done == NULL or self.o_db0 == NULL or self.o_stage0 == NULL or self.v_time0 == NULL
                or self.v_lfo_phase0 == NULL or self.v_lfo_sh0 == NULL or self.v_rng0 == NULL
                or self.v_peg_cents0 == NULL or self.v_peg_stage0 == NULL):
            raise MemoryError()
        memset(self.v_state, 0, ns)
        memset(self.v_fade, 0, ns * sizeof(int32_t))
        memset(self.o_phase, 0, ns * MAX_OPS * sizeof(uint64_t))   # free-running oscillators start at 0
        self.bank = NULL
        self.buf_l = NULL
        self.buf_r = NULL
        self.age_counter = 0
        self.event_time = 0
        cdef int c
        for c in range(N_PENDING):
            self.pending[c].store(0)
        for c in range(N_PARTS):
            self.part[c].own = NULL
            self.part[c].kit = NULL
        self._reset_parts()

    def __init__(self, double sample_rate=48000.0, int max_voices=16, int max_block=1024):
        self.queue = SpscQueue(4096)
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
        PyMem_Free(self.default_plan)
        PyMem_Free(self.vplan)
        PyMem_Free(self.v_state); PyMem_Free(self.v_fade); PyMem_Free(self.v_note); PyMem_Free(self.v_chan)
        PyMem_Free(self.v_vel); PyMem_Free(self.v_released); PyMem_Free(self.v_sustained)
        PyMem_Free(self.v_age); PyMem_Free(self.v_time); PyMem_Free(self.v_lfo_phase); PyMem_Free(self.v_lfo_sh)
        PyMem_Free(self.v_rng); PyMem_Free(self.v_peg_stage); PyMem_Free(self.v_peg_cents)
        PyMem_Free(self.v_gl); PyMem_Free(self.v_gr); PyMem_Free(self.v_note_hz)
        PyMem_Free(self.o_phase); PyMem_Free(self.o_base_inc); PyMem_Free(self.o_stage); PyMem_Free(self.o_db)
        PyMem_Free(self.o_gain); PyMem_Free(self.o_off_db); PyMem_Free(self.o_rate_mul)
        PyMem_Free(self.o_y1); PyMem_Free(self.o_y2); PyMem_Free(self.o_dg); PyMem_Free(self.o_inc)
        PyMem_Free(self.v_dgl); PyMem_Free(self.v_dgr); PyMem_Free(self.v_chunk_left); PyMem_Free(self.v_done)
        PyMem_Free(self.o_db0); PyMem_Free(self.o_stage0); PyMem_Free(self.v_time0); PyMem_Free(self.v_lfo_phase0)
        PyMem_Free(self.v_lfo_sh0); PyMem_Free(self.v_rng0); PyMem_Free(self.v_peg_cents0)
        PyMem_Free(self.v_peg_stage0)
        PyMem_Free(self.buf_l); PyMem_Free(self.buf_r)

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
        self.buf_l = <float*>PyMem_Malloc(max_block * sizeof(float))
        self.buf_r = <float*>PyMem_Malloc(max_block * sizeof(float))
        if self.buf_l == NULL or self.buf_r == NULL:
            raise MemoryError()
        self.params.prepare(sample_rate)
        if self.fx is not None:
            self.fx.prepare_c(sample_rate, max_block)
        self.fade_len = max(1, <int>(0.002 * sample_rate))
        return 0

    # ------------------------------------------------------------------ control thread

    cdef void _reset_parts(self) noexcept:
        cdef int c
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
        """Give part ``channel`` (0..15) its own patch (a ``Patch``); program changes then leave it alone.

        The patch is compiled here; the audio thread adopts it at its next
        block without blocking, and the replaced plan is freed here later.
        """
        ch = self._check_channel(channel)
        if not isinstance(patch, Patch):
            raise TypeError(f"set_patch expects a fmcore.Patch, got {type(patch).__name__}")
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
        """Set the program bank (up to 128 ``Patch``es) that program changes select from, for every part."""
        patches = list(patches)
        if not 1 <= len(patches) <= BANK_SIZE:
            raise ValueError(f"a bank holds 1..{BANK_SIZE} patches, got {len(patches)}")
        cdef Bank* b = <Bank*>PyMem_Malloc(sizeof(Bank))
        if b == NULL:
            raise MemoryError()
        cdef int i
        try:
            for i, pt in enumerate(patches):
                if not isinstance(pt, Patch):
                    raise TypeError(f"bank entry {i} is a {type(pt).__name__}, not a fmcore.Patch")
                _compile_into(pt, <uintptr_t>&b.plans[i])
        except BaseException:
            PyMem_Free(b)
            raise
        b.n = len(patches)
        self._publish(PENDING_BANK, <uintptr_t>b)

    def set_kit(self, sounds, channel=9):
        """Make part ``channel`` a drum kit: ``sounds`` maps MIDI notes to ``Patch``es (at most
        16 different patches); other notes are silent. Takes precedence over the part's patch."""
        ch = self._check_channel(channel)
        sounds = dict(sounds)
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

    def send(self, int status, int data1=0, int data2=0, at=None):
        """Send a MIDI channel message to the audio thread; ``at`` is an absolute sample time
        (``synth.clock.frames`` based) or None for the start of the next block. Returns False if
        the queue was full (the event is dropped and counted)."""
        if not 0x80 <= status <= 0xEF:
            raise ValueError(f"status {status:#x} is not a MIDI channel message (0x80..0xEF)")
        if not (0 <= data1 <= 127 and 0 <= data2 <= 127):
            raise ValueError(f"data bytes ({data1}, {data2}) outside 0..127")
        cdef int64_t frame = -1
        if at is not None:
            frame = int(at)
            if frame < 0:
                raise ValueError(f"at must be a sample time >= 0, got {at}")
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

    def all_notes_off(self, channel=None):
        """Release every note (CC123) on ``channel``, or on every channel."""
        for ch in (range(N_PARTS) if channel is None else [self._check_channel(channel)]):
            self.send(0xB0 | ch, 123, 0)

    def all_sound_off(self, channel=None):
        """Silence every voice at once, with a short fade (CC120)."""
        for ch in (range(N_PARTS) if channel is None else [self._check_channel(channel)]):
            self.send(0xB0 | ch, 120, 0)

    def reset(self):
        """Stop every voice, reset controllers and the clock, drop queued events (audio stopped)."""
        self._reclaim()
        with nogil:
            self._adopt_plans()
        ev = self.queue.drain()
        memset(self.v_state, 0, self.nslots)
        memset(self.v_fade, 0, self.nslots * sizeof(int32_t))
        self.c_active.value.store(0)
        self._reset_parts()
        self._reclaim()
        self.fx.reset()
        self.clock.reset()         # a reused engine renders exactly like a fresh one
        self.event_time = 0
        self.age_counter = 0

    def settle(self):
        """Jump every smoothed parameter to its target (for a deterministic offline start)."""
        self.params.settle()

    # ---- stats ---------------------------------------------------------------------

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
                 events_dropped=int(self.queue.dropped), max_voices=self.max_voices)
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

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int i, c, pos = 0, nxt, bi = 0
        cdef int64_t now = <int64_t>self.clock.now(), qf
        cdef const RtEvent* q
        cdef RtEvent ev
        self.params.begin_block(nframes)
        self._adopt_plans()
        memset(self.buf_l, 0, nframes * sizeof(float))
        memset(self.buf_r, 0, nframes * sizeof(float))
        while True:
            # apply every event due at or before `pos`, block events and queued ones in frame order
            nxt = nframes
            self.event_time = now + pos
            while True:
                q = self.queue.front()
                qf = -1
                if q != NULL:
                    qf = q.frame - now if q.frame >= 0 else 0
                    if qf < 0:
                        qf = 0
                    if qf >= nframes:
                        q = NULL
                if bi < nevents and events[bi].frame <= pos and (q == NULL or events[bi].frame <= qf):
                    if events[bi].kind == EV_MIDI:
                        self._midi(events[bi].status, events[bi].data1, events[bi].data2)
                    bi += 1
                elif q != NULL and qf <= pos:
                    self.queue.pop(&ev)
                    if ev.kind == EV_MIDI:
                        self._midi(ev.status, ev.data1, ev.data2)
                else:
                    if bi < nevents and events[bi].frame < nxt:
                        nxt = <int>events[bi].frame
                    if q != NULL and qf < nxt:
                        nxt = <int>qf
                    break
            if nxt > pos:
                self._render_span(pos, nxt)
                pos = nxt
            if pos >= nframes:
                break
        # master gain (smoothed per sample), then the effects, whose limiter has the last word
        cdef float g, l, r
        for i in range(nframes):
            g = self.params.at(self.p_gain, i)
            self.buf_l[i] *= g
            self.buf_r[i] *= g
        self.fx.process(self.buf_l, self.buf_r, nframes)
        for i in range(nframes):
            # always finite and bounded, whatever a patch or a parameter did
            l = self.buf_l[i]
            r = self.buf_r[i]
            if not (l > -64.0 and l < 64.0):
                self.buf_l[i] = 0.0 if l != l else (64.0 if l > 0 else -64.0)
            if not (r > -64.0 and r < 64.0):
                self.buf_r[i] = 0.0 if r != r else (64.0 if r > 0 else -64.0)
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
        if cc == 1 or cc == 7 or cc == 10 or cc == 11:
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
            self.part[ch].bend = 0
            self.part[ch].modwheel = 0
            self.part[ch].aftertouch = 0
            self.part[ch].expression = 1.0
            self._cc(ch, 64, 0)
        elif cc == 123:
            for v in range(self.nslots):
                if self.v_state[v] and self.v_chan[v] == ch and not self.v_released[v]:
                    self.v_sustained[v] = 0
                    self._release_voice(v)

    cdef void _release_voice(self, int v) noexcept nogil:
        cdef int k
        cdef int ns = self.nslots
        self._retick(v)              # the release starts at this exact frame
        self.v_released[v] = 1
        for k in range(self.vplan[v].n_ops):
            self.o_stage[k * ns + v] = 4
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
                loud += self.o_gain[k * self.nslots + v] * fabs(self.vplan[v].op[k].carrier)
        return loud

    cdef void _note_on(self, int ch, int note, int vel) noexcept nogil:
        cdef int v
        # a repeated note on a channel releases the earlier one (no pile-up under the pedal)
        for v in range(self.nslots):
            if (self.v_state[v] and self.v_fade[v] == 0 and self.v_chan[v] == ch and self.v_note[v] == note
                    and not self.v_released[v]):
                self.v_sustained[v] = 0
                self._release_voice(v)
        cdef const Plan* plan
        cdef Kit* kit = self.part[ch].kit
        if kit != NULL:
            if kit.sound[note] == 255:
                return                   # no sound on this key of the kit
            plan = &kit.plans[kit.sound[note]]
        else:
            plan = self._part_plan(ch)
        v = self._alloc_voice()
        self._start_voice(v, plan, ch, note, vel)

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
        self.v_done[v] = 0
        cdef double hz = 440.0 * exp2((note - 69) / 12.0)
        self.v_note_hz[v] = hz
        cdef float octaves, off
        cdef int o
        cdef const OpPlan* op
        for k in range(p.n_ops):
            op = &p.op[k]
            o = k * ns + v
            if p.osc_sync:
                self.o_phase[o] = 0
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
            self.o_gain[o] = self._op_amp(p, k, self.o_db[o], off, 0.0)
            self.o_y1[o] = 0
            self.o_y2[o] = 0
        self.c_notes.value.fetch_add(1, memory_order_relaxed)
        cdef uint64_t na = self.c_active.value.fetch_add(1, memory_order_relaxed) + 1
        if na > self.c_peak.value.load(memory_order_relaxed):
            self.c_peak.value.store(na, memory_order_relaxed)

    cdef float _op_amp(self, const Plan* p, int k, float db, float off, float am_db) noexcept nogil:
        if db <= FLOOR:
            return 0.0
        cdef float total = db + off - am_db
        if total > 12.0 and not p.op[k].dx7:      # DX7 offsets are capped at output level 99 instead
            total = 12.0
        return p.op[k].level * self.params.end(self.p_op_level[k]) * fm_db_to_amp(total)

    cdef void _render_span(self, int a, int b) noexcept nogil:
        cdef int v
        for v in range(self.nslots):
            if self.v_state[v]:
                self._render_voice(v, self.buf_l + a, self.buf_r + a, b - a)

    cdef void _render_voice(self, int v, float* L, float* R, int n) noexcept nogil:
        # Control ticks fall every CHUNK samples from the voice's onset whatever the block
        # and event boundaries, so a song renders the same at any block size, live or offline.
        cdef int pos = 0, m
        while pos < n and self.v_state[v]:
            if self.v_chunk_left[v] == 0:
                self._control(v)
            m = n - pos if n - pos < self.v_chunk_left[v] else self.v_chunk_left[v]
            if self.v_fade[v] > 0 and self.v_fade[v] < m:
                m = self.v_fade[v]       # free the slot at the fade's exact end
            self._audio(v, L + pos, R + pos, m)
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

    cdef void _control(self, int v) noexcept nogil:
        """One control tick: LFO, pitch, envelopes and mix gains for the next CHUNK samples."""
        cdef Plan* p = &self.vplan[v]
        cdef int ns = self.nslots, nops = p.n_ops, n = CHUNK
        cdef PartState* part = &self.part[self.v_chan[v]]
        cdef double sr = self.sample_rate
        cdef int k, o
        self._save_tick(v)
        self._advance(v, n)
        cdef float lfo = lfo_value(p.lfo_wave, self.v_lfo_phase[v], self.v_lfo_sh[v])
        cdef float ramp = 1.0
        if self.v_time[v] < p.lfo_hold:
            ramp = 0.0
        elif p.lfo_delay > 0 and self.v_time[v] < p.lfo_hold + p.lfo_delay:
            ramp = <float>((self.v_time[v] - p.lfo_hold) / p.lfo_delay)
        cdef float pitch_depth = (p.lfo_pitch_cents + part.modwheel * p.mw_pitch_cents
                                  + part.aftertouch * p.at_pitch_cents) * ramp
        cdef float amp_depth = (p.lfo_amp_db + part.modwheel * p.mw_amp_db + part.aftertouch * p.at_amp_db) * ramp
        cdef float am_db = amp_depth * 0.5 * (1.0 - lfo)
        cdef double cents = (part.bend * p.bend_range_cents + lfo * pitch_depth + self.v_peg_cents[v]
                             + p.transpose_cents + self.params.end(self.p_tune))
        cdef double factor = exp2(cents / 1200.0)
        cdef double f
        cdef float amp
        cdef bint done = True
        cdef const OpPlan* op
        for k in range(nops):
            o = k * ns + v
            op = &p.op[k]
            f = self.o_base_inc[o] * exp2(self.params.end(self.p_op_detune[k]) / 1200.0)
            if not op.fixed:
                f *= factor
            if f > 0.49:
                f = 0.49
            self.o_inc[o] = <uint64_t>(f * 18446744073709551616.0)
            amp = self._op_amp(p, k, self.o_db[o], self.o_off_db[o], am_db * op.ams)
            self.o_dg[o] = (amp - self.o_gain[o]) * (1.0 / CHUNK)
            # a carrier is silent for good below the floor when not heading up again
            if op.carrier != 0 and not (self.o_db[o] <= FLOOR and (self.o_stage[o] >= 4 or
                                        (self.o_stage[o] == 3 and op.env.level_db[2] <= FLOOR))):
                done = False
        self.v_done[v] = done
        # part mix: volume, expression, patch gain, constant-power pan
        cdef float vol = part.volume * part.volume * part.expression * p.gain
        cdef float gl_t = vol * <float>sin((1.0 - part.pan) * 0.25 * M_PI) * 1.41421356
        cdef float gr_t = vol * <float>sin((1.0 + part.pan) * 0.25 * M_PI) * 1.41421356
        if self.v_gl[v] < 0:
            self.v_gl[v] = gl_t
            self.v_gr[v] = gr_t
        self.v_dgl[v] = (gl_t - self.v_gl[v]) * (1.0 / CHUNK)
        self.v_dgr[v] = (gr_t - self.v_gr[v]) * (1.0 / CHUNK)
        self.v_chunk_left[v] = CHUNK

    cdef void _advance(self, int v, int n) noexcept nogil:
        """Move voice ``v``'s time, LFO, pitch envelope and operator envelopes on by ``n`` samples."""
        cdef Plan* p = &self.vplan[v]
        cdef double sr = self.sample_rate
        cdef int k, o, ns = self.nslots
        self.v_time[v] += n / sr
        cdef double ph = self.v_lfo_phase[v] + p.lfo_rate * n / sr
        if ph >= 1.0:
            ph -= <int>ph
            if p.lfo_wave == 5:
                self.v_lfo_sh[v] = (xorshift(&self.v_rng[v]) >> 8) * (2.0 / 16777216.0) - 1.0
        self.v_lfo_phase[v] = ph
        if p.peg_active:
            self.v_peg_stage[v] = eg_advance(self.v_peg_stage[v], &self.v_peg_cents[v], p.peg_cents, p.peg_rate,
                                             1.0 / sr, n)
        for k in range(p.n_ops):
            o = k * ns + v
            self.o_stage[o] = eg_advance_op(&p.op[k], self.o_stage[o], &self.o_db[o], self.o_rate_mul[o] / sr, n,
                                            self.o_off_db[o])

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
            o = k * ns + v
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
            o = k * ns + v
            self.o_db[o] = self.o_db0[o]
            self.o_stage[o] = self.o_stage0[o]

    cdef void _retick(self, int v) noexcept nogil:
        """Bring voice ``v``'s control state to the current frame and end its chunk there.

        A tick computes envelopes, LFO and pitch for the next CHUNK samples; an event inside
        the chunk (a release, a bend, a controller) rewinds to the tick and advances by the
        samples already rendered, so the next tick, at the event's frame, applies it exactly.
        """
        cdef int left = self.v_chunk_left[v]
        if left == 0:
            return
        self._restore_tick(v)
        self._advance(v, CHUNK - left)
        self.v_chunk_left[v] = 0

    cdef void _retick_part(self, int ch) noexcept nogil:
        cdef int v
        for v in range(self.nslots):
            if self.v_state[v] and self.v_chan[v] == ch:
                self._retick(v)

    cdef void _audio(self, int v, float* L, float* R, int n) noexcept nogil:
        """Run the operators of voice ``v`` for ``n`` samples (within one control chunk)."""
        cdef Plan* p = &self.vplan[v]
        cdef int ns = self.nslots, nops = p.n_ops
        cdef int i, j, k, o, e, src
        cdef uint64_t inc[12]
        cdef uint64_t phase[12]
        cdef float g[12]
        cdef float dg[12]
        cdef float y[12]
        cdef float y1[12]
        cdef float y2[12]
        cdef float carrier[12]
        for k in range(nops):
            o = k * ns + v
            inc[k] = self.o_inc[o]
            phase[k] = self.o_phase[o]
            g[k] = self.o_gain[o]
            dg[k] = self.o_dg[o]
            y[k] = 0
            y1[k] = self.o_y1[o]
            y2[k] = self.o_y2[o]
            carrier[k] = p.op[k].carrier * VOICE_GAIN
        cdef float gl = self.v_gl[v], gr = self.v_gr[v], dgl = self.v_dgl[v], dgr = self.v_dgr[v]
        cdef int fade = self.v_fade[v]
        cdef float inv_fade = 1.0 / self.fade_len
        cdef float out, mod, s
        cdef int ord_
        cdef uint32_t fbmask = p.fb_sources
        for i in range(n):
            out = 0
            for j in range(nops):
                ord_ = p.order[j]
                mod = 0
                for e in range(p.mod_start[ord_], p.mod_start[ord_] + p.mod_count[ord_]):
                    mod = mod + p.mod_amt[e] * y[p.mod_src[e]]
                for e in range(p.fb_start[ord_], p.fb_start[ord_] + p.fb_count[ord_]):
                    src = p.fb_src[e]
                    mod = mod + p.fb_amt[e] * 0.5 * (y1[src] + y2[src])
                s = sine_lookup(<uint32_t>(phase[ord_] >> 32) + <uint32_t><int64_t>(mod * RAD_TO_PHASE))
                y[ord_] = g[ord_] * s
                g[ord_] += dg[ord_]
                phase[ord_] += inc[ord_]
                out = out + carrier[ord_] * y[ord_]
            if fbmask:
                for k in range(nops):
                    if fbmask & ((<uint32_t>1) << k):
                        y2[k] = y1[k]
                        y1[k] = y[k]
            if fade > 0:
                # computed from the sample count, not accumulated: identical however the block is split
                out = out * (<float>(fade - i) * inv_fade)
            L[i] += out * gl
            R[i] += out * gr
            gl += dgl
            gr += dgr
        for k in range(nops):
            o = k * ns + v
            self.o_phase[o] = phase[k]
            self.o_gain[o] = g[k]
            self.o_y1[o] = y1[k]
            self.o_y2[o] = y2[k]
        self.v_gl[v] = gl
        self.v_gr[v] = gr


def _check_byte(what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 127:
        raise ValueError(f"{what} must be an int in 0..127, got {value!r}")


_CURVE_INDEX = {c: i for i, c in enumerate(CURVES)}
_WAVE_INDEX = {w: i for i, w in enumerate(LFO_WAVES)}


def _compile_into(patch, uintptr_t dest):
    """Validate ``patch`` and write its flat plan to the Plan at address ``dest`` (control thread)."""
    cdef Plan* p = <Plan*>dest
    g = patch.validate()
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
            p.fb_sources |= ((<uint32_t>1) << src)
            fe += 1
        p.fb_count[k] = fe - p.fb_start[k]
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
