# C-level interface of the FM engine: the compiled plan of a patch and the Synth.
from libc.stdint cimport uint8_t, int8_t, int32_t, uint32_t, int64_t, uint64_t, uintptr_t
from libcpp.atomic cimport atomic
from fmcore_rt.processor cimport Processor
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.spsc cimport SpscQueue, RtEvent
from fmcore_rt.scheduler cimport EventScheduler
from fmcore_rt.rt_atomics cimport SpscIndices, Counter64
from fmcore.fx.chain cimport FxChain
from fmcore.fx.reverb cimport Reverb
from fmcore.fx.modulation cimport Chorus

cdef extern from "fm_kernels.hpp" nogil:
    enum:
        FM_SUB
        FM_SUB_PAD
        FM_LANES
        FM_MAX_SWITCH
    cdef struct FmSwitch:
        int at, lane, j0, zero
        uint32_t ph[12]
        uint32_t inc[12]
        float g[12]
        float dg[12]
    cdef struct FmSerial:
        int width
        int n_ops
        int n_int
        int n_fb
        int has_ext
        int int_start[13]
        int int_src[144]
        int fb_start[13]
        int fb_src[144]
        float int_amt[2304]
        float fb_amt[2304]
        float y1[192]
        float y2[192]
        int n_switch
        FmSwitch sw[96]
        int order[96]
        float* ext
        float* y
    cdef struct FmKernels:
        void (*op_run)(uint32_t ph, uint32_t inc, float g, float dg, int j0, int n,
                       const float* const* src, const float* amt, int nsrc, float* y,
                       float* out, float c, int first) noexcept nogil
        void (*carrier_add)(float* out, const float* y, float c, int n, int first) noexcept nogil
        void (*mix_seg)(float* L, float* R, const float* x, int n, int j0, float gl, float dgl,
                        float gr, float dgr, int fade, float inv_fade) noexcept nogil
        void (*serial_lanes)(FmSerial* s, int n) noexcept nogil
        void (*lanes_out)(float* const* dst, const float* y, int w, int nl, int n) noexcept nogil
        void (*amps)(const float* x, const float* scale, float* amp, int n) noexcept nogil
        float (*ramp)(float g, float dg, int j) noexcept nogil
        void (*scale2)(float* L, float* R, const float* g, float gc, int n) noexcept nogil
        void (*clamp2)(float* L, float* R, int n) noexcept nogil
        float (*sin_scalar)(uint32_t phase) noexcept nogil
        const char* name
    const FmKernels* fm_select_kernels(int want)

cdef enum:
    MAX_OPS = 12
    MAX_EDGES = 144            # MAX_OPS * MAX_OPS
    N_PARTS = 16
    BANK_SIZE = 128
    RETIRE_CAP = 64            # power of two
    KIT_SOUNDS = 64
    N_STEMS = 18               # N_PARTS parts, then the reverb and chorus returns
    SEND_RAMP = 64             # samples over which a send level change glides
    CHUNK = 64                 # control-rate period in samples (envelopes, LFO, pitch)
    NSEG = 4                   # segments of one voice in a sub-span: FM_SUB / CHUNK + 2

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

# The shape of a plan's serial operators (see fmcore/stages.py): voices whose shapes are equal
# run their serial operators together, one voice per lane.
cdef struct SerialShape:
    uint64_t id                # a hash of the rest: equal ids, equal shapes
    int n                      # serial operators (0: the plan runs wholly operator-major)
    int has_ext                # some serial operator has modulators outside the group
    int int_start[13]          # same-sample edges between serial operators, by destination
    int int_src[144]           # serial index of the source
    int fb_start[13]           # feedback edges into serial operators, by destination
    int fb_src[144]            # serial index of the source

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
    float mod_scale[144]       # mod_amt in units of 2^-24 cycle (what the kernels add to phase)
    SerialShape shape
    int serial_op[12]          # operator index of each serial operator
    uint32_t serial_mask
    uint32_t pre_mask          # non-serial operators that modulate serial ones (run before them)
    uint32_t carrier_mask
    float s_int_amt[144]       # amounts of shape.int_src edges, units of 2^-24 cycle
    float s_fb_amt[144]        # amounts of shape.fb_src edges, halved for the two-sample average
    int s_ext_start[13]        # modulators of serial operators from outside the group
    int s_ext_src[144]         # operator index
    float s_ext_amt[144]
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

# A drum kit: each note plays its own sound (255 = silent note); a note of choke group g > 0
# cuts the sounding notes of group g on its channel (closed hi-hat cuts the open one).
cdef struct Kit:
    uint8_t sound[128]
    uint8_t choke[128]
    int n
    Plan plans[64]

# One voice's stretch of a sub-span inside one control chunk, with that chunk's parameters:
# what the kernels read. Sample i of the stretch is sample j0 + i of its chunk.
cdef struct Seg:
    int off                    # first sample in the sub-span
    int len
    int j0
    int fade                   # samples of a steal fade left at the stretch's start (0: none)
    float gl, dgl, gr, dgr     # pan gains at the chunk's start and per sample
    uint32_t silent            # operators below the floor through the whole chunk
    uint32_t ph[12]
    uint32_t inc[12]
    float g[12]
    float dg[12]

# What a voice runs per stretch for a given set of silent operators, in processing order:
# rebuilt only when that set changes (see _voice_ops).
cdef struct Prog:
    uint32_t key               # the silent mask it was built for (NO_PROG: none yet)
    int n
    uint8_t op[12]
    uint8_t run[12]            # 0: the output is in ybuf already (a serial operator)
    uint8_t keep[12]           # 1: other operators read the output: store it
    uint8_t nsrc[12]
    uint8_t src[12][12]
    float amt[12][12]          # units of 2^-24 cycle
    float carrier[12]          # 0: not a carrier

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
    # registered parameters (RPN); the selection is 127/127 (null) after reset and CC121
    uint8_t rpn_msb, rpn_lsb   # CC101 / CC100
    uint8_t nrpn_msb, nrpn_lsb # CC99 / CC98
    bint nrpn                  # the last selection was an NRPN: data entry goes there (none is implemented)
    int rpn_bend               # RPN 0 in cents (semitones * 100 + cents), -1: the patch's bend range
    int rpn_fine               # RPN 1, 14 bits, 8192 = A440
    int rpn_coarse             # RPN 2, semitones + 64
    float tune_cents           # RPN 1 + RPN 2, added to the transpose of every voice of the part
    # reverb and chorus sends (CC91 / CC93): the level glides from `from` to `to` over SEND_RAMP samples
    uint8_t send_cc[2]
    float send_from[2]
    float send_to[2]
    int64_t send_t0[2]

# MPE zones (MIDI Polyphonic Expression): zone 0 lower (manager channel 0, members 1..),
# zone 1 upper (manager channel 15, members 14 down); fmcore/mpe.py documents the behaviour.
cdef struct MpeState:
    int members[2]             # member channels of each zone, 0 = zone off
    float member_range[2]      # bend range of the member channels, semitones (default 48)
    float manager_range[2]     # bend range the manager's bend applies to members with (default 2)
    float manager_bend[2]      # -1..1
    float member_bend[16]      # -1..1, per member channel
    int8_t zone[16]            # zone of each channel: 0, 1, or -1
    bint manager[16]
    uint8_t rpn_msb[16]        # selected RPN per channel (127 = none)
    uint8_t rpn_lsb[16]

cdef class SynthCore(Processor):
    cdef readonly int max_voices
    cdef int nslots                     # max_voices + slots for voices fading out after a steal
    cdef readonly AtomicParams params
    cdef readonly FxChain fx            # effects on the synth's output, parameters in `params`
    cdef readonly Reverb send_reverb    # shared send effects fed by the parts' CC91 / CC93 sends
    cdef readonly Chorus send_chorus
    cdef SpscQueue queue                # = sched.queue: notes and controllers from control threads
    cdef readonly EventScheduler scheduler  # time-ordered live events and a published timeline
    cdef object _push_lock
    # plans: control thread publishes, audio thread adopts and retires
    cdef atomic[uintptr_t]* pending     # N_PARTS own-patch slots, 1 bank slot, N_PARTS kit slots
    cdef uintptr_t retire_slots[64]
    cdef SpscIndices* retire_idx
    cdef Plan* default_plan
    cdef Bank* bank
    cdef PartState part[16]
    # voice state, structure of arrays (index v, or v * MAX_OPS + op: a voice's operators side by side)
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
    cdef uint64_t* o_phase              # exact phase at the start of the current chunk
    cdef uint32_t* o_ph32               # the phase the loops use there: continuous across chunks,
    cdef uint32_t* o_inc32              # ... with a per-chunk increment that keeps it near o_phase
    cdef double* o_base_inc             # cycles per sample before pitch modulation
    cdef int8_t* o_stage
    cdef float* o_db
    cdef float* o_gain                  # amplitude at the start of the current chunk
    cdef float* o_off_db                # velocity + keyboard level scaling
    cdef float* o_rate_mul
    cdef float* o_y1
    cdef float* o_y2
    cdef float* o_dg                    # gain step per sample in the current control chunk
    cdef uint64_t* o_inc                # phase step in the current control chunk (2^64 = one cycle)
    cdef float* v_dgl
    cdef float* v_dgr
    cdef int32_t* v_chunk_left          # samples left in the voice's current control chunk
    cdef int32_t* v_chunk_len           # its length (CHUNK; less once an event ended it early)
    cdef uint32_t* v_silent             # operators below the floor through the current chunk
    # the last full tick's targets, and whether the next tick may reuse them (see _control)
    cdef float* o_amp_t
    cdef float* v_glt
    cdef float* v_grt
    cdef uint8_t* v_steady
    cdef uint32_t* v_pgen               # part_gen / param_gen at the last full tick
    cdef uint32_t* v_gen
    cdef uint32_t part_gen[16]          # bumped by every controller, bend, pressure or MPE change
    cdef uint32_t param_gen             # bumped when an operator or tuning parameter changes
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
    # microtuning and MPE (fmcore/tuning.py, fmcore/mpe.py), audio-thread state
    cdef double* tune_pitch             # N_PARTS * 128: each key's pitch in 12-TET semitones (< 0: unmapped)
    cdef float mpe_cents[16]            # per part: MPE pitch bend (member + zone manager) in cents
    cdef uint8_t mpe_owner[16]          # part whose patch a channel plays (an MPE member: its manager)
    cdef float timbre_db[16]            # CC74 per part, as dB on the modulators' levels
    cdef float* v_timbre_db             # per voice: the CC74 offset its modulators have now
    cdef MpeState mpe
    cdef uint64_t age_counter
    cdef int64_t event_time             # absolute sample of the event being applied
    cdef int fade_len
    # block buffers
    cdef float* buf_l
    cdef float* buf_r
    cdef float* buf_g                   # master gain per sample while it ramps
    # sub-span work (sized by the slot count at construction)
    cdef const FmKernels* k             # the sample loops for this CPU (fm_kernels.hpp)
    cdef Seg* segs                      # NSEG per slot
    cdef Prog* prog                     # one per slot
    cdef int32_t* v_nseg
    cdef int32_t* v_nrend               # samples the voice renders in the current sub-span
    cdef float* vout                    # FM_SUB_PAD per slot: the voice's mono output
    cdef float* ybuf                    # FM_LANES * MAX_OPS * FM_SUB_PAD: operator outputs, per lane
    cdef FmSerial* ser                  # one batch of serial lanes and its buffers
    cdef int32_t* act                   # voices rendering in the sub-span, in slot order
    cdef int32_t* serq                  # those with serial operators
    cdef int32_t* lane_v                # the current batch's voices
    cdef float op_lvl[12]               # op level and detune parameters for this block
    cdef float op_cents[12]
    cdef double op_tune[12]
    cdef double tune_cents              # master tune for this block
    cdef double inv_sr
    cdef float* part_buf                # N_PARTS stereo buffers: part c's L at 2*c*max_block, R after it
    cdef float* bus_buf                 # send buses: reverb L, R, chorus L, R (max_block each)
    cdef int buf_cap                    # frames each of those holds
    cdef int64_t block_t0               # absolute sample of the block being rendered
    cdef int block_n                    # its frames
    cdef uint32_t block_parts           # bit c: part c was mixed in this block
    cdef bint bus_used[2]               # a send bus had input in this block
    cdef bint send_running[2]           # the send effect has signal in it (else it is cleared and skipped)
    cdef int64_t send_last[2]           # absolute sample of the last non-zero send input
    cdef Counter64* c_send_defaults     # pending default sends: 1 << 16 | reverb << 8 | chorus, 0 = none
    cdef int default_send[2]            # CC91 / CC93 a part starts with (control side)
    # offline stems (process_stems): N_STEMS x 2 x stem_len floats, written block by block
    cdef float* stem_out
    cdef int64_t stem_len
    cdef int64_t stem_pos
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
    cdef float _loudness(self, int v) noexcept nogil
    cdef bint _retire(self, uintptr_t p) noexcept nogil
    cdef const Plan* _part_plan(self, int ch) noexcept nogil
    cdef void _midi(self, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil
    cdef void _note_on(self, int ch, int note, int vel) noexcept nogil
    cdef void _note_off(self, int ch, int note) noexcept nogil
    cdef void _release_voice(self, int v) noexcept nogil
    cdef void _cc(self, int ch, int cc, int value) noexcept nogil
    cdef void _data_entry(self, int ch, int kind, int value) noexcept nogil
    cdef void _set_send(self, int ch, int k, int value) noexcept nogil
    cdef float _send_gain(self, int ch, int k, int64_t t) noexcept nogil
    cdef void _part_voices_to_rpn(self, int ch, float old_tune) noexcept nogil
    cdef void _choke(self, int ch, int group) noexcept nogil
    cdef void _mix_part(self, int ch, int a, int n) noexcept nogil
    cdef void _run_send(self, int k, int n) noexcept nogil
    cdef int _alloc_voice(self) noexcept nogil
    cdef void _start_voice(self, int v, const Plan* plan, int ch, int note, int vel) noexcept nogil
    cdef void _render_span(self, int a, int b) noexcept nogil
    cdef void _render_sub(self, int pos, int n) noexcept nogil
    cdef void _plan_voice(self, int v, int n) noexcept nogil
    cdef void _voice_ops(self, int v, uint32_t skip, float* yb) noexcept nogil
    cdef void _build_prog(self, int v, uint32_t skip, uint32_t silent) noexcept nogil
    cdef void _serial_batches(self, int nser, int n) noexcept nogil
    cdef void _serial_fill(self, int lane, int v, int n) noexcept nogil
    cdef void _serial_ext(self, int lane, int v) noexcept nogil
    cdef void _control(self, int v) noexcept nogil
    cdef void _advance(self, int v, int n) noexcept nogil
    cdef void _save_tick(self, int v) noexcept nogil
    cdef void _restore_tick(self, int v) noexcept nogil
    cdef void _retick(self, int v) noexcept nogil
    cdef void _retick_part(self, int ch) noexcept nogil
    cdef void _reset_ext(self) noexcept
    cdef void _tuning_event(self, const RtEvent* ev) noexcept nogil
    cdef bint _mpe_filter(self, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil
    cdef void _mpe_zone(self, int z, int members) noexcept nogil
    cdef void _mpe_update(self, int ch) noexcept nogil
    cdef void _set_timbre(self, int ch, float db) noexcept nogil
    cdef void _ext_start(self, int v, int ch) noexcept nogil
