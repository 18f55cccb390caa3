# C-level view of the native PortAudio stream: the state its callback reads and writes.
from libc.stdint cimport int64_t, uint64_t
from libcpp.atomic cimport atomic
from fmcore_rt.processor cimport Processor
from fmcore_rt.timing cimport TimingStats

cdef extern from "portaudio.h" nogil:
    ctypedef void PaStream

cdef class _PaCore:
    cdef PaStream* stream
    cdef Processor proc             # strong reference: alive while the stream is open
    cdef int nchannels
    cdef int max_block
    cdef int rt_priority            # SCHED_FIFO priority to ask for (0: do not try)
    cdef bint initialized           # Pa_Initialize succeeded (balanced by Pa_Terminate)
    # written by the audio thread, read by anyone
    cdef atomic[uint64_t] callbacks
    cdef atomic[uint64_t] frames
    cdef atomic[uint64_t] underflows
    cdef atomic[uint64_t] render_errors
    cdef atomic[int64_t] first_underflow   # callback index of the first underflow, -1 none
    cdef atomic[int64_t] rt_state   # 0 unknown, 1 raised by us, 2 already real-time, <0 -errno
    cdef atomic[int] finished       # PortAudio's stream-finished callback ran
    # the callback's own cost against its deadline (frames / sample rate), single writer
    cdef double ns_per_frame
    cdef readonly TimingStats cpu_timing # thread CPU time per callback
    cdef atomic[uint64_t] stalls         # wall time past the deadline, own CPU time within it

    cdef int on_callback(self, float** out, unsigned long nframes, unsigned long flags) noexcept nogil
    cdef void _raise_priority(self) noexcept nogil
