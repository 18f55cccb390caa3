"""The real-time safety checker (fmcore_rt.rtcheck) catches what it claims to catch.

Every check that needs the interposer runs the real ``librtcheck.so`` in a
child Python under LD_PRELOAD (``rtcheck.run``); the test-only processors of
``fmcore_rt.rtcheck._selftest`` break one rule each inside ``render``.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from fmcore_rt import rtcheck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCKS = 10


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var in ("FMCORE_RTCHECK_ABORT", "FMCORE_RTCHECK_REPORT", "FMCORE_RTCHECK_OUTPUT"):
        env.pop(var, None)
    return env


def _run_child(code, abort=False, extra_env=None, timeout=120):
    env = _env()
    env.update(extra_env or {})
    return rtcheck.run([sys.executable, "-c", textwrap.dedent(code)], abort=abort, env=env,
                       timeout=timeout, cwd=ROOT)


def _json_child(code, **kw):
    """Run code under the preload; its last stdout line is JSON."""
    proc = _run_child(code, **kw)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", autouse=True)
def built_library():
    assert os.path.exists(rtcheck.library_path()), (
        f"{rtcheck.library_path()} is not built: FMCORE_ONLY=fmcore_rt.rtcheck python setup.py build_ext --inplace")


# One child runs every test processor for BLOCKS blocks, each inside its own watch().
PROCESSORS_CHILD = f"""
import json
import numpy as np
from fmcore_rt import rtcheck, Gain
from fmcore_rt.rtcheck import _selftest as st

cases = {{
    "malloc": st.MallocProcessor(calls=3),
    "vector": st.VectorProcessor(calls=5),
    "mutex": st.MutexProcessor(calls=2),
    "nanosleep": st.SleepProcessor("nanosleep"),
    "usleep": st.SleepProcessor("usleep"),
    "write": st.FileWriteProcessor(),
    "clean": st.CleanProcessor(),
    "gain": Gain(0.5),
}}
result = {{"available": rtcheck.available()}}
for name, p in cases.items():
    p.prepare(48000.0, 64)
    out = np.full((2, 64), 0.5, np.float32)
    with rtcheck.watch() as r:
        for _ in range({BLOCKS}):
            p.process(out)
    result[name] = {{"fn": r.by_function, "cat": r.by_category, "total": r.total, "sections": r.sections,
                     "clean": r.clean, "active": r.active, "finite": bool(np.isfinite(out).all())}}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def processor_reports():
    return _json_child(PROCESSORS_CHILD)


def test_child_sees_the_checker(processor_reports):
    assert processor_reports["available"] is True
    assert all(processor_reports[k]["active"] for k in processor_reports if k != "available")
    # every block entered one section, and the checker saw each entry
    assert all(processor_reports[k]["sections"] == BLOCKS for k in processor_reports if k != "available")


def test_malloc_detected_with_exact_counts(processor_reports):
    r = processor_reports["malloc"]
    assert r["fn"] == {"malloc": 3 * BLOCKS, "free": 3 * BLOCKS}
    assert r["cat"] == {"alloc": 6 * BLOCKS}
    assert r["total"] == 6 * BLOCKS and r["clean"] is False


def test_cxx_new_delete_reach_malloc(processor_reports):
    # std::vector growth: operator new/delete are counted as malloc/free.
    r = processor_reports["vector"]
    assert r["fn"].get("malloc", 0) >= BLOCKS and r["fn"].get("free", 0) >= BLOCKS
    assert set(r["cat"]) == {"alloc"}


def test_mutex_detected(processor_reports):
    r = processor_reports["mutex"]
    assert r["fn"] == {"pthread_mutex_lock": 2 * BLOCKS}
    assert r["cat"] == {"lock": 2 * BLOCKS}


def test_nanosleep_detected(processor_reports):
    r = processor_reports["nanosleep"]
    assert r["fn"] == {"nanosleep": BLOCKS}
    assert r["cat"] == {"sleep": BLOCKS}


def test_usleep_detected(processor_reports):
    r = processor_reports["usleep"]
    assert r["fn"].get("usleep", 0) == BLOCKS
    assert set(r["cat"]) == {"sleep"}


def test_file_write_detected(processor_reports):
    r = processor_reports["write"]
    assert r["fn"] == {"write": BLOCKS}
    assert r["cat"] == {"io": BLOCKS}


@pytest.mark.parametrize("name", ["clean", "gain"])
def test_clean_processors_give_zero(processor_reports, name):
    r = processor_reports[name]
    assert r["active"] is True
    assert r["fn"] == {} and r["cat"] == {} and r["total"] == 0 and r["clean"] is True
    assert r["finite"]


def test_calls_outside_sections_are_not_counted():
    # Between blocks: numpy allocations, Python I/O, sleeps, locks, all uncounted; the
    # malloc processor inside the same watch is the positive control.
    code = f"""
    import json, os, threading, time
    import numpy as np
    from fmcore_rt import rtcheck
    from fmcore_rt.rtcheck import _selftest as st
    p = st.MallocProcessor(calls=1)
    p.prepare(48000.0, 64)
    out = np.zeros((1, 64), np.float32)
    lock = threading.Lock()
    fd = os.open(os.devnull, os.O_WRONLY)
    with rtcheck.watch() as r:
        for _ in range({BLOCKS}):
            p.process(out)
            junk = [np.ones(200_000) for _ in range(5)]   # large: real malloc/free
            os.write(fd, b"x" * 100)
            time.sleep(0)
            with lock:
                pass
    os.close(fd)
    print(json.dumps(r.by_function))
    """
    assert _json_child(code) == {"malloc": BLOCKS, "free": BLOCKS}


def test_other_threads_are_not_counted():
    # A Python thread allocates continuously while the main thread renders (GIL released):
    # the sections are per thread, so only the render thread's calls could count.
    code = """
    import json, threading
    import numpy as np
    from fmcore_rt import rtcheck
    from fmcore_rt.rtcheck import _selftest as st
    p = st.CleanProcessor()
    p.prepare(48000.0, 65536)
    out = np.zeros((2, 65536), np.float32)
    stop = threading.Event()
    iters = [0]
    def churn():
        while not stop.is_set():
            a = np.ones(100_000)
            iters[0] += 1
    t = threading.Thread(target=churn)
    t.start()
    during = 0
    with rtcheck.watch() as r:
        for _ in range(40):
            before = iters[0]
            p.process(out)
            during += iters[0] - before
    stop.set(); t.join()
    print(json.dumps({"fn": r.by_function, "during": during}))
    """
    res = _json_child(code)
    assert res["during"] > 0, "the allocating thread never ran while a block rendered"
    assert res["fn"] == {}


# Each interposed function called through ctypes inside a section opened by hand.
# PyDLL keeps the GIL (no mutex traffic of its own); a section that only calls
# abs() gives the baseline of what the ctypes call machinery itself does.
CTYPES_CHILD = r"""
import ctypes, json, os
from fmcore_rt import rtcheck
L = ctypes.PyDLL(None)
C = ctypes.PyDLL(None)  # global scope: the interposers, as a normal caller sees them
for f in ("malloc", "calloc", "realloc", "aligned_alloc", "memalign", "valloc", "fopen", "mmap", "mmap64"):
    getattr(C, f).restype = ctypes.c_void_p
for f in ("mmap", "mmap64"):
    getattr(C, f).argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
C.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
C.pwrite.argtypes = C.pwrite64.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_char_p), ("len", ctypes.c_size_t)]
iov = iovec(b"abc", 3)
import tempfile
tmp_fd, tmp_path = tempfile.mkstemp()
maps = []
C.free.argtypes = [ctypes.c_void_p]
C.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
C.fwrite.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
C.fputs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
C.fprintf.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
C.fclose.argtypes = [ctypes.c_void_p]
C.syscall.restype = ctypes.c_long
mutex = ctypes.create_string_buffer(64); C.pthread_mutex_init(mutex, None)
rw = ctypes.create_string_buffer(64); C.pthread_rwlock_init(rw, None)
sem = ctypes.create_string_buffer(64); C.sem_init(sem, 0, 100)
ts = (ctypes.c_long * 2)(0, 0)
buf = ctypes.create_string_buffer(16)
zero_fd = os.open("/dev/zero", os.O_RDONLY)
null_fd = os.open(os.devnull, os.O_WRONLY)
nullf = C.fopen(b"/dev/null", b"w")
keep = []

def sect(fn):
    before = rtcheck.snapshot().by_function
    L.fmcore_rtcheck_enter()
    fn()
    L.fmcore_rtcheck_exit()
    after = rtcheck.snapshot().by_function
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}

calls = {
    "malloc": lambda: keep.append(C.malloc(32)),
    "calloc": lambda: keep.append(C.calloc(4, 8)),
    "realloc": lambda: keep.append(C.realloc(None, 64)),
    "free": lambda: C.free(keep.pop()),
    "posix_memalign": lambda: C.posix_memalign(ctypes.byref(ctypes.c_void_p()), 64, 64),
    "aligned_alloc": lambda: keep.append(C.aligned_alloc(64, 64)),
    "memalign": lambda: keep.append(C.memalign(64, 64)),
    "valloc": lambda: keep.append(C.valloc(64)),
    "pthread_mutex_lock": lambda: (C.pthread_mutex_lock(mutex), C.pthread_mutex_unlock(mutex)),
    "pthread_mutex_trylock": lambda: (C.pthread_mutex_trylock(mutex), C.pthread_mutex_unlock(mutex)),
    "pthread_rwlock_rdlock": lambda: (C.pthread_rwlock_rdlock(rw), C.pthread_rwlock_unlock(rw)),
    "pthread_rwlock_wrlock": lambda: (C.pthread_rwlock_wrlock(rw), C.pthread_rwlock_unlock(rw)),
    "sem_wait": lambda: C.sem_wait(sem),
    "sem_timedwait": lambda: C.sem_timedwait(sem, ts),
    "nanosleep": lambda: C.nanosleep(ts, None),
    "clock_nanosleep": lambda: C.clock_nanosleep(1, 0, ts, None),
    "usleep": lambda: C.usleep(0),
    "sleep": lambda: C.sleep(0),
    "sched_yield": lambda: C.sched_yield(),
    "read": lambda: C.read(zero_fd, buf, 4),
    "write": lambda: C.write(null_fd, buf, 4),
    "open": lambda: keep.append(C.open(b"/dev/null", 0)),
    "openat": lambda: keep.append(C.openat(-100, b"/dev/null", 0)),
    "close": lambda: C.close(keep.pop()),
    "fopen": lambda: keep.append(C.fopen(b"/dev/null", b"r")),
    "fwrite": lambda: C.fwrite(b"abc", 1, 3, nullf),
    "fputs": lambda: C.fputs(b"abc", nullf),
    "fprintf": lambda: C.fprintf(nullf, b"abc"),
    "syscall": lambda: C.syscall(39),  # SYS_getpid
    "mmap": lambda: maps.append(C.mmap(None, 4096, 3, 0x22, -1, 0)),    # PROT_READ|WRITE, PRIVATE|ANONYMOUS
    "mmap64": lambda: maps.append(C.mmap64(None, 4096, 3, 0x22, -1, 0)),
    "munmap": lambda: C.munmap(maps.pop(), 4096),
    "writev": lambda: C.writev(null_fd, ctypes.byref(iov), 1),
    "pwrite": lambda: C.pwrite(tmp_fd, b"abc", 3, 0),
    "pwrite64": lambda: C.pwrite64(tmp_fd, b"abc", 3, 8),
    "fsync": lambda: C.fsync(tmp_fd),
    "fdatasync": lambda: C.fdatasync(tmp_fd),
    "poll": lambda: C.poll(None, 0, 0),
    "ppoll": lambda: C.ppoll(None, 0, ts, None),
}
result = {"baseline": sect(lambda: C.abs(-1))}
for name, fn in calls.items():
    result[name] = sect(fn)
C.munmap(maps.pop(), 4096)
os.close(tmp_fd); os.unlink(tmp_path)
lib = ctypes.CDLL(None)
lib.fmcore_rtcheck_func_name.restype = ctypes.c_char_p
lib.fmcore_rtcheck_func_category.restype = ctypes.c_char_p
result["categories"] = {lib.fmcore_rtcheck_func_name(i).decode(): lib.fmcore_rtcheck_func_category(i).decode()
                        for i in range(lib.fmcore_rtcheck_nfuncs())}
print(json.dumps(result))
"""

EXPECTED_CATEGORY = {
    "malloc": "alloc", "calloc": "alloc", "realloc": "alloc", "free": "alloc", "posix_memalign": "alloc",
    "aligned_alloc": "alloc", "memalign": "alloc", "valloc": "alloc",
    "pthread_mutex_lock": "lock", "pthread_mutex_trylock": "lock", "pthread_cond_wait": "lock",
    "pthread_cond_timedwait": "lock", "sem_wait": "lock", "sem_timedwait": "lock",
    "pthread_rwlock_rdlock": "lock", "pthread_rwlock_wrlock": "lock",
    "nanosleep": "sleep", "clock_nanosleep": "sleep", "usleep": "sleep", "sleep": "sleep", "sched_yield": "sleep",
    "read": "io", "write": "io", "open": "io", "openat": "io", "close": "io", "fopen": "io",
    "fwrite": "io", "fputs": "io", "fprintf": "io", "printf": "io", "puts": "io", "vprintf": "io", "vfprintf": "io",
    "syscall": "syscall",
    "mmap": "alloc", "mmap64": "alloc", "munmap": "alloc",
    "writev": "io", "pwrite": "io", "pwrite64": "io", "fsync": "io", "fdatasync": "io", "poll": "io", "ppoll": "io",
}


@pytest.fixture(scope="module")
def ctypes_reports():
    return _json_child(CTYPES_CHILD)


def test_function_table_categories(ctypes_reports):
    cats = ctypes_reports["categories"]
    for fn, cat in EXPECTED_CATEGORY.items():
        assert cats.get(fn) == cat, fn


@pytest.mark.parametrize("fn", [
    "malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc",
    "pthread_mutex_lock", "pthread_mutex_trylock", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
    "sem_wait", "sem_timedwait", "nanosleep", "clock_nanosleep", "usleep", "sleep", "sched_yield",
    "read", "write", "open", "openat", "close", "fopen", "fwrite", "fputs", "fprintf", "syscall",
    "mmap", "mmap64", "munmap", "writev", "pwrite", "pwrite64", "fsync", "fdatasync", "poll", "ppoll",
])
def test_each_interposed_function_is_counted(ctypes_reports, fn):
    got = ctypes_reports[fn].get(fn, 0)
    base = ctypes_reports["baseline"].get(fn, 0)
    assert got >= 1 and got > base, f"{fn}: {got} in its section, {base} in the baseline section"


def test_abort_mode_kills_with_sigabrt_and_names_the_function():
    code = """
    import numpy as np
    from fmcore_rt.rtcheck import _selftest as st
    junk = np.ones(1_000_000)            # outside a section: must not abort
    print("before", flush=True)
    p = st.MutexProcessor()
    p.prepare(48000.0, 64)
    p.process(np.zeros((1, 64), np.float32))
    print("not reached", flush=True)
    """
    proc = _run_child(code, abort=True)
    assert proc.returncode == -signal.SIGABRT, (proc.returncode, proc.stderr)
    assert "before" in proc.stdout and "not reached" not in proc.stdout
    assert "rtcheck: pthread_mutex_lock called in a real-time section" in proc.stderr
    assert "backtrace" in proc.stderr and "_selftest" in proc.stderr  # a frame of the culprit


def test_library_prints_totals_at_exit_when_asked():
    code = """
    import numpy as np
    from fmcore_rt.rtcheck import _selftest as st
    p = st.FileWriteProcessor(calls=2)
    p.prepare(48000.0, 64)
    for _ in range(3):
        p.process(np.zeros((1, 64), np.float32))
    """
    proc = _run_child(code, extra_env={"FMCORE_RTCHECK_REPORT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "6 violation(s)" in proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.split()[1:2] == ["write"])
    assert line.split()[-1] == "6"


def _cli(code, *opts):
    return subprocess.run([sys.executable, "-m", "fmcore_rt.rtcheck", *opts, "--", sys.executable, "-c",
                           textwrap.dedent(code)], capture_output=True, text=True, env=_env(), cwd=ROOT,
                          timeout=120)


def test_cli_reports_violations_and_fails():
    proc = _cli("""
    import numpy as np
    from fmcore_rt.rtcheck import _selftest as st
    p = st.MutexProcessor(calls=4)
    p.prepare(48000.0, 64)
    p.process(np.zeros((1, 64), np.float32))
    print("child done")
    """)
    assert proc.returncode == 1, proc.stderr
    assert "child done" in proc.stdout
    assert "4 violation(s)" in proc.stderr
    rows = {ln.split()[0]: int(ln.split()[1]) for ln in proc.stderr.splitlines()
            if ln.startswith("  ") and len(ln.split()) == 2}
    assert rows == {"lock": 4, "pthread_mutex_lock": 4}


def test_cli_clean_command_succeeds():
    proc = _cli("""
    import numpy as np
    from fmcore_rt import Gain
    p = Gain(0.25)
    p.prepare(48000.0, 64)
    for _ in range(20):
        p.process(np.ones((2, 64), np.float32))
    """)
    assert proc.returncode == 0, proc.stderr
    assert "no violations" in proc.stderr and "1 process checked" in proc.stderr


def test_cli_passes_on_the_commands_exit_status():
    proc = _cli("import sys; sys.exit(3)")
    assert proc.returncode == 3
    proc = _cli("import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    assert proc.returncode == 128 + signal.SIGTERM and "SIGTERM" in proc.stderr


def test_cli_abort_mode():
    proc = _cli("""
    import numpy as np
    from fmcore_rt.rtcheck import _selftest as st
    p = st.SleepProcessor("nanosleep")
    p.prepare(48000.0, 64)
    p.process(np.zeros((1, 64), np.float32))
    """, "--abort")
    assert proc.returncode == 128 + signal.SIGABRT
    assert "rtcheck: nanosleep called in a real-time section" in proc.stderr


def test_not_available_in_this_process():
    # pytest runs without the preload: everything degrades to an inactive, empty report.
    assert rtcheck.available() is False
    with rtcheck.watch() as r:
        junk = bytearray(1 << 20)
    assert r.active is False and r.by_function == {} and r.by_category == {} and r.sections == 0
    assert r.total == 0 and r.clean is True
    assert rtcheck.snapshot().active is False
    rtcheck.reset()  # a no-op, not an error
    with pytest.raises(RuntimeError):
        rtcheck.set_abort(True)


def test_preload_env_appends_to_ld_preload():
    env = rtcheck.preload_env({"LD_PRELOAD": "/opt/other.so", "X": "1"}, abort=True)
    assert env["LD_PRELOAD"] == f"/opt/other.so {rtcheck.library_path()}"
    assert env["FMCORE_RTCHECK_ABORT"] == "1" and env["X"] == "1"
    assert rtcheck.preload_env({})["LD_PRELOAD"] == rtcheck.library_path()
