/* Real-time section markers for the audio path.
 *
 * The checker library (librtcheck, loaded with LD_PRELOAD) exports
 * fmcore_rtcheck_enter / fmcore_rtcheck_exit. Each module that marks sections
 * resolves them once at import with fmrt_hooks_init(); when the checker is not
 * preloaded the pointers stay NULL and a marker costs one predictable branch.
 */
#pragma once
#include <dlfcn.h>
#include <stddef.h>

typedef void (*fmrt_hook_fn)(void);
static fmrt_hook_fn fmrt_enter_fn = NULL;
static fmrt_hook_fn fmrt_exit_fn = NULL;

static inline int fmrt_hooks_init(void) {
    fmrt_enter_fn = (fmrt_hook_fn)dlsym(RTLD_DEFAULT, "fmcore_rtcheck_enter");
    fmrt_exit_fn = (fmrt_hook_fn)dlsym(RTLD_DEFAULT, "fmcore_rtcheck_exit");
    return fmrt_enter_fn != NULL && fmrt_exit_fn != NULL;
}

static inline void fmrt_rt_enter(void) { if (fmrt_enter_fn) fmrt_enter_fn(); }
static inline void fmrt_rt_exit(void) { if (fmrt_exit_fn) fmrt_exit_fn(); }
