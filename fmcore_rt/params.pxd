# C-level interface of the atomic parameter store (see params.pyx for the design).
from libc.stdint cimport uint32_t, uint64_t, int32_t
from fmcore_rt.rt_atomics cimport ParamCells

cdef extern from "<mutex>" nogil:
    # std::mutex with lock() declared noexcept: libcpp.mutex declares it `except +`,
    # which puts a GIL-taking error path into the nogil caller
    cdef cppclass BatchMutex "std::mutex":
        void lock() noexcept
        void unlock() noexcept

cdef enum:
    MAX_PARAMS = 256

# One buffer of the triple buffer: the value and batch generation of every slot
# as of one published batch (the whole state, so skipping a buffer loses nothing).
cdef struct ParamBatch:
    float value[256]
    uint32_t gen[256]

cdef class AtomicParams:
    cdef ParamCells* cells
    cdef ParamBatch* batches           # three buffers (triple buffer)
    cdef uint32_t back                 # writer's buffer, guarded by batch_mutex
    cdef uint32_t front                # reader's buffer, audio thread only
    cdef BatchMutex batch_mutex        # serialises batch writers (control side only)
    cdef float master_value[256]       # batch state of the writers, guarded by batch_mutex
    cdef uint32_t master_gen[256]
    cdef uint64_t n_published
    # specs: written by the control thread before the slot count is published
    cdef float lo[256]
    cdef float hi[256]
    cdef float dflt[256]
    cdef double smoothing_s[256]
    cdef int32_t smooth_samples[256]
    cdef double sample_rate
    # audio-side state (owned by the thread calling begin_block)
    cdef float target[256]
    cdef uint32_t target_gen[256]      # batch generation the target accounts for
    cdef float start[256]
    cdef float current[256]
    cdef float inc[256]
    cdef float ramp_to[256]
    cdef int32_t steps_left[256]
    cdef int32_t ramp_len[256]
    cdef uint64_t batches_seen
    # control-side Python state
    cdef dict _index
    cdef list _specs
    cdef object _open_batch

    cdef int _resolve(self, key) except -1
    cdef float _checked(self, int i, value) except? -1
    # control side, any thread: single set, wait-free (one atomic load, one atomic
    # store); value must be finite and index valid (the Python layer checks both);
    # clamps to the slot's range
    cdef void set_value(self, int index, float value) noexcept nogil
    # control side, any thread: the value a control-side read returns (the latest write)
    cdef float control_value(self, int index) noexcept nogil
    # control side, any thread: publish a whole batch; takes batch_mutex. Indices
    # must be distinct and valid, values finite (clamped here)
    cdef void publish(self, const int* index, const float* value, int n) noexcept nogil
    # tests only, no other thread using the store: set a slot's batch generation
    cdef void force_generation(self, int index, uint32_t gen) noexcept nogil
    # audio side: adopt the newest batch and single sets, advance smoothing by nframes
    cdef void begin_block(self, int nframes) noexcept nogil
    # audio side (or while no audio runs): adopt pending writes and jump every
    # smoothed value to its target, for a deterministic start
    cdef void snap(self) noexcept nogil
    # audio side, after begin_block: smoothed value at frame k of this block.
    # A ramp runs for ramp_len[i] frames of the block, then holds at current[i].
    cdef inline float at(self, int index, int k) noexcept nogil:
        if k < self.ramp_len[index]:
            return self.start[index] + self.inc[index] * k
        return self.current[index]
    # audio side, after begin_block: value at the end of this block
    cdef inline float end(self, int index) noexcept nogil:
        return self.current[index]
