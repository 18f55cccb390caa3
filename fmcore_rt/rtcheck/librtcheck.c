/* librtcheck: a real-time safety checker loaded with LD_PRELOAD.
 *
 * The audio path brackets its real-time sections with fmcore_rtcheck_enter()
 * and fmcore_rtcheck_exit() (see hooks.h). This library interposes the
 * functions a real-time thread must not call (allocation and memory mapping,
 * locks and waits, sleeps, I/O, raw syscalls) and counts every call a thread makes while it is
 * inside a section, then forwards to the real function. Outside a section a
 * call costs one thread-local load and a branch on top of the real function.
 *
 * Environment:
 *   FMCORE_RTCHECK_ABORT=1     abort() with the function name and a backtrace
 *                              on the first violation
 *   FMCORE_RTCHECK_REPORT=1    print the totals to stderr at exit
 *   FMCORE_RTCHECK_OUTPUT=path append "pid function category count" lines at
 *                              exit (used by `python -m fmcore_rt.rtcheck`)
 *
 * Control API (for ctypes): fmcore_rtcheck_reset, _nfuncs, _func_name,
 * _func_category, _func_count, _total, _depth, _sections, _set_abort.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* fortify would turn open/printf into inline wrappers */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* initial-exec: the variable lives in the static TLS block, so reading it
 * never calls __tls_get_addr (which may allocate on first touch). */
static __thread int t_depth __attribute__((tls_model("initial-exec")));
/* Set while this thread resolves real functions (dlsym may call calloc). */
static __thread int t_resolving __attribute__((tls_model("initial-exec")));

/* ---- the interposed functions: one table, one counter each ---------------- */

enum { CAT_ALLOC, CAT_LOCK, CAT_SLEEP, CAT_IO, CAT_SYSCALL, NCATS };
static const char *const cat_names[NCATS] = {"alloc", "lock", "sleep", "io", "syscall"};

#define FUNCS(X)                                                  \
    X(malloc, CAT_ALLOC) X(calloc, CAT_ALLOC) X(realloc, CAT_ALLOC) \
    X(free, CAT_ALLOC) X(posix_memalign, CAT_ALLOC)               \
    X(aligned_alloc, CAT_ALLOC) X(memalign, CAT_ALLOC)            \
    X(valloc, CAT_ALLOC) X(mmap, CAT_ALLOC) X(mmap64, CAT_ALLOC)   \
    X(munmap, CAT_ALLOC)                                          \
    X(pthread_mutex_lock, CAT_LOCK) X(pthread_mutex_trylock, CAT_LOCK) \
    X(pthread_cond_wait, CAT_LOCK) X(pthread_cond_timedwait, CAT_LOCK) \
    X(sem_wait, CAT_LOCK) X(sem_timedwait, CAT_LOCK)              \
    X(pthread_rwlock_rdlock, CAT_LOCK) X(pthread_rwlock_wrlock, CAT_LOCK) \
    X(nanosleep, CAT_SLEEP) X(clock_nanosleep, CAT_SLEEP)         \
    X(usleep, CAT_SLEEP) X(sleep, CAT_SLEEP) X(sched_yield, CAT_SLEEP) \
    X(read, CAT_IO) X(write, CAT_IO) X(open, CAT_IO) X(open64, CAT_IO) \
    X(writev, CAT_IO) X(pwrite, CAT_IO) X(pwrite64, CAT_IO)       \
    X(fsync, CAT_IO) X(fdatasync, CAT_IO) X(poll, CAT_IO) X(ppoll, CAT_IO) \
    X(openat, CAT_IO) X(close, CAT_IO) X(fopen, CAT_IO) X(fopen64, CAT_IO) \
    X(fwrite, CAT_IO) X(fputs, CAT_IO) X(puts, CAT_IO)            \
    X(printf, CAT_IO) X(fprintf, CAT_IO) X(vprintf, CAT_IO)       \
    X(vfprintf, CAT_IO) X(__printf_chk, CAT_IO) X(__fprintf_chk, CAT_IO) \
    X(__vfprintf_chk, CAT_IO)                                     \
    X(syscall, CAT_SYSCALL)

#define AS_ENUM(name, cat) F_##name,
enum { FUNCS(AS_ENUM) NFUNCS };
#define AS_NAME(name, cat) #name,
static const char *const fn_names[NFUNCS] = {FUNCS(AS_NAME)};
#define AS_CAT(name, cat) cat,
static const int fn_cats[NFUNCS] = {FUNCS(AS_CAT)};

static unsigned long long counts[NFUNCS];
static unsigned long long sections; /* sections entered, all threads: proves the markers reach us */
static int abort_mode;

/* ---- real functions --------------------------------------------------------- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off64_t);
static int (*real_munmap)(void *, size_t);
static int (*real_pthread_mutex_lock)(pthread_mutex_t *);
static int (*real_pthread_mutex_trylock)(pthread_mutex_t *);
static int (*real_pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*real_pthread_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static int (*real_sem_wait)(sem_t *);
static int (*real_sem_timedwait)(sem_t *, const struct timespec *);
static int (*real_pthread_rwlock_rdlock)(pthread_rwlock_t *);
static int (*real_pthread_rwlock_wrlock)(pthread_rwlock_t *);
static int (*real_nanosleep)(const struct timespec *, struct timespec *);
static int (*real_clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
static int (*real_usleep)(useconds_t);
static unsigned int (*real_sleep)(unsigned int);
static int (*real_sched_yield)(void);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static int (*real_fputs)(const char *, FILE *);
static int (*real_puts)(const char *);
static int (*real_vprintf)(const char *, va_list);
static int (*real_vfprintf)(FILE *, const char *, va_list);
static int (*real___vfprintf_chk)(FILE *, int, const char *, va_list);
static long (*real_syscall)(long, ...);

static void *next_sym(const char *name) { return dlsym(RTLD_NEXT, name); }

static void *next_vsym(const char *name, const char *version) {
    /* pthread_cond_* exist in two ABI versions; plain dlsym may return the old one. */
    void *p = dlvsym(RTLD_NEXT, name, version);
    return p ? p : dlsym(RTLD_NEXT, name);
}

#define STORE(var, val) __atomic_store_n(&(var), (__typeof__(var))(val), __ATOMIC_RELEASE)

static void resolve_all(void) {
    if (t_resolving)
        return;
    t_resolving = 1;
    /* Allocators first: after them, dlsym's own allocations go to the real heap. */
    STORE(real_malloc, next_sym("malloc"));
    STORE(real_calloc, next_sym("calloc"));
    STORE(real_realloc, next_sym("realloc"));
    STORE(real_free, next_sym("free"));
    STORE(real_posix_memalign, next_sym("posix_memalign"));
    STORE(real_aligned_alloc, next_sym("aligned_alloc"));
    STORE(real_memalign, next_sym("memalign"));
    STORE(real_valloc, next_sym("valloc"));
    STORE(real_mmap, next_sym("mmap"));
    STORE(real_mmap64, next_sym("mmap64"));
    STORE(real_munmap, next_sym("munmap"));
    STORE(real_pthread_mutex_lock, next_sym("pthread_mutex_lock"));
    STORE(real_pthread_mutex_trylock, next_sym("pthread_mutex_trylock"));
    STORE(real_pthread_cond_wait, next_vsym("pthread_cond_wait", "GLIBC_2.3.2"));
    STORE(real_pthread_cond_timedwait, next_vsym("pthread_cond_timedwait", "GLIBC_2.3.2"));
    STORE(real_sem_wait, next_sym("sem_wait"));
    STORE(real_sem_timedwait, next_sym("sem_timedwait"));
    STORE(real_pthread_rwlock_rdlock, next_sym("pthread_rwlock_rdlock"));
    STORE(real_pthread_rwlock_wrlock, next_sym("pthread_rwlock_wrlock"));
    STORE(real_nanosleep, next_sym("nanosleep"));
    STORE(real_clock_nanosleep, next_sym("clock_nanosleep"));
    STORE(real_usleep, next_sym("usleep"));
    STORE(real_sleep, next_sym("sleep"));
    STORE(real_sched_yield, next_sym("sched_yield"));
    STORE(real_read, next_sym("read"));
    STORE(real_write, next_sym("write"));
    STORE(real_writev, next_sym("writev"));
    STORE(real_pwrite, next_sym("pwrite"));
    STORE(real_pwrite64, next_sym("pwrite64"));
    STORE(real_fsync, next_sym("fsync"));
    STORE(real_fdatasync, next_sym("fdatasync"));
    STORE(real_poll, next_sym("poll"));
    STORE(real_ppoll, next_sym("ppoll"));
    STORE(real_open, next_sym("open"));
    STORE(real_open64, next_sym("open64"));
    STORE(real_openat, next_sym("openat"));
    STORE(real_close, next_sym("close"));
    STORE(real_fopen, next_sym("fopen"));
    STORE(real_fopen64, next_sym("fopen64"));
    STORE(real_fwrite, next_sym("fwrite"));
    STORE(real_fputs, next_sym("fputs"));
    STORE(real_puts, next_sym("puts"));
    STORE(real_vprintf, next_sym("vprintf"));
    STORE(real_vfprintf, next_sym("vfprintf"));
    STORE(real___vfprintf_chk, next_sym("__vfprintf_chk"));
    STORE(real_syscall, next_sym("syscall"));
    t_resolving = 0;
}

#define REAL(name) (LIKELY(real_##name != NULL) ? real_##name : (resolve_all(), real_##name))

/* ---- bootstrap arena: serves allocations made by dlsym while resolving ------ */

#define ARENA_SIZE (64 * 1024)
static _Alignas(16) unsigned char arena[ARENA_SIZE];
static size_t arena_used;

static int in_arena(const void *p) {
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_SIZE;
}

static void *arena_alloc(size_t size, size_t align) {
    /* Each block is preceded by its size (for realloc); never freed. */
    if (align < 16)
        align = 16;
    size_t off = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
    size_t start, end;
    do {
        start = (off + sizeof(size_t) + align - 1) & ~(align - 1);
        end = start + size;
        if (end > ARENA_SIZE)
            return NULL;
    } while (!__atomic_compare_exchange_n(&arena_used, &off, end, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    memcpy(arena + start - sizeof(size_t), &size, sizeof(size_t));
    return arena + start;
}

static size_t arena_size_of(const void *p) {
    size_t s;
    memcpy(&s, (const unsigned char *)p - sizeof(size_t), sizeof(size_t));
    return s;
}

/* ---- violation accounting --------------------------------------------------- */

static void raw_write_all(int fd, const char *s, size_t n) {
    ssize_t (*w)(int, const void *, size_t) = REAL(write);
    while (n > 0 && w) {
        ssize_t k = w(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}


/* Formatting without stdio (stdio may allocate or lock). */
static char *fmt_u64(char *p, unsigned long long v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *fmt_str(char *p, const char *s) {
    while (*s)
        *p++ = *s++;
    return p;
}

static char *fmt_pad(char *p, const char *s, int width) {
    int n = 0;
    while (s[n])
        *p++ = s[n++];
    while (n++ < width)
        *p++ = ' ';
    return p;
}

static void warm_backtrace(void) {
    /* The first backtrace() may dlopen libgcc_s (which allocates): do it now,
     * outside any section, so the abort path never allocates. */
    void *frames[4];
    (void)backtrace(frames, 4);
}

__attribute__((noinline, cold, noreturn)) static void die(int f) {
    t_depth = 0; /* everything below passes straight through */
    char msg[160];
    char *p = fmt_str(msg, "rtcheck: ");
    p = fmt_str(p, fn_names[f]);
    p = fmt_str(p, " called in a real-time section (category ");
    p = fmt_str(p, cat_names[fn_cats[f]]);
    p = fmt_str(p, ")\nrtcheck: backtrace:\n");
    raw_write_all(2, msg, (size_t)(p - msg));
    void *frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, 2);
    abort();
}

__attribute__((noinline, cold)) static void violation(int f) {
    __atomic_fetch_add(&counts[f], 1ULL, __ATOMIC_RELAXED);
    if (__atomic_load_n(&abort_mode, __ATOMIC_RELAXED))
        die(f);
}

#define CHECK(name)                      \
    do {                                 \
        if (UNLIKELY(t_depth > 0))       \
            violation(F_##name);         \
    } while (0)

/* ---- section markers and control API ---------------------------------------- */

EXPORT void fmcore_rtcheck_enter(void) {
    t_depth++;
    __atomic_fetch_add(&sections, 1ULL, __ATOMIC_RELAXED);
}

/** Real-time sections entered since load (all threads, nested ones too). */
EXPORT unsigned long long fmcore_rtcheck_sections(void) { return __atomic_load_n(&sections, __ATOMIC_RELAXED); }

EXPORT void fmcore_rtcheck_exit(void) {
    if (t_depth > 0)
        t_depth--;
}

/** Nesting depth of real-time sections on the calling thread. */
EXPORT int fmcore_rtcheck_depth(void) { return t_depth; }

/** Zero every counter (process-wide). */
EXPORT void fmcore_rtcheck_reset(void) {
    for (int i = 0; i < NFUNCS; i++)
        __atomic_store_n(&counts[i], 0ULL, __ATOMIC_RELAXED);
}

EXPORT int fmcore_rtcheck_nfuncs(void) { return NFUNCS; }

EXPORT const char *fmcore_rtcheck_func_name(int i) {
    return (i >= 0 && i < NFUNCS) ? fn_names[i] : NULL;
}

EXPORT const char *fmcore_rtcheck_func_category(int i) {
    return (i >= 0 && i < NFUNCS) ? cat_names[fn_cats[i]] : NULL;
}

/** Violations by function i since load or the last reset (all threads). */
EXPORT unsigned long long fmcore_rtcheck_func_count(int i) {
    return (i >= 0 && i < NFUNCS) ? __atomic_load_n(&counts[i], __ATOMIC_RELAXED) : 0ULL;
}

EXPORT unsigned long long fmcore_rtcheck_total(void) {
    unsigned long long t = 0;
    for (int i = 0; i < NFUNCS; i++)
        t += __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
    return t;
}

/** Turn abort-on-first-violation on (1) or off (0); returns the previous mode. */
EXPORT int fmcore_rtcheck_set_abort(int on) {
    if (on)
        warm_backtrace();
    return __atomic_exchange_n(&abort_mode, on ? 1 : 0, __ATOMIC_RELAXED);
}

/* ---- load and exit ----------------------------------------------------------- */

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

__attribute__((constructor)) static void rtcheck_init(void) {
    resolve_all();
    if (env_on("FMCORE_RTCHECK_ABORT"))
        fmcore_rtcheck_set_abort(1);
}

static char report_buf[NFUNCS * 96 + 256];

static void report_stderr(void) {
    unsigned long long total = fmcore_rtcheck_total();
    char *p = fmt_str(report_buf, "rtcheck: pid ");
    p = fmt_u64(p, (unsigned long long)getpid());
    p = fmt_str(p, ": ");
    if (total == 0) {
        p = fmt_str(p, "no violations in real-time sections\n");
    } else {
        p = fmt_u64(p, total);
        p = fmt_str(p, " violation(s) in real-time sections\n");
        for (int c = 0; c < NCATS; c++) {
            unsigned long long ct = 0;
            for (int i = 0; i < NFUNCS; i++)
                if (fn_cats[i] == c)
                    ct += __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
            if (!ct)
                continue;
            p = fmt_str(p, "rtcheck:   ");
            p = fmt_pad(p, cat_names[c], 26);
            p = fmt_u64(p, ct);
            *p++ = '\n';
            for (int i = 0; i < NFUNCS; i++) {
                unsigned long long n = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
                if (fn_cats[i] != c || !n)
                    continue;
                p = fmt_str(p, "rtcheck:     ");
                p = fmt_pad(p, fn_names[i], 24);
                p = fmt_u64(p, n);
                *p++ = '\n';
            }
        }
    }
    raw_write_all(2, report_buf, (size_t)(p - report_buf));
}

static void report_file(const char *path) {
    /* One "L pid" line says the library ran to exit in this process; one
     * "V pid function category count" line per function with violations.
     * A single O_APPEND write keeps the lines of concurrent processes whole. */
    char *p = fmt_str(report_buf, "L\t");
    p = fmt_u64(p, (unsigned long long)getpid());
    *p++ = '\n';
    for (int i = 0; i < NFUNCS; i++) {
        unsigned long long n = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
        if (!n)
            continue;
        p = fmt_str(p, "V\t");
        p = fmt_u64(p, (unsigned long long)getpid());
        *p++ = '\t';
        p = fmt_str(p, fn_names[i]);
        *p++ = '\t';
        p = fmt_str(p, cat_names[fn_cats[i]]);
        *p++ = '\t';
        p = fmt_u64(p, n);
        *p++ = '\n';
    }
    int fd = REAL(open)(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    raw_write_all(fd, report_buf, (size_t)(p - report_buf));
    REAL(close)(fd);
}

__attribute__((destructor)) static void rtcheck_fini(void) {
    t_depth = 0;
    const char *out = getenv("FMCORE_RTCHECK_OUTPUT");
    if (out && out[0])
        report_file(out);
    if (env_on("FMCORE_RTCHECK_REPORT"))
        report_stderr();
}

/* ---- allocation ------------------------------------------------------------ */

EXPORT void *malloc(size_t n) {
    CHECK(malloc);
    void *(*f)(size_t) = REAL(malloc);
    return LIKELY(f != NULL) ? f(n) : arena_alloc(n, 16);
}

EXPORT void *calloc(size_t n, size_t size) {
    CHECK(calloc);
    void *(*f)(size_t, size_t) = REAL(calloc);
    if (LIKELY(f != NULL))
        return f(n, size);
    if (size && n > SIZE_MAX / size)
        return NULL;
    return arena_alloc(n * size, 16); /* static memory: already zero */
}

EXPORT void *realloc(void *p, size_t n) {
    CHECK(realloc);
    if (UNLIKELY(p != NULL && in_arena(p))) {
        void *q = malloc(n);
        if (q) {
            size_t old = arena_size_of(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    void *(*f)(void *, size_t) = REAL(realloc);
    return LIKELY(f != NULL) ? f(p, n) : (p ? NULL : arena_alloc(n, 16));
}

EXPORT void free(void *p) {
    CHECK(free);
    if (UNLIKELY(p != NULL && in_arena(p)))
        return;
    void (*f)(void *) = REAL(free);
    if (LIKELY(f != NULL))
        f(p);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    CHECK(posix_memalign);
    int (*f)(void **, size_t, size_t) = REAL(posix_memalign);
    if (LIKELY(f != NULL))
        return f(out, align, n);
    *out = arena_alloc(n, align);
    return *out ? 0 : ENOMEM;
}

EXPORT void *aligned_alloc(size_t align, size_t n) {
    CHECK(aligned_alloc);
    void *(*f)(size_t, size_t) = REAL(aligned_alloc);
    return LIKELY(f != NULL) ? f(align, n) : arena_alloc(n, align);
}

EXPORT void *memalign(size_t align, size_t n) {
    CHECK(memalign);
    void *(*f)(size_t, size_t) = REAL(memalign);
    return LIKELY(f != NULL) ? f(align, n) : arena_alloc(n, align);
}

EXPORT void *valloc(size_t n) {
    CHECK(valloc);
    void *(*f)(size_t) = REAL(valloc);
    return LIKELY(f != NULL) ? f(n) : arena_alloc(n, 4096);
}

/* Memory mappings: system calls (and page-table work) even when no allocator is involved. */
EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    CHECK(mmap);
    return REAL(mmap)(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
    CHECK(mmap64);
    return REAL(mmap64)(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len) {
    CHECK(munmap);
    return REAL(munmap)(addr, len);
}

/* ---- locks and waits -------------------------------------------------------- */

EXPORT int pthread_mutex_lock(pthread_mutex_t *m) {
    CHECK(pthread_mutex_lock);
    return REAL(pthread_mutex_lock)(m);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m) {
    CHECK(pthread_mutex_trylock);
    return REAL(pthread_mutex_trylock)(m);
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
    CHECK(pthread_cond_wait);
    return REAL(pthread_cond_wait)(c, m);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t) {
    CHECK(pthread_cond_timedwait);
    return REAL(pthread_cond_timedwait)(c, m, t);
}

EXPORT int sem_wait(sem_t *s) {
    CHECK(sem_wait);
    return REAL(sem_wait)(s);
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *t) {
    CHECK(sem_timedwait);
    return REAL(sem_timedwait)(s, t);
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l) {
    CHECK(pthread_rwlock_rdlock);
    return REAL(pthread_rwlock_rdlock)(l);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l) {
    CHECK(pthread_rwlock_wrlock);
    return REAL(pthread_rwlock_wrlock)(l);
}

/* ---- sleeping --------------------------------------------------------------- */

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
    CHECK(nanosleep);
    return REAL(nanosleep)(req, rem);
}

EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem) {
    CHECK(clock_nanosleep);
    return REAL(clock_nanosleep)(clk, flags, req, rem);
}

EXPORT int usleep(useconds_t us) {
    CHECK(usleep);
    return REAL(usleep)(us);
}

EXPORT unsigned int sleep(unsigned int s) {
    CHECK(sleep);
    return REAL(sleep)(s);
}

EXPORT int sched_yield(void) {
    CHECK(sched_yield);
    return REAL(sched_yield)();
}

/* ---- I/O -------------------------------------------------------------------- */

EXPORT ssize_t read(int fd, void *buf, size_t n) {
    CHECK(read);
    return REAL(read)(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n) {
    CHECK(write);
    return REAL(write)(fd, buf, n);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n) {
    CHECK(writev);
    return REAL(writev)(fd, iov, n);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    CHECK(pwrite);
    return REAL(pwrite)(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
    CHECK(pwrite64);
    return REAL(pwrite64)(fd, buf, n, off);
}

EXPORT int fsync(int fd) {
    CHECK(fsync);
    return REAL(fsync)(fd);
}

EXPORT int fdatasync(int fd) {
    CHECK(fdatasync);
    return REAL(fdatasync)(fd);
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
    CHECK(poll);
    return REAL(poll)(fds, n, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask) {
    CHECK(ppoll);
    return REAL(ppoll)(fds, n, t, mask);
}

/* The mode argument exists only when the flags create a file. */
#define OPEN_MODE(flags, last)                                                 \
    int mode = 0;                                                              \
    if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {           \
        va_list ap;                                                            \
        va_start(ap, last);                                                    \
        mode = va_arg(ap, int);                                                \
        va_end(ap);                                                            \
    }

EXPORT int open(const char *path, int flags, ...) {
    OPEN_MODE(flags, flags);
    CHECK(open);
    return REAL(open)(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...) {
    OPEN_MODE(flags, flags);
    CHECK(open64);
    return REAL(open64)(path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...) {
    OPEN_MODE(flags, flags);
    CHECK(openat);
    return REAL(openat)(dirfd, path, flags, mode);
}

EXPORT int close(int fd) {
    CHECK(close);
    return REAL(close)(fd);
}

EXPORT FILE *fopen(const char *path, const char *mode) {
    CHECK(fopen);
    return REAL(fopen)(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode) {
    CHECK(fopen64);
    return REAL(fopen64)(path, mode);
}

EXPORT size_t fwrite(const void *buf, size_t size, size_t n, FILE *fp) {
    CHECK(fwrite);
    return REAL(fwrite)(buf, size, n, fp);
}

EXPORT int fputs(const char *s, FILE *fp) {
    CHECK(fputs);
    return REAL(fputs)(s, fp);
}

EXPORT int puts(const char *s) {
    CHECK(puts);
    return REAL(puts)(s);
}

EXPORT int vprintf(const char *fmt, va_list ap) {
    CHECK(vprintf);
    return REAL(vprintf)(fmt, ap);
}

EXPORT int vfprintf(FILE *fp, const char *fmt, va_list ap) {
    CHECK(vfprintf);
    return REAL(vfprintf)(fp, fmt, ap);
}

EXPORT int printf(const char *fmt, ...) {
    CHECK(printf);
    va_list ap;
    va_start(ap, fmt);
    int r = REAL(vprintf)(fmt, ap);
    va_end(ap);
    return r;
}

EXPORT int fprintf(FILE *fp, const char *fmt, ...) {
    CHECK(fprintf);
    va_list ap;
    va_start(ap, fmt);
    int r = REAL(vfprintf)(fp, fmt, ap);
    va_end(ap);
    return r;
}

/* Fortified builds (-D_FORTIFY_SOURCE) call these instead of printf/fprintf. */
EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap) {
    CHECK(__vfprintf_chk);
    return REAL(__vfprintf_chk)(fp, flag, fmt, ap);
}

EXPORT int __printf_chk(int flag, const char *fmt, ...) {
    CHECK(__printf_chk);
    va_list ap;
    va_start(ap, fmt);
    int r = REAL(__vfprintf_chk)(stdout, flag, fmt, ap);
    va_end(ap);
    return r;
}

EXPORT int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...) {
    CHECK(__fprintf_chk);
    va_list ap;
    va_start(ap, fmt);
    int r = REAL(__vfprintf_chk)(fp, flag, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- raw system calls ------------------------------------------------------- */

EXPORT long syscall(long number, ...) {
    CHECK(syscall);
    va_list ap;
    va_start(ap, number);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    return REAL(syscall)(number, a1, a2, a3, a4, a5, a6);
}
