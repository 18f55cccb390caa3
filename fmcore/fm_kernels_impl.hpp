/* The FM engine's sample loops, written once with GCC vector types and compiled twice by
 * fm_kernels.hpp: for the build's baseline (SSE2 on x86-64) and for AVX2+FMA. Include only
 * from fm_kernels.hpp, with FM_NS defined to the namespace of this copy.
 *
 * Phases are uint32 (one cycle = 2^32), the sine is an odd degree-7 polynomial on the
 * quarter-wave folded phase (max error 7e-7, -123 dB), modulation arrives as float in
 * units of 2^-24 cycle and is converted to phase with one truncation and a shift (exact
 * wrap for |modulation| < 128 cycles; beyond that the result stays finite).
 *
 * Every per-sample value depends only on the chunk's parameters and the sample's index j
 * in its chunk (gain g + j*dg, phase ph + j*inc), never on where a block or event split
 * the chunk: output is bit-identical at any block size. Loops run over whole vectors of
 * 8 samples, so outputs are written up to the next multiple of 8 (buffers carry padding).
 */
namespace FM_NS {

typedef float vf8 __attribute__((vector_size(32)));
typedef int32_t vi8 __attribute__((vector_size(32)));
typedef uint32_t vu8 __attribute__((vector_size(32)));

static inline vf8 ld(const float* p) { vf8 v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline void st(float* p, vf8 v) { __builtin_memcpy(p, &v, sizeof v); }

/* sin(2*pi*p/2^32): fold to [-pi/2, pi/2] (bits 31 and 30 differ beyond a quarter wave:
 * x -> pi - x or -pi - x, both p ^ 0x7FFFFFFF), then an odd minimax polynomial in
 * t = folded/2^30. (A macro, not a template: GCC drops vector attributes on template
 * arguments.) */
#define FM_SIN_U32(VI, VU, VF)                                                  \
    static inline VF sin_v(VI p) {                                              \
        VI flip = ((VI)((VU)p << 1) ^ p) >> 31;                                 \
        p ^= flip & 0x7FFFFFFF;                                                 \
        VF t = __builtin_convertvector(p, VF) * (1.0f / 1073741824.0f);         \
        VF t2 = t * t;                                                          \
        VF r = t2 * -0.004333098410120487f + 0.07943435003040125f;              \
        r = r * t2 + -0.6458928522007814f;                                      \
        r = r * t2 + 1.5707910113943266f;                                       \
        return r * t;                                                           \
    }                                                                           \
    /* g * sin(p) with a shorter dependency chain (Estrin; the gain folded in early), \
     * for the serial loops whose speed is their latency */                     \
    static inline VF gsin_lat(VI p, VF g) {                                     \
        VI flip = ((VI)((VU)p << 1) ^ p) >> 31;                                 \
        p ^= flip & 0x7FFFFFFF;                                                 \
        VF t = __builtin_convertvector(p, VF) * (1.0f / 1073741824.0f);         \
        VF t2 = t * t;                                                          \
        VF gt = g * t;                                                          \
        VF lo = t2 * -0.6458928522007814f + 1.5707910113943266f;                \
        VF hi = t2 * -0.004333098410120487f + 0.07943435003040125f;             \
        return ((t2 * t2) * hi + lo) * gt;                                      \
    }                                                                           \
    /* modulation in units of 2^-24 cycle to phase units */                      \
    static inline VI mod_phase(VF m) { return __builtin_convertvector(m, VI) << 8; }
FM_SIN_U32(vi8, vu8, vf8)
#undef FM_SIN_U32

static inline float sin_u32_scalar(uint32_t u) {
    int32_t p = (int32_t)u;
    int32_t flip = (int32_t)((uint32_t)p << 1) ^ p;
    flip >>= 31;
    p ^= flip & 0x7FFFFFFF;
    float t = (float)p * (1.0f / 1073741824.0f);
    float t2 = t * t;
    float r = t2 * -0.004333098410120487f + 0.07943435003040125f;
    r = r * t2 + -0.6458928522007814f;
    r = r * t2 + 1.5707910113943266f;
    return r * t;
}

/* One operator over samples [0, n) of a segment that starts at index j0 of its chunk:
 * y[i] = (g + j*dg) * sin(ph + j*inc + sum_e amt[e]*src[e][i]), j = j0 + i, stored in y
 * when y is not NULL (other operators read it) and, for a carrier (out not NULL), c*y[i]
 * written (first) or added to out[i]. The common source counts get loops of their own,
 * with sources and amounts in registers. */
template <int NS>
static inline void op_loop(vi8 p, vi8 pstep, vf8 jf, float g, float dg, int n,
                           const float* const* src, const float* amt, int nsrc, float* y,
                           float* out, float c, int first) {
    const float* s0 = NS >= 1 ? src[0] : nullptr;
    const float* s1 = NS >= 2 ? src[1] : nullptr;
    const float a0 = NS >= 1 ? amt[0] : 0.0f, a1 = NS >= 2 ? amt[1] : 0.0f;
    for (int i = 0; i < n; i += 8) {
        vi8 q = p;
        if (NS == 1) {
            q += mod_phase(ld(s0 + i) * a0);
        } else if (NS == 2) {
            q += mod_phase(ld(s0 + i) * a0 + ld(s1 + i) * a1);
        } else if (NS < 0) {
            vf8 m = ld(src[0] + i) * amt[0];
            for (int e = 1; e < nsrc; e++)
                m += ld(src[e] + i) * amt[e];
            q += mod_phase(m);
        }
        vf8 yv = (jf * dg + g) * sin_v(q);
        if (y)
            st(y + i, yv);
        if (out)
            st(out + i, first ? yv * c : ld(out + i) + yv * c);
        p += pstep;
        jf += 8.0f;
    }
}

static void op_run(uint32_t ph, uint32_t inc, float g, float dg, int j0, int n,
                   const float* const* src, const float* amt, int nsrc, float* y,
                   float* out, float c, int first) {
    const vi8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    vi8 jv = lane + j0;
    vi8 p = (vi8)((vu8)jv * inc + ph);
    const vi8 pstep = (vi8)((vu8){8, 8, 8, 8, 8, 8, 8, 8} * inc);
    vf8 jf = __builtin_convertvector(jv, vf8);
    switch (nsrc) {
    case 0: op_loop<0>(p, pstep, jf, g, dg, n, src, amt, nsrc, y, out, c, first); break;
    case 1: op_loop<1>(p, pstep, jf, g, dg, n, src, amt, nsrc, y, out, c, first); break;
    case 2: op_loop<2>(p, pstep, jf, g, dg, n, src, amt, nsrc, y, out, c, first); break;
    default: op_loop<-1>(p, pstep, jf, g, dg, n, src, amt, nsrc, y, out, c, first); break;
    }
}

/* L, R *= gain (g[i], or gc where g is NULL), exactly n samples. */
static void scale2(float* L, float* R, const float* g, float gc, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        vf8 gv = g ? ld(g + i) : (vf8){gc, gc, gc, gc, gc, gc, gc, gc};
        st(L + i, ld(L + i) * gv);
        st(R + i, ld(R + i) * gv);
    }
    for (; i < n; i++) {
        float gi = g ? g[i] : gc;
        L[i] *= gi;
        R[i] *= gi;
    }
}

/* Always finite and bounded, whatever a patch or a parameter did: NaN -> 0, beyond +-64
 * clamped; exactly n samples. */
static inline vf8 bound(vf8 x) {
    const vf8 hi = {64, 64, 64, 64, 64, 64, 64, 64}, lo = -hi;
    x = x > hi ? hi : x;
    x = x < lo ? lo : x;
    return (vf8)((vi8)x & (x == x));
}

static void clamp2(float* L, float* R, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        st(L + i, bound(ld(L + i)));
        st(R + i, bound(ld(R + i)));
    }
    for (; i < n; i++) {
        float l = L[i], r = R[i];
        L[i] = l != l ? 0.0f : (l > 64.0f ? 64.0f : (l < -64.0f ? -64.0f : l));
        R[i] = r != r ? 0.0f : (r > 64.0f ? 64.0f : (r < -64.0f ? -64.0f : r));
    }
}

/* g + j*dg exactly as the loops compute a gain at index j of its chunk (with FMA on the
 * AVX2 path): the value a chunk cut short at j hands to the next one, so an event leaves
 * every sample up to its frame unchanged to the bit. */
static float ramp(float g, float dg, int j) { return (float)j * dg + g; }

/* amp[k] = scale[k] * 2^(x[k]) for k < n <= 16 (0 below 2^-126): every operator's
 * amplitude at a control tick in one or two vectors, rather than one exp2 after another. */
static void amps(const float* x, const float* scale, float* amp, int n) {
    float xb[16], sb[16], ab[16];
    for (int k = 0; k < 16; k++) {
        xb[k] = k < n ? x[k] : -1000.0f;
        sb[k] = k < n ? scale[k] : 0.0f;
    }
    for (int q = 0; q < n; q += 8) {
        vf8 v = ld(xb + q);
        vi8 live = v >= -126.0f;
        v = v > 127.0f ? (vf8){127, 127, 127, 127, 127, 127, 127, 127} : v;
        vf8 r = (v + 12582912.0f) - 12582912.0f;               /* nearest integer */
        vf8 f = v - r;
        vf8 pl = f * 0.0013276456939182758f + 0.009675538574411512f;
        pl = pl * f + 0.05550713293620079f;
        pl = pl * f + 0.24022119781401213f;
        pl = pl * f + 0.6931469670737402f;
        pl = pl * f + 1.0000000716410038f;
        vi8 bits = (__builtin_convertvector(r, vi8) + 127) << 23;
        vf8 res = pl * (vf8)(bits & live) * ld(sb + q);
        st(ab + q, (vf8)((vi8)res & live));
    }
    for (int k = 0; k < n; k++)
        amp[k] = ab[k];
}

/* out[i] (+)= c * y[i] over whole vectors covering [0, n). */
static void carrier_add(float* out, const float* y, float c, int n, int first) {
    if (first) {
        for (int i = 0; i < n; i += 8)
            st(out + i, ld(y + i) * c);
    } else {
        for (int i = 0; i < n; i += 8)
            st(out + i, ld(out + i) + ld(y + i) * c);
    }
}

/* L[i] += x[i]*gl_j, R[i] += x[i]*gr_j for i in [0, n) exactly (L and R are the caller's
 * mix buffers: no padding), with pan gains ramping from the chunk's start (index j0) and,
 * when fade > 0, the steal fade (fade - i)/fade_len. */
static void mix_seg(float* L, float* R, const float* x, int n, int j0, float gl, float dgl,
                    float gr, float dgr, int fade, float inv_fade) {
    int i = 0;
    if (fade > 0) {
        for (; i < n; i++) {
            float f = (float)(fade - i) * inv_fade;
            float xi = x[i] * f;
            L[i] += xi * ((float)(j0 + i) * dgl + gl);
            R[i] += xi * ((float)(j0 + i) * dgr + gr);
        }
        return;
    }
    const vi8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    vf8 jf = __builtin_convertvector(lane + j0, vf8);
    for (; i + 8 <= n; i += 8) {
        vf8 xv = ld(x + i);
        st(L + i, ld(L + i) + xv * (jf * dgl + gl));
        st(R + i, ld(R + i) + xv * (jf * dgr + gr));
        jf += 8.0f;
    }
    for (; i < n; i++) {
        L[i] += x[i] * ((float)(j0 + i) * dgl + gl);
        R[i] += x[i] * ((float)(j0 + i) * dgr + gr);
    }
}

/* The serial operators (feedback loops) of up to 16 voices at once, one voice per lane,
 * sample by sample. Each lane's phase and gain follow its chunk: p += inc per sample and
 * g = g0 + j*dg, with the lane's chunk parameters replaced at its switches (FmSwitch). The
 * lanes' state lives in FmSerial between runs of samples without a switch. */
template <int G>
static inline void serial_switch(FmSerial* s, const FmSwitch* w) {
    const int l = w->lane;
    for (int k = 0; k < s->n_ops; k++) {
        const int at = k * FM_LANES + l;
        s->p[at] = w->ph[k] + (uint32_t)w->j0 * w->inc[k];
        s->inc[at] = w->inc[k];
        s->g0[at] = w->zero ? 0.0f : w->g[k];
        s->dg[at] = w->zero ? 0.0f : w->dg[k];
    }
    s->j[l] = (float)w->j0;
}

static inline vi8 ldi(const uint32_t* p) { vi8 v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline void sti(uint32_t* p, vi8 v) { __builtin_memcpy(p, &v, sizeof v); }

/* The common case (every DX7 algorithm but 4 and 6): one operator feeding back on itself
 * with no other modulator, kept in registers. G groups of 8 lanes run side by side, so two
 * independent dependency chains overlap (GCC keeps vf8 arrays with constant indices in
 * registers; 64-byte vector types it spills). */
template <int G>
static void serial_self_g(FmSerial* s, int n) {
    const int W = 8 * G;
    vf8 y1[G], y2[G], a[G];
    for (int q = 0; q < G; q++) {
        y1[q] = ld(s->y1 + 8 * q);
        y2[q] = ld(s->y2 + 8 * q);
        a[q] = ld(s->fb_amt + 8 * q);
    }
    float* out = s->y;
    int sw = 0, i = 0;
    while (i < n) {
        while (sw < s->n_switch && s->sw[s->order[sw]].at == i)
            serial_switch<G>(s, &s->sw[s->order[sw++]]);
        const int end = sw < s->n_switch ? s->sw[s->order[sw]].at : n;
        vi8 p[G], inc[G];
        vf8 j[G], g0[G], dg[G], ay2[G];
        for (int q = 0; q < G; q++) {
            p[q] = ldi(s->p + 8 * q);
            inc[q] = ldi(s->inc + 8 * q);
            j[q] = ld(s->j + 8 * q);
            g0[q] = ld(s->g0 + 8 * q);
            dg[q] = ld(s->dg + 8 * q);
            ay2[q] = a[q] * y2[q];                  /* ready a sample early: off the chain */
        }
        for (; i < end; i++) {
            for (int q = 0; q < G; q++) {
                vf8 y = gsin_lat(p[q] + mod_phase(a[q] * y1[q] + ay2[q]), j[q] * dg[q] + g0[q]);
                st(out + i * W + 8 * q, y);
                ay2[q] = a[q] * y1[q];
                y2[q] = y1[q];
                y1[q] = y;
                p[q] += inc[q];
                j[q] += 1.0f;
            }
        }
        for (int q = 0; q < G; q++) {
            sti(s->p + 8 * q, p[q]);
            st(s->j + 8 * q, j[q]);
        }
    }
    for (int q = 0; q < G; q++) {
        st(s->y1 + 8 * q, y1[q]);
        st(s->y2 + 8 * q, y2[q]);
    }
}

/* DX7 algorithms 4 and 6: a chain of L operators (each modulated by the one before, the
 * first by the last's feedback), no other modulator; state in registers as above. */
template <int L, int G>
static void serial_chain_g(FmSerial* s, int n) {
    const int W = 8 * G;
    vf8 y1[G], y2[G], fa[G], ia[L][G];
    for (int q = 0; q < G; q++) {
        y1[q] = ld(s->y1 + (L - 1) * FM_LANES + 8 * q);
        y2[q] = ld(s->y2 + (L - 1) * FM_LANES + 8 * q);
        fa[q] = ld(s->fb_amt + 8 * q);
        for (int k = 1; k < L; k++)
            ia[k][q] = ld(s->int_amt + (k - 1) * FM_LANES + 8 * q);
    }
    int sw = 0, i = 0;
    vf8 last[L][G];
    for (int k = 0; k < L; k++)
        for (int q = 0; q < G; q++)
            last[k][q] = ld(s->y1 + k * FM_LANES + 8 * q);
    while (i < n) {
        while (sw < s->n_switch && s->sw[s->order[sw]].at == i)
            serial_switch<G>(s, &s->sw[s->order[sw++]]);
        const int end = sw < s->n_switch ? s->sw[s->order[sw]].at : n;
        vi8 p[L][G], inc[L][G];
        vf8 g0[L][G], dg[L][G], j[G];
        for (int q = 0; q < G; q++) {
            j[q] = ld(s->j + 8 * q);
            for (int k = 0; k < L; k++) {
                p[k][q] = ldi(s->p + k * FM_LANES + 8 * q);
                inc[k][q] = ldi(s->inc + k * FM_LANES + 8 * q);
                g0[k][q] = ld(s->g0 + k * FM_LANES + 8 * q);
                dg[k][q] = ld(s->dg + k * FM_LANES + 8 * q);
            }
        }
        for (; i < end; i++) {
            for (int q = 0; q < G; q++) {
                vf8 m = fa[q] * (y1[q] + y2[q]);
                for (int k = 0; k < L; k++) {
                    if (k > 0)
                        m = ia[k][q] * last[k - 1][q];
                    vf8 y = gsin_lat(p[k][q] + mod_phase(m), j[q] * dg[k][q] + g0[k][q]);
                    st(s->y + (k * FM_SUB_PAD + i) * W + 8 * q, y);
                    last[k][q] = y;
                    p[k][q] += inc[k][q];
                }
                y2[q] = y1[q];
                y1[q] = last[L - 1][q];
                j[q] += 1.0f;
            }
        }
        for (int q = 0; q < G; q++) {
            st(s->j + 8 * q, j[q]);
            for (int k = 0; k < L; k++)
                sti(s->p + k * FM_LANES + 8 * q, p[k][q]);
        }
    }
    /* history of every serial op: the last output is y1; only the last op's y2 is ever read */
    for (int q = 0; q < G; q++) {
        for (int k = 0; k < L; k++)
            st(s->y1 + k * FM_LANES + 8 * q, last[k][q]);
        st(s->y2 + (L - 1) * FM_LANES + 8 * q, y2[q]);
    }
}

static inline int is_chain(const FmSerial* s, int L) {
    if (s->n_ops != L || s->has_ext || s->n_fb != 1 || s->n_int != L - 1) return 0;
    if (s->fb_start[1] != 1 || s->fb_src[0] != L - 1) return 0;     /* the first, fed back by the last */
    for (int k = 1; k < L; k++)
        if (s->int_start[k] != k - 1 || s->int_start[k + 1] != k || s->int_src[k - 1] != k - 1) return 0;
    return 1;
}

/* Any serial group: operators in order, same-sample edges between them, feedback edges with
 * the two-sample average, modulation from outside the group precomputed in ext. */
template <int G>
static void serial_any_g(FmSerial* s, int n) {
    const int W = 8 * G;
    const int ns = s->n_ops;
    vf8 y1[FM_MAX_OPS][G], y2[FM_MAX_OPS][G], ycur[FM_MAX_OPS][G];
    for (int k = 0; k < ns; k++)
        for (int q = 0; q < G; q++) {
            y1[k][q] = ld(s->y1 + k * FM_LANES + 8 * q);
            y2[k][q] = ld(s->y2 + k * FM_LANES + 8 * q);
        }
    int sw = 0, i = 0;
    while (i < n) {
        while (sw < s->n_switch && s->sw[s->order[sw]].at == i)
            serial_switch<G>(s, &s->sw[s->order[sw++]]);
        const int end = sw < s->n_switch ? s->sw[s->order[sw]].at : n;
        for (; i < end; i++) {
            for (int k = 0; k < ns; k++) {
                const int at = (k * FM_SUB_PAD + i) * W;
                for (int q = 0; q < G; q++) {
                    const int c = k * FM_LANES + 8 * q;
                    vf8 m = s->has_ext ? ld(s->ext + at + 8 * q) : (vf8){};
                    for (int e = s->int_start[k]; e < s->int_start[k + 1]; e++)
                        m += ld(s->int_amt + e * FM_LANES + 8 * q) * ycur[s->int_src[e]][q];
                    for (int e = s->fb_start[k]; e < s->fb_start[k + 1]; e++)
                        m += ld(s->fb_amt + e * FM_LANES + 8 * q) * (y1[s->fb_src[e]][q] + y2[s->fb_src[e]][q]);
                    vi8 p = ldi(s->p + c);
                    vf8 y = gsin_lat(p + mod_phase(m), ld(s->j + 8 * q) * ld(s->dg + c) + ld(s->g0 + c));
                    sti(s->p + c, p + ldi(s->inc + c));
                    ycur[k][q] = y;
                    st(s->y + at + 8 * q, y);
                }
            }
            for (int q = 0; q < G; q++)
                st(s->j + 8 * q, ld(s->j + 8 * q) + 1.0f);
            for (int k = 0; k < ns; k++)
                for (int q = 0; q < G; q++) {
                    y2[k][q] = y1[k][q];
                    y1[k][q] = ycur[k][q];
                }
        }
    }
    for (int k = 0; k < ns; k++)
        for (int q = 0; q < G; q++) {
            st(s->y1 + k * FM_LANES + 8 * q, y1[k][q]);
            st(s->y2 + k * FM_LANES + 8 * q, y2[k][q]);
        }
}

static void serial_lanes(FmSerial* s, int n) {
    /* lanes without a switch at 0 (empty, or set by one later) are silent until then */
    memset(s->g0, 0, s->n_ops * FM_LANES * sizeof(float));
    memset(s->dg, 0, s->n_ops * FM_LANES * sizeof(float));
    memset(s->j, 0, sizeof s->j);
    const int two = s->width == 16;
    if (s->n_ops == 1 && s->n_int == 0 && s->n_fb == 1 && !s->has_ext)
        two ? serial_self_g<2>(s, n) : serial_self_g<1>(s, n);
    else if (is_chain(s, 2))
        two ? serial_chain_g<2, 2>(s, n) : serial_chain_g<2, 1>(s, n);
    else if (is_chain(s, 3))
        two ? serial_chain_g<3, 2>(s, n) : serial_chain_g<3, 1>(s, n);
    else
        two ? serial_any_g<2>(s, n) : serial_any_g<1>(s, n);
}

/* Lane-interleaved y (y[i*w + lane], w = 8 or 16) back to one array per lane: dst[lane][i]
 * for i < n rounded up to 8 (dst has padding), lanes < nl; 8x8 transposes. */
static void lanes_out(float* const* dst, const float* y, int w, int nl, int n) {
    const vi8 lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
    const vi8 l2 = {0, 1, 8, 9, 4, 5, 12, 13}, h2 = {2, 3, 10, 11, 6, 7, 14, 15};
    const vi8 l4 = {0, 1, 2, 3, 8, 9, 10, 11}, h4 = {4, 5, 6, 7, 12, 13, 14, 15};
    for (int q = 0; q * 8 < nl; q++) {
        for (int i = 0; i < n; i += 8) {
            const float* r = y + i * w + 8 * q;
            vf8 r0 = ld(r), r1 = ld(r + w), r2 = ld(r + 2 * w), r3 = ld(r + 3 * w);
            vf8 r4 = ld(r + 4 * w), r5 = ld(r + 5 * w), r6 = ld(r + 6 * w), r7 = ld(r + 7 * w);
            vf8 t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi);
            vf8 t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
            vf8 t4 = __builtin_shuffle(r4, r5, lo), t5 = __builtin_shuffle(r4, r5, hi);
            vf8 t6 = __builtin_shuffle(r6, r7, lo), t7 = __builtin_shuffle(r6, r7, hi);
            vf8 u0 = __builtin_shuffle(t0, t2, l2), u1 = __builtin_shuffle(t0, t2, h2);
            vf8 u2 = __builtin_shuffle(t1, t3, l2), u3 = __builtin_shuffle(t1, t3, h2);
            vf8 u4 = __builtin_shuffle(t4, t6, l2), u5 = __builtin_shuffle(t4, t6, h2);
            vf8 u6 = __builtin_shuffle(t5, t7, l2), u7 = __builtin_shuffle(t5, t7, h2);
            vf8 col[8] = {__builtin_shuffle(u0, u4, l4), __builtin_shuffle(u1, u5, l4),
                          __builtin_shuffle(u2, u6, l4), __builtin_shuffle(u3, u7, l4),
                          __builtin_shuffle(u0, u4, h4), __builtin_shuffle(u1, u5, h4),
                          __builtin_shuffle(u2, u6, h4), __builtin_shuffle(u3, u7, h4)};
            for (int c = 0; c < 8 && 8 * q + c < nl; c++)
                st(dst[8 * q + c] + i, col[c]);
        }
    }
}

static const FmKernels table = {op_run, carrier_add, mix_seg, serial_lanes, lanes_out, amps, ramp, scale2, clamp2,
                                 sin_u32_scalar, FM_NAME};

}  /* namespace FM_NS */
