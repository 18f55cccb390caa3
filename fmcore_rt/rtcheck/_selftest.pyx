"""Test-only processors for the real-time safety checker.

Each ``*Processor`` but ``CleanProcessor`` breaks one rule of the audio
thread on purpose, inside ``render`` (so inside the section that
``Processor.run_block`` marks): the checker's tests run them under the
preloaded ``librtcheck`` and expect the violation to be counted and named.
``calls`` sets how many violating calls each block makes.
"""
from libc.stdlib cimport malloc, free
from libc.math cimport sin, M_PI
from libc.stdint cimport int64_t
from posix.fcntl cimport open as c_open, O_WRONLY, O_CLOEXEC
from posix.unistd cimport write as c_write, close as c_close, usleep
from posix.time cimport nanosleep, timespec, clock_gettime, CLOCK_MONOTONIC

from fmcore_rt.processor cimport Processor
from fmcore_rt.spsc cimport RtEvent

cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_mutex_t:
        pass
    int pthread_mutex_init(pthread_mutex_t* m, const void* attr)
    int pthread_mutex_lock(pthread_mutex_t* m)
    int pthread_mutex_unlock(pthread_mutex_t* m)
    int pthread_mutex_destroy(pthread_mutex_t* m)

cdef extern from *:
    """
    #include <vector>
    /* Pointers stored here escape, so the compiler cannot elide the
     * allocation the tests want to see (GCC drops unused malloc/free pairs). */
    static void* volatile fmrt_selftest_sink;
    static inline void fmrt_selftest_keep(void* p) noexcept { fmrt_selftest_sink = p; }
    static int fmrt_selftest_vector_growth(int n) noexcept {
        try {
            std::vector<float> v;
            for (int i = 0; i < n; i++) {
                v.push_back((float)i);
                fmrt_selftest_sink = v.data();
            }
            return (int)v.size();
        } catch (...) {
            return -1;
        }
    }
    """
    void fmrt_selftest_keep(void* p) nogil
    int fmrt_selftest_vector_growth(int n) nogil


cdef class MallocProcessor(Processor):
    """Calls ``malloc`` and ``free`` ``calls`` times per block (alloc violations)."""
    cdef public int calls
    cdef public int size

    def __init__(self, int calls=1, int size=256):
        self.calls = calls
        self.size = size

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int k
        cdef void* p
        for k in range(self.calls):
            p = malloc(<size_t>self.size)
            if p == NULL:
                return -1
            fmrt_selftest_keep(p)
            free(p)
        return 0


cdef class VectorProcessor(Processor):
    """Grows a local ``std::vector`` to ``calls`` elements per block (``new``/``delete`` reach malloc/free)."""
    cdef public int calls

    def __init__(self, int calls=5):
        self.calls = calls

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        return 0 if fmrt_selftest_vector_growth(self.calls) >= 0 else -1


cdef class MutexProcessor(Processor):
    """Locks and unlocks a ``pthread_mutex_t`` ``calls`` times per block (lock violations)."""
    cdef pthread_mutex_t mutex
    cdef public int calls

    def __cinit__(self, *args, **kwargs):
        pthread_mutex_init(&self.mutex, NULL)

    def __init__(self, int calls=1):
        self.calls = calls

    def __dealloc__(self):
        pthread_mutex_destroy(&self.mutex)

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int k
        for k in range(self.calls):
            pthread_mutex_lock(&self.mutex)
            pthread_mutex_unlock(&self.mutex)
        return 0


cdef class SleepProcessor(Processor):
    """Sleeps for zero time ``calls`` times per block: ``mode`` is "nanosleep" or "usleep"."""
    cdef int use_usleep
    cdef public int calls

    def __init__(self, str mode="nanosleep", int calls=1):
        if mode not in ("nanosleep", "usleep"):
            raise ValueError(f"mode must be 'nanosleep' or 'usleep', got {mode!r}")
        self.use_usleep = mode == "usleep"
        self.calls = calls

    @property
    def mode(self) -> str:
        return "usleep" if self.use_usleep else "nanosleep"

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef timespec ts
        cdef int k
        ts.tv_sec = 0
        ts.tv_nsec = 0
        for k in range(self.calls):
            if self.use_usleep:
                usleep(0)
            else:
                nanosleep(&ts, NULL)
        return 0


cdef class FileWriteProcessor(Processor):
    """Writes one byte to ``/dev/null`` with ``write()`` ``calls`` times per block (I/O violations).

    The file is opened in ``prepare`` (outside the real-time section).
    """
    cdef int fd
    cdef public int calls

    def __cinit__(self, *args, **kwargs):
        self.fd = -1

    def __init__(self, int calls=1):
        self.calls = calls

    def __dealloc__(self):
        if self.fd >= 0:
            c_close(self.fd)

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        if self.fd < 0:
            self.fd = c_open(b"/dev/null", O_WRONLY | O_CLOEXEC)
            if self.fd < 0:
                raise OSError("cannot open /dev/null")
        return 0

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef char byte = 0
        cdef int k
        for k in range(self.calls):
            if c_write(self.fd, &byte, 1) != 1:
                return -1
        return 0


cdef class CleanProcessor(Processor):
    """A real-time-safe processor: adds a sine of ``freq`` Hz (pure arithmetic)."""
    cdef public double freq
    cdef double phase

    def __init__(self, double freq=440.0):
        self.freq = freq
        self.phase = 0.0

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef double inc = 2.0 * M_PI * self.freq / self.sample_rate
        cdef double ph
        cdef int c, i
        for c in range(nchannels):
            ph = self.phase
            for i in range(nframes):
                out[c][i] += <float>(0.25 * sin(ph))
                ph += inc
        self.phase += inc * nframes
        while self.phase >= 2.0 * M_PI:
            self.phase -= 2.0 * M_PI
        return 0


cdef class SpinProcessor(Processor):
    """Burns CPU in every block: ``work`` rounds of dependent arithmetic (no system call).

    Real-time safe but too slow: the validator must fail it on CPU-time overruns.
    """
    cdef public long work
    cdef double acc

    def __init__(self, long work=20_000_000):
        self.work = work
        self.acc = 1.0

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef long k
        cdef double a = self.acc
        for k in range(self.work):
            a = a * 1.0000001 + 1e-9
        self.acc = a if a < 1e6 else 1.0
        return 0


def malloc_free_ns(int n=1000000, size_t size=64):
    """Mean nanoseconds of one ``malloc(size)`` + ``free`` pair, outside any section.

    Measures the cost the checker adds to the normal (unmarked) path.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    cdef timespec t0, t1
    cdef int k
    cdef void* p
    with nogil:
        clock_gettime(CLOCK_MONOTONIC, &t0)
        for k in range(n):
            p = malloc(size)
            fmrt_selftest_keep(p)
            free(p)
        clock_gettime(CLOCK_MONOTONIC, &t1)
    cdef int64_t ns = (<int64_t>t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec)
    return ns / <double>n
