/* Flush-to-zero / denormals-are-zero for the duration of an audio block.
 * Denormal floats in decaying filters and envelopes can cost 100x per
 * operation; the audio path sets FTZ|DAZ on entry and restores the caller's
 * mode on exit. A no-op where SSE is not available. */
#pragma once
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
static inline unsigned int fmrt_ftz_enter(void) {
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static inline void fmrt_ftz_exit(unsigned int old) { _mm_setcsr(old); }
#elif defined(__aarch64__)
static inline unsigned int fmrt_ftz_enter(void) {
    unsigned long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | (1UL << 24)));
    return (unsigned int)fpcr;
}
static inline void fmrt_ftz_exit(unsigned int old) {
    unsigned long fpcr = old;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
}
#else
static inline unsigned int fmrt_ftz_enter(void) { return 0; }
static inline void fmrt_ftz_exit(unsigned int old) { (void)old; }
#endif
