# FROZEN COPY of fmcore/_engine.pxd (commit 1f5f747), the benchmarks' reference engine. Do not edit.
# C-level interface of the FM engine: the compiled plan of a patch and the Synth.
from libc.stdint cimport uint8_t, int8_t, int32_t, uint32_t, int64_t, uint64_t, uintptr_t
from libcpp.atomic cimport atomic
from fmcore_rt.processor cimport Processor
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.spsc cimport SpscQueue, RtEvent
from fmcore_rt.rt_atomics cimport SpscIndices, Counter64
from fmcore.fx.chain cimport FxChain

cdef enum:
    MAX_OPS = 12
    MAX_EDGES = 144            # MAX_OPS * MAX_OPS
    N_PARTS = 16
    BANK_SIZE = 128
    RETIRE_CAP = 64            # power of two
    KIT_SOUNDS = 16
    CHUNK = 32                 # control-rate period in samples (envelopes, LFO, pitch)

cdef struct EnvPlan:
    float level_db[4]          # L1..L4 in dB (FLOOR_DB = silence)
    float rate[4]              # dB per second per segment (1e9 = jump)

cdef struct OpPlan:
    double ratio
    double fixed_hz
    double detune              # frequency factor
    int fixed
    float level                # linear output level
    float carrier              # level into the voice output, 0 = not a carrier
    EnvPlan env
    float vel_db               # attenuation at velocity 0 (dB, >= 0)
    float rate_scaling
    int kls_break
    float kls_left_db
    float kls_right_db
    int kls_left_curve         # 0 -lin, 1 -exp, 2 +exp, 3 +lin
    int kls_right_curve
    float ams
    int dx7                    # DX7 laws (attack curve, level scaling, velocity), see eg_advance_op
    float level_db             # 20*log10(level): the output level's share of the DX7 absolute level

# A patch compiled for the audio thread: flat, fixed size, no pointers.
cdef struct Plan:
    int n_ops
    int order[12]
    int mod_start[12]
    int mod_count[12]
    int mod_src[144]
    float mod_amt[144]
    int fb_start[12]
    int fb_count[12]
    int fb_src[144]
    float fb_amt[144]
    uint32_t fb_sources        # bit i: operator i's past outputs are read by a feedback edge
    OpPlan op[12]
    int lfo_wave
    float lfo_rate
    float lfo_delay
    float lfo_pitch_cents
    float lfo_amp_db
    int lfo_sync
    float lfo_phase0           # LFO phase (cycles) at a key-synced note-on
    float lfo_hold             # seconds of no LFO before the delay ramp starts
    int osc_sync               # 1: operator phases restart at note-on; 0: they run on
    float peg_cents[4]
    float peg_rate[4]          # cents per second
    int peg_active
    float transpose_cents
    float bend_range_cents
    float gain                 # linear patch gain
    float mw_pitch_cents
    float mw_amp_db
    float at_pitch_cents
    float at_amp_db

cdef struct Bank:
    int n
    Plan plans[128]

# A drum kit: each note plays its own sound (255 = silent note).
cdef struct Kit:
    uint8_t sound[128]
    int n
    Plan plans[16]

cdef struct PartState:
    Plan* own                  # plan set with set_patch, or NULL
    Kit* kit                   # drum kit set with set_kit, or NULL (takes precedence)
    int program
    float bend                 # -1..1
    float modwheel             # 0..1
    float aftertouch           # 0..1
    float volume               # CC7 as 0..1
    float expression           # CC11 as 0..1
    float pan                  # -1..1
    bint sustain
    int64_t t0                 # sample of the part's first note since reset (-1: none yet)

cdef class LegacySynthCore(Processor):
    cdef readonly int max_voices
    cdef int nslots                     # max_voices + slots for voices fading out after a steal
    cdef readonly AtomicParams params
    cdef readonly FxChain fx            # effects on the synth's output, parameters in `params`
    cdef SpscQueue queue
    cdef object _push_lock
    # plans: control thread publishes, audio thread adopts and retires
    cdef atomic[uintptr_t]* pending     # N_PARTS own-patch slots, 1 bank slot, N_PARTS kit slots
    cdef uintptr_t retire_slots[64]
    cdef SpscIndices* retire_idx
    cdef Plan* default_plan
    cdef Bank* bank
    cdef PartState part[16]
    # voice state, structure of arrays (index v, or op * nslots + v)
    cdef Plan* vplan
    cdef uint8_t* v_state               # 0 free, 1 sounding
    cdef int32_t* v_fade                # samples left of a steal fade, 0 = not fading
    cdef uint8_t* v_note
    cdef uint8_t* v_chan
    cdef uint8_t* v_vel
    cdef uint8_t* v_released
    cdef uint8_t* v_sustained
    cdef uint64_t* v_age
    cdef double* v_time                 # seconds since note-on
    cdef double* v_lfo_phase
    cdef float* v_lfo_sh
    cdef uint32_t* v_rng
    cdef int8_t* v_peg_stage
    cdef float* v_peg_cents
    cdef float* v_gl
    cdef float* v_gr
    cdef double* v_note_hz
    cdef uint64_t* o_phase
    cdef double* o_base_inc             # cycles per sample before pitch modulation
    cdef int8_t* o_stage
    cdef float* o_db
    cdef float* o_gain                  # amplitude at the end of the last chunk
    cdef float* o_off_db                # velocity + keyboard level scaling
    cdef float* o_rate_mul
    cdef float* o_y1
    cdef float* o_y2
    cdef float* o_dg                    # gain step per sample in the current control chunk
    cdef uint64_t* o_inc                # phase step in the current control chunk
    cdef float* v_dgl
    cdef float* v_dgr
    cdef int32_t* v_chunk_left          # samples left in the voice's current control chunk
    cdef uint8_t* v_done                # carriers silent for good: retire at the chunk's end
    # control state at the voice's last tick (see _retick)
    cdef float* o_db0
    cdef int8_t* o_stage0
    cdef double* v_time0
    cdef double* v_lfo_phase0
    cdef float* v_lfo_sh0
    cdef uint32_t* v_rng0
    cdef float* v_peg_cents0
    cdef int8_t* v_peg_stage0
    cdef uint64_t age_counter
    cdef int64_t event_time             # absolute sample of the event being applied
    cdef int fade_len
    # block buffers
    cdef float* buf_l
    cdef float* buf_r
    # parameter slots
    cdef int p_gain
    cdef int p_tune
    cdef int p_op_level[12]
    cdef int p_op_detune[12]
    # counters readable from any thread
    cdef Counter64* c_stolen
    cdef Counter64* c_active
    cdef Counter64* c_peak
    cdef Counter64* c_notes
    cdef Counter64* c_retired_plans

    cdef void _reset_parts(self) noexcept
    cdef void _free_plans(self)
    cdef int _reclaim(self) except -1
    cdef int _publish(self, int slot, uintptr_t p) except -1
    cdef void _adopt_plans(self) noexcept nogil
    cdef float _op_amp(self, const Plan* p, int k, float db, float off, float am_db) noexcept nogil
    cdef float _loudness(self, int v) noexcept nogil
    cdef bint _retire(self, uintptr_t p) noexcept nogil
    cdef const Plan* _part_plan(self, int ch) noexcept nogil
    cdef void _midi(self, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil
    cdef void _note_on(self, int ch, int note, int vel) noexcept nogil
    cdef void _note_off(self, int ch, int note) noexcept nogil
    cdef void _release_voice(self, int v) noexcept nogil
    cdef void _cc(self, int ch, int cc, int value) noexcept nogil
    cdef int _alloc_voice(self) noexcept nogil
    cdef void _start_voice(self, int v, const Plan* plan, int ch, int note, int vel) noexcept nogil
    cdef void _render_span(self, int a, int b) noexcept nogil
    cdef void _render_voice(self, int v, float* L, float* R, int n) noexcept nogil
    cdef void _control(self, int v) noexcept nogil
    cdef void _advance(self, int v, int n) noexcept nogil
    cdef void _save_tick(self, int v) noexcept nogil
    cdef void _restore_tick(self, int v) noexcept nogil
    cdef void _retick(self, int v) noexcept nogil
    cdef void _retick_part(self, int ch) noexcept nogil
    cdef void _audio(self, int v, float* L, float* R, int n) noexcept nogil
