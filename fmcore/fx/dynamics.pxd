# Dynamics: feed-forward compressor and look-ahead limiter.
from fmcore.fx.base cimport Effect

cdef class Compressor(Effect):
    cdef int i_thr, i_ratio, i_att, i_rel, i_knee, i_makeup
    cdef double env                    # smoothed gain change in dB (<= 0)

cdef class Limiter(Effect):
    cdef int i_ceiling, i_rel, i_gain
    cdef int L                         # look-ahead window in samples
    cdef float* xdl                    # audio delay rings (L each)
    cdef float* xdr
    cdef float* box                    # envelope values inside the averaging window
    cdef float* qv                     # monotonic deque for the sliding minimum
    cdef long long* qi
    cdef int qhead, qlen, pos
    cdef long long t                   # samples since clear
    cdef double boxsum
    cdef double genv                   # gain envelope before averaging
