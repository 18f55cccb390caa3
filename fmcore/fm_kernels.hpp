/* The FM engine's sample loops (fm_kernels_impl.hpp), compiled for the build's baseline and,
 * on x86-64, again for AVX2+FMA; fm_select_kernels() picks one at run time from what the CPU
 * has. A portable wheel therefore runs everywhere and still uses AVX2 where it exists. */
#pragma once
#include <stdint.h>
#include <string.h>

#define FM_MAX_OPS 12
#define FM_MAX_EDGES 144          /* FM_MAX_OPS * FM_MAX_OPS */
#define FM_LANES 16               /* voices per serial batch */
#define FM_SUB 128                /* samples per sub-span */
#define FM_SUB_PAD (FM_SUB + 8)   /* room for the last vector's overrun */

/* Where a lane takes new chunk parameters inside a sub-span: at sample `at`, which is sample
 * j0 of its chunk; per serial operator (serial order) the chunk's phase, increment, gain and
 * gain step. `zero` silences the lane from `at` on (its voice ended). */
struct FmSwitch {
    int at, lane, j0, zero;
    uint32_t ph[FM_MAX_OPS];
    uint32_t inc[FM_MAX_OPS];
    float g[FM_MAX_OPS];
    float dg[FM_MAX_OPS];
};

#define FM_MAX_SWITCH (FM_LANES * 6)

/* A batch of voices whose serial operators (those on feedback loops) run together, one voice
 * per lane. Amounts, history and lane state are [edge or op][FM_LANES]; ext and y are
 * lane-interleaved: buf[(k * FM_SUB_PAD + i) * width + lane] for serial op k at sample i. */
struct FmSerial {
    int width;                                  /* 8 or 16 lanes */
    int n_ops;                                  /* serial operators, in processing order */
    int n_int, n_fb;
    int has_ext;                                /* some serial op has non-serial modulators */
    int int_start[FM_MAX_OPS + 1];              /* same-sample edges into serial op k */
    int int_src[FM_MAX_EDGES];                  /* ... from serial op int_src[e] */
    int fb_start[FM_MAX_OPS + 1];               /* feedback edges into serial op k */
    int fb_src[FM_MAX_EDGES];                   /* ... from serial op fb_src[e] (two-sample average) */
    float int_amt[FM_MAX_EDGES * FM_LANES];     /* units of 2^-24 cycle per unit of output */
    float fb_amt[FM_MAX_EDGES * FM_LANES];      /* the same, halved for the average */
    float y1[FM_MAX_OPS * FM_LANES];
    float y2[FM_MAX_OPS * FM_LANES];
    int n_switch;
    FmSwitch sw[FM_MAX_SWITCH];
    int order[FM_MAX_SWITCH];                   /* sw in time order */
    uint32_t p[FM_MAX_OPS * FM_LANES];          /* lane state: phase now, */
    uint32_t inc[FM_MAX_OPS * FM_LANES];
    float g0[FM_MAX_OPS * FM_LANES];            /* gain = g0 + j * dg */
    float dg[FM_MAX_OPS * FM_LANES];
    float j[FM_LANES];
    float* ext;                                 /* modulation from non-serial operators */
    float* y;
};

struct FmKernels {
    void (*op_run)(uint32_t ph, uint32_t inc, float g, float dg, int j0, int n,
                   const float* const* src, const float* amt, int nsrc, float* y,
                   float* out, float c, int first);
    void (*carrier_add)(float* out, const float* y, float c, int n, int first);
    void (*mix_seg)(float* L, float* R, const float* x, int n, int j0, float gl, float dgl,
                    float gr, float dgr, int fade, float inv_fade);
    void (*serial_lanes)(FmSerial* s, int n);
    void (*lanes_out)(float* const* dst, const float* y, int w, int nl, int n);
    void (*amps)(const float* x, const float* scale, float* amp, int n);
    float (*ramp)(float g, float dg, int j);
    void (*scale2)(float* L, float* R, const float* g, float gc, int n);
    void (*clamp2)(float* L, float* R, int n);
    float (*sin_scalar)(uint32_t phase);
    const char* name;
};

/* 2^x without a library call, for the control ticks: round x to the nearest integer n,
 * a minimax polynomial for 2^(x - n) on [-0.5, 0.5], n put into the exponent.
 * Relative error 8e-8 (float) and 1.4e-14 (double). */
static inline float fm_exp2f(float x) {
    if (!(x > -126.0f)) return 0.0f;                /* below the normal range, and NaN */
    if (x > 127.0f) x = 127.0f;
    float n = __builtin_rintf(x), f = x - n;
    float p = 0.0013276456939182758f;
    p = p * f + 0.009675538574411512f;
    p = p * f + 0.05550713293620079f;
    p = p * f + 0.24022119781401213f;
    p = p * f + 0.6931469670737402f;
    p = p * f + 1.0000000716410038f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline double fm_exp2(double x) {
    if (!(x > -1022.0)) return 0.0;
    if (x > 1023.0) x = 1023.0;
    double n = __builtin_rint(x), f = x - n;
    double p = 1.0149171941599432e-07;
    p = p * f + 1.3259411906775182e-06;
    p = p * f + 1.5252990727573657e-05;
    p = p * f + 0.00015403434927303543;
    p = p * f + 0.001333355760793846;
    p = p * f + 0.009618129192081975;
    p = p * f + 0.05550410866874171;
    p = p * f + 0.24022650695649633;
    p = p * f + 0.6931471805598703;
    p = p * f + 1.0000000000000129;
    uint64_t bits = (uint64_t)((int64_t)n + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#if defined(__x86_64__) || defined(__i386__)
#define FM_BASE_NAME "sse2"
#else
#define FM_BASE_NAME "generic"
#endif


#pragma GCC diagnostic ignored "-Wpsabi"
#define FM_NS fm_base
#define FM_NAME FM_BASE_NAME
#include "fm_kernels_impl.hpp"
#undef FM_NS
#undef FM_NAME

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#define FM_HAVE_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC optimize("fp-contract=fast")
#define FM_NS fm_avx2
#define FM_NAME "avx2+fma"
#include "fm_kernels_impl.hpp"
#undef FM_NS
#undef FM_NAME
#pragma GCC pop_options
#else
#define FM_HAVE_AVX2 0
#endif


/* want: 0 = best the CPU has, 1 = the baseline, 2 = AVX2+FMA (NULL when unavailable). */
static inline const FmKernels* fm_select_kernels(int want) {
#if FM_HAVE_AVX2
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want == 2) return avx2 ? &fm_avx2::table : NULL;
    if (want == 0 && avx2) return &fm_avx2::table;
#else
    if (want == 2) return NULL;
#endif
    return &fm_base::table;
}
