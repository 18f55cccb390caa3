# The processor protocol at C level: what the host (streams, offline loops, the
# validator) calls on the audio thread. A processor subclasses Processor,
# allocates everything in prepare_c(), and implements render() without the GIL.
from fmcore_rt.spsc cimport RtEvent
from fmcore_rt.timing cimport TimingStats
from fmcore_rt.clock cimport SampleClock

cdef class Processor:
    cdef readonly double sample_rate
    cdef readonly int max_block
    cdef readonly int max_channels
    cdef readonly bint prepared
    cdef RtEvent* _evbuf            # events of a Python-side process() call
    cdef int _evcap
    cdef readonly TimingStats timing
    cdef readonly SampleClock clock

    # control thread: size every buffer for (sample_rate, max_block); called by prepare()
    cdef int prepare_c(self, double sample_rate, int max_block) except -1
    # audio thread: render nframes (<= max_block) into out[0..nchannels-1]; events are
    # sorted by frame offset within [0, nframes). Returns 0, or a negative code.
    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil
    cdef int _reserve_events(self, int n) except -1
    cdef int _run_span(self, float** ptrs, int nch, Py_ssize_t n, Py_ssize_t nev) noexcept nogil
    # audio thread: render() inside a marked real-time section, timed, clock advanced
    cdef int run_block(self, float** out, int nchannels, int nframes,
                       const RtEvent* events, int nevents) noexcept nogil
