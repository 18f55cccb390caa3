# Section markers for the real-time checker (see hooks.h). A module that marks
# sections calls fmrt_hooks_init() once at import.
cdef extern from "rtcheck/hooks.h" nogil:
    int fmrt_hooks_init()
    void fmrt_rt_enter()
    void fmrt_rt_exit()
