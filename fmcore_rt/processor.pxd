# The processor protocol at C level: what the host (streams, offline loops, the
# validator) calls on the audio thread. A processor subclasses Processor,
# allocates everything in prepare_c(), and implements render() without the GIL.
from libc.stdint cimport uint64_t
from libcpp.atomic cimport atomic
from fmcore_rt.spsc cimport RtEvent
from fmcore_rt.timing cimport TimingStats
from fmcore_rt.clock cimport SampleClock

# Who holds a processor (Processor.in_use): one thread at a time renders, resets or prepares it.
cdef enum:
    USE_FREE = 0
    USE_PROCESS = 1         # Processor.process()
    USE_CALLBACK = 2        # an audio stream's callback
    USE_PREPARE = 3
    USE_RESET = 4
    USE_SETTLE = 5

cdef class Processor:
    cdef readonly double sample_rate
    cdef readonly int max_block
    cdef readonly int max_channels
    cdef readonly bint prepared
    cdef RtEvent* _evbuf            # events of a Python-side process() call
    cdef int _evcap
    cdef readonly TimingStats timing
    cdef readonly TimingStats cpu_timing   # thread CPU time per block, when measure_cpu
    cdef public bint measure_cpu    # validation: also time each block's thread CPU time (a system
                                    # call per block, made outside the real-time section)
    cdef readonly SampleClock clock
    cdef atomic[int] in_use         # USE_*: who is inside; taken with a try-acquire, never waited for
    cdef atomic[uint64_t] busy_skipped   # blocks given silence because the processor was busy

    # control thread: size every buffer for (sample_rate, max_block); called by prepare()
    cdef int prepare_c(self, double sample_rate, int max_block) except -1
    # audio thread: render nframes (<= max_block) into out[0..nchannels-1]; events are
    # sorted by frame offset within [0, nframes). Returns 0, or a negative code.
    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil
    cdef int _reserve_events(self, int n) except -1
    cdef int _run_span(self, float** ptrs, int nch, Py_ssize_t n, Py_ssize_t nev) noexcept nogil
    # any thread, wait-free: take the processor for `who` (USE_*); returns USE_FREE on
    # success, else the holder's USE_* (nothing taken). leave() gives it back.
    cdef int try_enter(self, int who) noexcept nogil
    cdef void leave(self) noexcept nogil
    # control thread (GIL): take it for `who` or raise ProcessorBusyError naming `what`
    cdef int enter_or_raise(self, int who, str what) except -1
    # audio callback: run nframes (any length) in blocks if the processor is free, else
    # write silence and count it in busy_skipped; never waits. Returns how many blocks
    # failed to render (each silenced).
    cdef int run_callback(self, float** out, int nchannels, unsigned long nframes) noexcept nogil
    # audio thread: render() inside a marked real-time section, timed, clock advanced
    cdef int run_block(self, float** out, int nchannels, int nframes,
                       const RtEvent* events, int nevents) noexcept nogil
